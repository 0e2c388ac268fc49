"""Webhook subscriptions over HTTP: partners manage their own; admins see everyone's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from node.deps import AdminUser, SessionDep, SettingsDep
from node.partners.auth import PartnerPrincipal, require_scope
from node.webhooks import service
from node.webhooks.models import (
    WebhookDeliveryPublic,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionDetail,
    WebhookSubscriptionList,
    WebhookSubscriptionPublic,
)

router = APIRouter(prefix="/api/v1/partner/webhooks", tags=["webhooks"])
admin_router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

Manager = Annotated[PartnerPrincipal, require_scope("webhooks:manage")]


@router.post("", status_code=status.HTTP_201_CREATED)
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


@router.get("")
async def list_subscriptions(partner: Manager, session: SessionDep) -> WebhookSubscriptionList:
    subscriptions = await service.list_subscriptions(session, client_id=partner.client_id)
    return WebhookSubscriptionList(items=[service.public(s) for s in subscriptions])


@router.get("/{subscription_id}")
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


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    subscription_id: str, partner: Manager, session: SessionDep
) -> Response:
    await service.delete_subscription(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{subscription_id}/test", status_code=status.HTTP_202_ACCEPTED)
async def send_test(
    subscription_id: str, partner: Manager, session: SessionDep
) -> WebhookDeliveryPublic:
    """Queue a signed ``webhook.test`` message; its fate shows in the subscription's deliveries."""
    delivery = await service.send_test(
        session, client_id=partner.client_id, subscription_id=subscription_id
    )
    return service.delivery_public(delivery)


@router.post("/{subscription_id}/enable")
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
