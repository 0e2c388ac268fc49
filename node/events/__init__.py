"""Events: see router.py and service.py."""
