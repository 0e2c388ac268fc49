"""The coordinator web pages: server-rendered HTML (Jinja2), no front-end build step."""
