"""``python -m node.cli``: the ``ipo-node`` command."""

from node.cli import main

raise SystemExit(main())
