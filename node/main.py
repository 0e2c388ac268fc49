"""The application factory: ``create_app(settings)``.

Nothing happens at import time. The lifespan opens the database engine and loads the node's
keys; ``serve`` runs migrations before the app starts, so the app itself never changes the
schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from federation.inbox import router as inbox_router
from federation.runtime import MAX_INBOX_BYTES
from node import __version__
from node.accounts.passwords import configure_password_hashing
from node.accounts.router import router as accounts_router
from node.alliances.router import router as alliances_router
from node.audit.router import router as audit_router
from node.canvass.router import router as canvass_router
from node.canvass.router import signups as canvass_signups_router
from node.config import Settings
from node.db import create_session_maker, engine_for
from node.endorsements.router import router as endorsements_router
from node.errors import error_response, install_error_handlers, wants_html
from node.events.coalition_feed import router as coalition_feed_router
from node.events.router import feeds as feeds_router
from node.events.router import router as events_router
from node.federation_setup import start_federation
from node.forums.router import router as forums_router
from node.members.csv_io import too_large
from node.members.imports import ImportJobs
from node.members.router import router as members_router
from node.ops.headers import SecurityHeaders
from node.ops.limits import BodySizeLimit, RefuseNul, json_refusal
from node.ops.logging import RequestLog
from node.ops.router import router as ops_router
from node.partners.auth import partner_limiter
from node.partners.routes import PARTNER_ROUTERS
from node.profile.router import router as profile_router
from node.web import api_docs
from node.web.event_page import rsvp_limiter
from node.web.rendering import STATIC_DIR, error_page
from node.web.routes import PAGE_ROUTERS
from node.webhooks.router import admin_router as webhooks_admin_router
from node.webhooks.router import router as webhooks_router

IMPORT_PATHS = ("/api/v1/members/import", "/members/import")
# A multipart upload is the file plus its form: the import itself refuses a file over
# max_import_bytes, saying so; the body limit only has to leave room for the form around it.
MULTIPART_ALLOWANCE = 64 * 1024
INBOX_PATH = "/federation/inbox"


def _error_page(request: Request, status_code: int, message: str) -> Response:
    """An unknown page or a wrong method, for a browser: the layout's error page."""
    title = "Page not found" if status_code == 404 else "That did not work"
    return error_page(request, status_code=status_code, title=title, message=message)


class NodeApp(FastAPI):
    """FastAPI with the security headers outside everything, so that even the answer of the
    last-resort error handler (Starlette's outermost middleware) carries them."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(
    settings: Settings, *, federation_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The node's web app. ``federation_transport`` replaces the network for outbound
    federation requests (tests wire several in-process nodes together with it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = engine_for(settings)
        session_maker = create_session_maker(engine)
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_maker = session_maker
        app.state.member_imports = ImportJobs(session_maker)
        try:
            async with start_federation(
                settings,
                session_maker,
                run_worker=settings.embedded_worker,
                transport=federation_transport,
            ) as federation:
                app.state.federation = federation.runtime
                app.state.delivery_worker = federation.worker
                app.state.webhooks = federation.webhooks
                app.state.mail = federation.mail
                app.state.keyring = federation.runtime.keyring
                yield
        finally:
            await app.state.member_imports.close()
            await engine.dispose()

    configure_password_hashing(settings)
    app = NodeApp(
        title=f"ipo-node: {settings.name}",
        version=__version__,
        summary="A ward group's node: members, events and the coalition's shared work.",
        lifespan=lifespan,
        # Served by node.web.api_docs from a packaged bundle, under the node's CSP.
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app, html_page=_error_page)
    app.state.partner_limiter = partner_limiter(settings)
    app.state.rsvp_limiter = rsvp_limiter()

    def limit_for(path: str) -> int:
        if path == INBOX_PATH:
            return MAX_INBOX_BYTES
        if path.startswith(IMPORT_PATHS):
            return settings.max_import_bytes + MULTIPART_ALLOWANCE
        return settings.max_body_bytes

    def refuse_body(scope: Scope, limit: int) -> Response:
        if not scope["path"].startswith(IMPORT_PATHS):
            return json_refusal(scope, limit)
        refusal = too_large(max_bytes=settings.max_import_bytes)
        request = Request(scope)
        if wants_html(request):
            return _error_page(request, refusal.status_code, refusal.message)
        return error_response(refusal.status_code, refusal.code, refusal.message)

    app.add_middleware(BodySizeLimit, limit_for=limit_for, refusal=refuse_body)
    app.add_middleware(RefuseNul, html_page=_error_page)
    app.add_middleware(RequestLog)

    for router in (
        ops_router,
        accounts_router,
        audit_router,
        members_router,
        events_router,
        feeds_router,
        coalition_feed_router,
        endorsements_router,
        forums_router,
        canvass_router,
        canvass_signups_router,
        alliances_router,
        inbox_router,
        webhooks_router,
        webhooks_admin_router,
        profile_router,
        *PARTNER_ROUTERS,
        *PAGE_ROUTERS,
        api_docs.router,
    ):
        # The routers' own route objects, shared by every app of the process: including a
        # router makes FastAPI analyse each route again, per app, which the test suite (many
        # nodes per process) paid for in half its time. The routes reach their node through
        # the request (request.app.state), never through the route object.
        app.router.routes.extend(router.routes)
    app.mount(api_docs.ASSETS_URL, StaticFiles(directory=api_docs.ASSETS_DIR), name="api-docs")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
