"""The partners page: registering a partner client shows its secret once; revoking it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import Browser, expect
from sqlalchemy import select, update
from sqlmodel import col

from federation.storage import utcnow
from node.accounts.models import Role
from node.partners import service
from node.webhooks.models import WebhookSubscription
from tests.nodes import NodeFactory, TestNode
from tests.partners.helpers import partner_client
from tests.web.browser import fits_phone_width, logged_in_page, screenshot
from tests.web.page_client import page_client

Serve = Callable[[TestNode], Awaitable[str]]


class TestPartnerClients:
    async def test_register_see_the_secret_once_then_revoke(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.admin)
        await page.goto(f"{base}/partners")
        await expect(page.get_by_text("No partner clients yet")).to_be_visible()
        # When she registers a union's client
        await page.get_by_label("Organization name").fill("SEIU Local 73")
        await page.get_by_label("Contact email").fill("it@local73.example")
        await page.get_by_label("events:read").check()
        await page.get_by_label("endorsements:read").check()
        await page.get_by_role("button", name="Register partner").click()
        # Then the secret is shown, and it works
        secret = (await page.locator("#client-secret").inner_text()).strip()
        client_id = (await page.locator("section.secret code").first.inner_text()).strip()
        async with node.session() as session:
            assert await service.authenticate_client(session, client_id=client_id, secret=secret)
        row = page.locator("tr", has_text="SEIU Local 73")
        await expect(row).to_contain_text("endorsements:read, events:read")
        await expect(row).to_contain_text("Active")
        await screenshot(page, "partners")
        # and never again
        await page.goto(f"{base}/partners")
        await expect(page.locator("#client-secret")).to_have_count(0)
        assert secret not in await page.content()
        # When she revokes it, its credentials stop working
        await page.get_by_text("Revoke…").click()
        await page.get_by_role("button", name="Yes, revoke SEIU Local 73").click()
        await expect(page.get_by_role("status")).to_contain_text("SEIU Local 73 revoked")
        await expect(row).to_contain_text("Revoked")
        async with node.session() as session:
            assert not await service.authenticate_client(
                session, client_id=client_id, secret=secret
            )

    async def test_missing_scopes_are_explained_and_nothing_is_registered(
        self, node: TestNode, serve: Serve, browser: Browser
    ) -> None:
        base = await serve(node)
        page = await logged_in_page(browser, base, node, role=Role.admin, phone=True)
        await page.goto(f"{base}/partners")
        await page.get_by_label("Organization name").fill("UWF")
        await page.get_by_label("Contact email").fill("data@uwf.example")
        await page.get_by_role("button", name="Register partner").click()
        await expect(page.get_by_text("Choose at least one.")).to_be_visible()
        await expect(page.get_by_label("Organization name")).to_have_value("UWF")
        assert await fits_phone_width(page)
        await screenshot(page, "partners-phone")
        async with node.session() as session:
            assert await service.list_clients(session) == []

    async def test_an_organizer_may_not_see_partners(self, node: TestNode) -> None:
        _, token = await node.add_user(role=Role.organizer)
        response = await node.client_with(token).get("/partners")
        assert response.status_code == 403
        assert "This page is for admins" in response.text


class TestWebhookSubscriptionsOnThePartnersPage:
    async def test_an_admin_sees_each_subscription_and_why_one_was_disabled(
        self, nodes: NodeFactory
    ) -> None:
        # Given a union that subscribed twice through the partner API (local development node)
        node = await nodes.start("ward33", allow_private_peers=True)
        union = await partner_client(node, ["events:read", "webhooks:manage"])
        for url in ("http://127.0.0.1:9/hooks", "http://127.0.0.1:9/broken"):
            made = await union.post(
                "/api/v1/partner/webhooks", json={"url": url, "event_types": ["event.created"]}
            )
            assert made.status_code == 201, made.text
        # and the worker gave up on one of them
        async with node.session() as session:
            await session.execute(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.url) == "http://127.0.0.1:9/broken")
                .values(disabled_at=utcnow(), disabled_reason="10 deliveries in a row failed")
            )
        # When an admin opens the partners page
        admin = await page_client(node, role=Role.admin)
        page = await admin.get("/partners")
        # Then both are listed with the partner's name, and the disabled one says why
        assert page.status_code == 200
        assert page.text.count("SEIU Local 73") >= 2
        assert "http://127.0.0.1:9/hooks" in page.text
        assert "Disabled</span> 10 deliveries in a row failed" in page.text
        # and no subscription's signing secret is ever on the page
        async with node.session() as session:
            secrets = (await session.execute(select(col(WebhookSubscription.secret)))).scalars()
            assert not any(secret in page.text for secret in secrets)
