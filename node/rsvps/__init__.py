"""RSVPs to this node's events: personal data that stays on this node."""
