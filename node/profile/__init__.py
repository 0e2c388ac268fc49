"""The group's public profile: the "about" text and contact address on its public home."""
