"""The ipo-node federation protocol, v1.

This package never imports ``node``: the application registers handlers for the activity
types it understands, and federation calls them after it has verified who sent what.
"""
