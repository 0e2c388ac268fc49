"""Members: see router.py and service.py."""
