"""Tables and API shapes of the members domain."""
