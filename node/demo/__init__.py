"""``ipo-node demo``: the northwest-side coalition of the seed story, six nodes on one machine.

``runner`` starts and stops the nodes and prints; ``processes`` runs ``ipo-node init`` and
``serve`` for each; ``coalition`` says who is in it; ``flows`` tells the story through the
nodes' APIs, one module per flow (``events``, ``endorsement``, ``forum``, ``canvass``).
"""

from node.demo.processes import DemoError
from node.demo.runner import run_demo

__all__ = ["DemoError", "run_demo"]
