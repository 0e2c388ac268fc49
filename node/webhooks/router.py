"""Webhook subscriptions over HTTP: partners manage their own; admins see everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from node.deps import AdminUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES
from node.partners import docs
from node.partners.auth import PartnerPrincipal, require_scope
from node.partners.examples import WEBHOOK_EXAMPLES
from node.webhooks import service
from node.webhooks.models import (
    WebhookDeliveryPublic,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionDetail,
    WebhookSubscriptionList,
    WebhookSubscriptionPublic,
)

_SUB = WEBHOOK_EXAMPLES["subscription"]["id"]
_NO_SCOPE = docs.error_body(
    "insufficient_scope", "This needs the webhooks:manage scope, which this token does not hold."
)
_FORBIDDEN = docs.errors(
    403, "The token lacks `webhooks:manage`.", {"no_manage": ("No webhooks:manage", _NO_SCOPE)}
)
_NOT_FOUND = docs.errors(
    404,
    "No such subscription of this client: unknown, or another client's (ids do not leak).",
    {
        "unknown": (
            "Unknown or another client's",
            docs.error_body(
                "webhook_subscription_not_found", f"This client has no webhook subscription {_SUB}."
            ),
        )
    },
)
_URL = ["body", "url"]
_TYPES: list[str | int] = ["body", "event_types", 0]
_CREATE_ERRORS = {
    **docs.errors(
        403,
        "The token lacks `webhooks:manage`, or the client lacks the read scope of an event type.",
        {
            "no_manage": ("No webhooks:manage", _NO_SCOPE),
            "event_type_scope": (
                "An event type this client may not read",
                docs.error_body(
                    "insufficient_scope",
                    "Subscribing to forum.updated needs the forums:read scope, which this client "
                    "does not hold; ask the node's admin to grant it, or leave that event type "
                    "out.",
                ),
            ),
        },
    ),
    **docs.errors(
        422,
        "The URL is not one this node posts to, or the body is not valid; `details` says where.",
        {
            "plain_http": (
                "http:// outside local development",
                docs.error_body(
                    "invalid_input",
                    "The webhook URL must be an https:// URL (plain http only on a node in local "
                    "development).",
                    _URL,
                ),
            ),
            "private_address": (
                "A private or loopback address",
                docs.error_body(
                    "invalid_input", "The webhook URL points at a private address.", _URL
                ),
            ),
            "unknown_event_type": (
                "An unknown event type",
                docs.error_body(
                    "validation_failed",
                    "event_types[0]: Choose one of: endorsement.ratified, "
                    "endorsement.withdrawn, event.created, event.updated, event.cancelled, "
                    "forum.updated, canvass_call.posted or canvass_shift.filled.",
                    _TYPES,
                ),
            ),
        },
    ),
    **docs.errors(
        413,
        "The request body is too large.",
        {
            "too_large": (
                "Too large",
                docs.error_body(
                    "payload_too_large", "The request body is over the 1048576-byte limit."
                ),
            )
        },
    ),
}
_DISABLED = docs.errors(
    409,
    "The subscription is disabled: enable it first (`POST .../enable`).",
    {
        "disabled": (
            "Disabled after failures",
            docs.error_body(
                "webhook_subscription_disabled",
                f"Webhook subscription {_SUB} is disabled (The endpoint answered 410 Gone "
                "(from https://data.local73.org/hooks/ipo): it asked not to be sent more.); "
                "enable it first.",
            ),
        )
    },
)

router = APIRouter(
    prefix="/api/v1/partner/webhooks",
    tags=["webhooks"],
    responses={**ERROR_RESPONSES, **docs.AUTH_ERRORS, **_FORBIDDEN},
)
admin_router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)

Manager = Annotated[PartnerPrincipal, require_scope("webhooks:manage")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        **docs.answer(
            201, WEBHOOK_EXAMPLES["created"], "Subscribed; `secret` is shown this once only."
        ),
        **_CREATE_ERRORS,
    },
)
async def create_subscription(
    data: WebhookSubscriptionCreate, partner: Manager, session: SessionDep, settings: SettingsDep
) -> WebhookSubscriptionCreated:
    """Subscribe an endpoint. The answer holds the signing secret: the only time it is shown."""
    subscription = await service.create_subscription(
        session,
        client_id=partner.client_id,
        scopes=partner.scopes,
        data=data,
        settings=settings,
    )
    return WebhookSubscriptionCreated(
        **service.public(subscription).model_dump(), secret=subscription.secret
    )


@router.get(
    "", responses=docs.answer(200, WEBHOOK_EXAMPLES["list"], "This client's subscriptions.")
)
async def list_subscriptions(partner: Manager, session: SessionDep) -> WebhookSubscriptionList:
    """This client's subscriptions, oldest first, each saying whether the node still sends to
    it (never their secrets: those were shown once, at creation)."""
    subscriptions = await service.list_subscriptions(session, client_id=partner.client_id)
    return WebhookSubscriptionList(items=[service.public(s) for s in subscriptions])


@router.get(
    "/{subscription_id}",
    responses={
        **docs.answer(200, WEBHOOK_EXAMPLES["detail"], "The subscription and its latest messages."),
        **_NOT_FOUND,
    },
)
async def get_subscription(
    subscription_id: str, partner: Manager, session: SessionDep
) -> WebhookSubscriptionDetail:
    """The subscription, why it is disabled if it is, and its latest messages."""
    subscription = await service.get_subscription(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    deliveries = await service.recent_deliveries(session, subscription=subscription)
    return WebhookSubscriptionDetail(
        **service.public(subscription).model_dump(),
        recent_deliveries=[service.delivery_public(d) for d in deliveries],
    )


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={204: {"description": "Deleted, with its queued messages. No body."}, **_NOT_FOUND},
)
async def delete_subscription(
    subscription_id: str, partner: Manager, session: SessionDep
) -> Response:
    """Stop for good: the subscription and every message still queued for it are deleted.

    Also the way to change the secret (delete, then subscribe again) if it may have leaked.
    """
    await service.delete_subscription(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **docs.answer(202, WEBHOOK_EXAMPLES["test_delivery"], "Queued; the message's state."),
        **_NOT_FOUND,
        **_DISABLED,
    },
)
async def send_test(
    subscription_id: str, partner: Manager, session: SessionDep
) -> WebhookDeliveryPublic:
    """Queue a signed ``webhook.test`` message; its fate shows in the subscription's deliveries."""
    delivery = await service.send_test(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    return service.delivery_public(delivery)


@router.post(
    "/{subscription_id}/enable",
    responses={
        **docs.answer(200, WEBHOOK_EXAMPLES["subscription"], "Enabled again."),
        **_NOT_FOUND,
    },
)
async def enable_subscription(
    subscription_id: str, partner: Manager, session: SessionDep
) -> WebhookSubscriptionPublic:
    """Send again after a disable; the messages still queued go out at once."""
    subscription = await service.enable_subscription(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    return service.public(subscription)


@admin_router.get("")
async def list_all_subscriptions(_: AdminUser, session: SessionDep) -> WebhookSubscriptionList:
    """Every partner's subscriptions on this node, for the admin (secrets never shown)."""
    subscriptions = await service.list_subscriptions(session, client_id=None)
    return WebhookSubscriptionList(items=[service.public(s) for s in subscriptions])
