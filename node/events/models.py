"""Tables and API shapes of the events domain."""
