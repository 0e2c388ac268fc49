"""Every route of the partner API: the token endpoint, the admins' client registry, the
partner's own reads and the docs page built from them."""

from __future__ import annotations

from fastapi import APIRouter

from node.partners import docs, oauth, resources, resources_coalition, router

PARTNER_ROUTERS: tuple[APIRouter, ...] = (
    oauth.router,
    router.router,
    router.partner_router,
    resources.router,
    resources_coalition.router,
    docs.docs,
)
