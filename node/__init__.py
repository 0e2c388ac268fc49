"""One organization's application: accounts, members, events, joint work, pages, API, CLI."""

__version__ = "0.1.0"
