"""Cross-ward canvass calls: hosting a call, relaying allies' calls, volunteers' sign-ups."""
