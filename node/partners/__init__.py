"""Partner clients: organizations (a union local, a coalition) reading the partner API.

Partner clients are not users. They hold OAuth2 client credentials with scopes, exchange them
at ``POST /oauth/token`` for short-lived signed access tokens, and call ``/api/v1/partner/...``.
"""
