"""Alliances with other nodes, as this node's admins see and steer them."""
