"""The API's docs pages, Swagger UI (``/docs``) and ReDoc (``/redoc``), served by the node itself.

Both bundles come from the ``fastapi-offline`` package and are served under
``/static/api-docs/``: no CDN, so the pages work on a node without outside access and the
Content-Security-Policy can stay ``script-src 'self'``. The pages carry no inline script
(Swagger UI starts from ``/static/swagger-init.js``, which reads the document's URL from a
``data-`` attribute; ReDoc starts itself on its ``<redoc>`` element). Both bundles write
inline styles and ReDoc searches in a ``blob:`` worker, so these pages, and only these, send a
policy allowing those two (see ``node.ops.headers``).
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from node.ops.headers import CSP, content_security_policy

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/static/api-docs"
DOCS_POLICY = content_security_policy(style_src="'self' 'unsafe-inline'", worker_src="'self' blob:")

router = APIRouter(include_in_schema=False)


def _page(title: str, body: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(title)}</title>
  <link rel="icon" href="{ASSETS_URL}/favicon.png">
  <link rel="stylesheet" href="/static/api-docs.css">
{body}
</html>
"""
    return HTMLResponse(html, headers={CSP: DOCS_POLICY})


def swagger_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI for the OpenAPI document at ``openapi_url``."""
    return _page(
        title,
        f"""  <link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>
  <script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>""",
    )


def redoc_page(*, openapi_url: str, title: str) -> HTMLResponse:
    """ReDoc for the OpenAPI document at ``openapi_url``."""
    return _page(
        title,
        f"""</head>
<body>
  <redoc spec-url="{escape(openapi_url)}"></redoc>
  <script src="{ASSETS_URL}/redoc.standalone.js"></script>
</body>""",
    )


@router.get("/docs")
async def swagger_docs(request: Request) -> HTMLResponse:
    return swagger_page(openapi_url="/openapi.json", title=f"{request.app.title}: API")


@router.get("/redoc")
async def redoc_docs(request: Request) -> HTMLResponse:
    return redoc_page(openapi_url="/openapi.json", title=f"{request.app.title}: API")
