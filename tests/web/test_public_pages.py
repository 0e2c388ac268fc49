"""The public face: the home at ``/``, a public forum's page, the profile admins edit, and
endorsements an organizer shows publicly. An anonymous visitor sees only what is public."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from html import unescape
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from node.accounts.models import Role
from tests.endorsements import ENDORSEMENTS
from tests.nodes import NodeFactory, TestNode, deliver_all
from tests.web.browser import fits_phone_width, logged_in_page, new_page, screenshot
from tests.web.page_client import anonymous, page_client
from tests.web.public_world import (
    ALLY_FORUM,
    COALITION_FORUM,
    MARKER,
    PUBLIC_FORUM,
    public_face_world,
)
from tests.web.test_accessibility import problems_on

World = tuple[list[TestNode], dict[str, Any]]
Serve = Callable[[TestNode], Awaitable[str]]


@pytest.fixture
async def world(nodes: NodeFactory) -> World:
    return await nodes.world_with(public_face_world)


def meta(html: str, key: str) -> str | None:
    """The content of ``<meta property|name="key">``."""
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return unescape(found.group(1)) if found else None


def text_of(html: str) -> str:
    """What a reader sees: the page without its tags, spaces collapsed."""
    inline = re.sub(r"</?(?:a|span|strong|em)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


class TestTheHomeShowsOnlyWhatIsPublic:
    async def test_public_events_of_the_group_and_its_allies_and_nothing_else(
        self, world: World
    ) -> None:
        (ward33, ward30, _), ids = world
        # Given ward33 holds events of every kind, its allies' and a former ally's included
        organizer = await ward33.as_role(Role.organizer)
        held = {e["title"]: e for e in (await organizer.get("/api/v1/events")).json()["items"]}
        assert held["ward35 public event"]["origin_relation"] == "former_ally"
        assert {"ward30 coalition event", "ward33 private event"} <= held.keys()
        # Then a visitor sees only the public ones of the group and its current allies
        home = await anonymous(ward33).get("/")
        assert home.status_code == 200
        page = text_of(home.text)
        assert "ward33 public event" in page
        assert f'href="/events/{ids["ward33"]["public"]}"' in home.text
        # an ally's public event: named as theirs, linking to its page and home on their node
        assert "ward30 public event" in page
        assert f'href="{ward30.url}/events/{ids["ward30"]["public"]}"' in home.text
        assert "Hosted by our ally Test ward30" in page
        assert f'href="{ward30.url}/"' in home.text
        for hidden in (
            "ward33 coalition event", "ward33 private event", "ward30 coalition event",
            "ward30 private event", "ward35 public event",  # a former ally's
            "ward35 coalition event", "ward33 past public event", COALITION_FORUM,
        ):  # fmt: skip
            assert hidden not in page, hidden

    async def test_its_public_forums_once_each_and_linking_to_their_pages(
        self, world: World
    ) -> None:
        (ward33, _, _), ids = world
        home = await anonymous(ward33).get("/")
        page = text_of(home.text)
        forums = ids["forums"]
        assert f'href="/forums/{forums["public"]}"' in home.text
        assert f'href="/forums/{forums["ally"]}"' in home.text  # co-hosted, an ally's
        # listed as forums, not a second time among the events
        assert page.count(PUBLIC_FORUM) == 1
        assert page.count(ALLY_FORUM) == 1
        assert "Thu, Jan 31, 2030, 6:00 pm CST" in page  # Chicago time, as the forum's zone is
        assert "Thu, Jan 31, 2030, 7:00 pm EST" in page  # New York time, the ally's forum's

    async def test_ratified_endorsements_it_chose_to_show(self, world: World) -> None:
        (ward33, _, _), _ = world
        page = text_of((await anonymous(ward33).get("/")).text)
        assert "Ada Organizer" in page
        assert "We endorse Ada Organizer for mayor" in page
        assert "Mayor, citywide: primary election on Tue, Feb 25, 2031" in page
        assert "Signed jointly by Test ward33, Test ward30" in page
        assert "Bea Quiet" not in page  # ratified, not shown
        assert "Cy Pending" not in page  # still collecting

    async def test_name_wards_profile_feed_links_and_a_log_in_link(self, world: World) -> None:
        (ward33, _, _), _ = world
        home = await anonymous(ward33).get("/")
        page = text_of(home.text)
        assert re.search(r'<h1 id="home-h">Test ward33</h1>', home.text)
        assert "Ward 33, Chicago" in page
        assert 'href="webcal://ward33.test/calendar.ics"' in home.text
        assert 'href="http://ward33.test/calendar.ics"' in home.text
        assert '<a href="/login">Log in</a>' in home.text
        assert "Log out" not in page
        assert "/calendar" not in home.text.replace("/calendar.ics", "")

    async def test_open_graph_and_twitter_card_tags(self, world: World) -> None:
        (ward33, _, _), _ = world
        home = (await anonymous(ward33).get("/")).text
        assert meta(home, "og:title") == "Test ward33"
        assert meta(home, "og:url") == "http://ward33.test/"
        assert meta(home, "og:type") == "website"
        assert meta(home, "og:site_name") == "Test ward33"
        assert meta(home, "og:description") == "Test ward33: Ward 33"
        assert meta(home, "twitter:card") == "summary"
        assert meta(home, "twitter:title") == "Test ward33"

    async def test_a_logged_in_member_gets_the_way_to_the_coordinator_pages(
        self, world: World
    ) -> None:
        (ward33, _, _), _ = world
        member = await page_client(ward33, role=Role.member)
        home = await member.get("/")
        assert home.status_code == 200
        assert 'href="/calendar"' in home.text
        assert "Go to the coordinator pages" in home.text
        # logged in or not, the home is the public one
        assert "ward33 coalition event" not in home.text

    async def test_no_personal_data_and_no_internal_work(self, world: World) -> None:
        (ward33, _, _), ids = world
        organizer = await page_client(ward33, role=Role.organizer)
        assert f"Given{MARKER}0" in (await organizer.get("/members")).text  # planted
        visitor = anonymous(ward33)
        pages = [await visitor.get("/"), await visitor.get(f"/forums/{ids['forums']['public']}")]
        pages.append(await visitor.get(f"/forums/{ids['forums']['ally']}"))
        for answer in pages:
            assert answer.status_code == 200
            lowered = answer.text.lower()
            assert MARKER.lower() not in lowered  # members, users, the co-host's question
            assert "0142" not in answer.text  # the members' phone, however written
            assert "60618" not in answer.text
            assert "Book the room" not in answer.text  # tasks
            assert "moderator" not in lowered  # roles and who holds them
            assert "@ward33.example" not in answer.text  # the admins' and organizers' logins


class TestThePublicForumPage:
    async def test_an_anonymous_visitor_reads_a_public_forum(self, world: World) -> None:
        (ward33, _, _), ids = world
        answer = await anonymous(ward33).get(f"/forums/{ids['forums']['public']}")
        assert answer.status_code == 200
        page = text_of(answer.text)
        assert f"{PUBLIC_FORUM}</h1>" in answer.text
        assert "Thu, Jan 31, 2030, 6:00\u20138:00 pm CST" in page
        assert "Hairpin Arts Center, 2810 N Milwaukee Ave, Chicago, IL" in page
        assert (
            'href="https://www.openstreetmap.org/search?query=2810+N+Milwaukee+Ave%2C+Chicago%2C+IL"'
            in answer.text
        )
        assert "Hosted by Test ward33, with Test ward30" in page
        assert "Five ward groups ask the candidates about housing." in page
        assert "Doors open at 5:30." in page
        assert "A. Candidate · Mayor · invited" in page
        assert "Questions from the floor · 60 min" in page
        assert "Step-free entrance on Milwaukee" in page

    async def test_times_are_in_the_forums_own_zone(self, world: World) -> None:
        (ward33, _, _), ids = world
        answer = await anonymous(ward33).get(f"/forums/{ids['forums']['ally']}")
        page = text_of(answer.text)
        assert "Thu, Jan 31, 2030, 7:00\u20139:00 pm EST" in page
        assert "Hosted by Test ward30, with Test ward33" in page

    async def test_it_links_to_the_event_page_to_say_you_are_coming(self, world: World) -> None:
        (ward33, ward30, _), ids = world
        organizer = await ward33.as_role(Role.organizer)
        plan = (await organizer.get(f"/api/v1/forums/{ids['forums']['public']}")).json()
        ours = (await anonymous(ward33).get(f"/forums/{ids['forums']['public']}")).text
        assert f'href="/events/{plan["event_id"]}"' in ours
        # a co-hosted forum: its event page is on the organizing node
        theirs = (await anonymous(ward33).get(f"/forums/{ids['forums']['ally']}")).text
        assert re.search(rf'href="{re.escape(ward30.url)}/events/[0-9a-f-]+">Say you', theirs)

    async def test_open_graph_tags_point_at_the_organizers_page(self, world: World) -> None:
        (ward33, ward30, _), ids = world
        ours = (await anonymous(ward33).get(f"/forums/{ids['forums']['public']}")).text
        assert meta(ours, "og:title") == PUBLIC_FORUM
        assert meta(ours, "og:url") == f"{ward33.url}/forums/{ids['forums']['public']}"
        description = meta(ours, "og:description") or ""
        assert description.startswith("Thu, Jan 31, 2030, 6:00\u20138:00 pm CST")
        assert "Hairpin Arts Center" in description
        assert meta(ours, "twitter:card") == "summary"
        theirs = (await anonymous(ward33).get(f"/forums/{ids['forums']['ally']}")).text
        assert (meta(theirs, "og:url") or "").startswith(f"{ward30.url}/forums/")

    async def test_coalition_and_missing_forums_send_a_visitor_to_log_in_alike(
        self, world: World
    ) -> None:
        (ward33, _, _), ids = world
        visitor = anonymous(ward33)
        hidden = await visitor.get(f"/forums/{ids['forums']['coalition']}")
        missing = await visitor.get("/forums/00000000-0000-0000-0000-000000000000")
        for answer, forum_id in (
            (hidden, ids["forums"]["coalition"]),
            (missing, "00000000-0000-0000-0000-000000000000"),
        ):
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next=%2Fforums%2F{forum_id}"
        assert COALITION_FORUM not in hidden.text

    async def test_a_logged_in_member_still_gets_the_working_page(self, world: World) -> None:
        (ward33, _, _), ids = world
        member = await page_client(ward33, role=Role.member)
        answer = await member.get(f"/forums/{ids['forums']['public']}")
        assert answer.status_code == 200
        assert "<h2>Tasks</h2>" in answer.text
        assert "Book the room" in answer.text
        assert "Say you are coming" not in answer.text


class TestTheProfileSettings:
    async def test_an_admin_edits_the_about_text_and_address_and_the_home_shows_them(
        self, world: World
    ) -> None:
        (ward33, _, _), _ = world
        admin = await page_client(ward33, role=Role.admin)
        form = await admin.get("/settings/profile")
        assert form.status_code == 200
        assert 'href="/settings/profile" aria-current="page">Public profile' in form.text
        about = "We knock doors in the 33rd.\n\nMeetings are open to every neighbour."
        saved = await admin.post(
            "/settings/profile", {"about": about, "contact_email": " Info@Ward33.org "}
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/settings/profile"
        shown = await admin.get("/settings/profile")
        assert "Saved. The public home shows it now." in shown.text
        assert "Meetings are open to every neighbour." in shown.text
        home = (await anonymous(ward33).get("/")).text
        assert '<p class="about">We knock doors in the 33rd.</p>' in home
        assert '<p class="about">Meetings are open to every neighbour.</p>' in home
        assert 'href="mailto:info@ward33.org"' in home
        assert meta(home, "og:description") == "We knock doors in the 33rd."

    async def test_a_bad_address_is_refused_in_plain_words_and_the_form_keeps_the_text(
        self, world: World
    ) -> None:
        (ward33, _, _), _ = world
        admin = await page_client(ward33, role=Role.admin)
        refused = await admin.post(
            "/settings/profile", {"about": "Our group.", "contact_email": "info at ward33"}
        )
        assert refused.status_code == 422
        assert (
            "The contact email must be one address like info@ward33.org (or leave it empty)."
            in refused.text
        )
        assert "Value error" not in refused.text
        assert 'id="e-contact_email"' in refused.text
        assert 'value="info at ward33"' in refused.text
        assert ">Our group.</textarea>" in refused.text
        assert "Our group." not in (await anonymous(ward33).get("/")).text

    async def test_an_over_long_about_text_says_how_long_it_may_be(self, world: World) -> None:
        (ward33, _, _), _ = world
        admin = await page_client(ward33, role=Role.admin)
        refused = await admin.post("/settings/profile", {"about": "x" * 5001})
        assert refused.status_code == 422
        assert "The about text is 5,001 characters; keep it to 5,000 or fewer." in refused.text

    async def test_only_admins_and_with_the_csrf_token(self, world: World) -> None:
        (ward33, _, _), _ = world
        organizer = await page_client(ward33, role=Role.organizer)
        assert (await organizer.get("/settings/profile")).status_code == 403
        assert "Public profile" not in (await organizer.get("/forums")).text
        refused = await organizer.post("/settings/profile", {"about": "Hijacked"})
        assert refused.status_code == 403
        admin = await page_client(ward33, role=Role.admin)
        no_token = await admin.post("/settings/profile", {"about": "Hijacked"}, csrf=False)
        assert no_token.status_code == 403
        visitor = await anonymous(ward33).get("/settings/profile")
        assert visitor.status_code == 303
        assert visitor.headers["location"].startswith("/login")
        assert "Hijacked" not in (await anonymous(ward33).get("/")).text


class TestShowingAnEndorsementPublicly:
    async def test_an_organizer_shows_one_from_its_page_and_takes_it_off(
        self, world: World
    ) -> None:
        (ward33, _, _), ids = world
        endorsement_id = ids["endorsements"]["not_shown"]
        organizer = await page_client(ward33, role=Role.organizer)
        page = await organizer.get(f"/endorsements/{endorsement_id}")
        assert "Show it on the public home" in page.text
        shown = await organizer.post(
            f"/endorsements/{endorsement_id}/public", {"is_public": "true"}
        )
        assert shown.status_code == 303
        after = await organizer.get(f"/endorsements/{endorsement_id}")
        assert "It is on the public home now." in after.text
        assert "Take it off the public home" in after.text
        assert "Bea Quiet" in (await anonymous(ward33).get("/")).text
        await organizer.post(f"/endorsements/{endorsement_id}/public", {"is_public": "false"})
        assert "Bea Quiet" not in (await anonymous(ward33).get("/")).text

    async def test_a_member_sees_no_control_and_cannot_post_it(self, world: World) -> None:
        (ward33, _, _), ids = world
        endorsement_id = ids["endorsements"]["not_shown"]
        member = await page_client(ward33, role=Role.member)
        assert (
            "Show it on the public home"
            not in (await member.get(f"/endorsements/{endorsement_id}")).text
        )
        refused = await member.post(f"/endorsements/{endorsement_id}/public", {"is_public": "true"})
        assert refused.status_code == 403
        assert "Bea Quiet" not in (await anonymous(ward33).get("/")).text

    async def test_one_still_collecting_cannot_be_shown(self, world: World) -> None:
        (ward33, _, _), ids = world
        endorsement_id = ids["endorsements"]["collecting"]
        organizer = await page_client(ward33, role=Role.organizer)
        assert (
            "Show it on the public home"
            not in (await organizer.get(f"/endorsements/{endorsement_id}")).text
        )
        refused = await organizer.post(
            f"/endorsements/{endorsement_id}/public", {"is_public": "true"}
        )
        assert refused.status_code == 409
        assert "Only a ratified endorsement" in refused.text
        api = await ward33.as_role(Role.organizer)
        answer = await api.put(f"{ENDORSEMENTS}/{endorsement_id}/public", json={"is_public": True})
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "endorsement_not_publishable"

    async def test_an_edit_of_the_text_takes_it_off_the_home(self, world: World) -> None:
        (ward33, ward30, _), ids = world
        endorsement_id = ids["endorsements"]["shown"]
        api = await ward33.as_role(Role.organizer)
        assert (await api.get(f"{ENDORSEMENTS}/{endorsement_id}")).json()["is_public"] is True
        edited = await api.patch(
            f"{ENDORSEMENTS}/{endorsement_id}", json={"statement": "A new text nobody signed."}
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["is_public"] is False
        home = (await anonymous(ward33).get("/")).text
        assert "Ada Organizer" not in home
        assert "A new text nobody signed." not in home
        # and it may not go back up until it is ratified again
        again = await api.put(f"{ENDORSEMENTS}/{endorsement_id}/public", json={"is_public": True})
        assert again.status_code == 409
        await deliver_all(ward33, ward30)

    async def test_a_co_signer_decides_for_its_own_home_and_nothing_travels(
        self, world: World
    ) -> None:
        (ward33, ward30, _), ids = world
        object_id = ids["endorsements"]["shown_object_id"]
        admin30 = await ward30.as_role(Role.admin)
        items = (await admin30.get(ENDORSEMENTS)).json()["items"]
        [held] = [item for item in items if item["object_id"] == object_id]
        assert held["is_public"] is False  # ward33 showing it did not make it public here
        organizer30 = await ward30.as_role(Role.organizer)
        answer = await organizer30.put(
            f"{ENDORSEMENTS}/{held['id']}/public", json={"is_public": True}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["is_public"] is True
        assert "Ada Organizer" in (await anonymous(ward30).get("/")).text
        assert await deliver_all(ward33, ward30) == 0  # a local choice: nothing was sent

    async def test_a_member_cannot_use_the_api_for_it(self, world: World) -> None:
        (ward33, _, _), ids = world
        member = await ward33.as_role(Role.member)
        answer = await member.put(
            f"{ENDORSEMENTS}/{ids['endorsements']['not_shown']}/public", json={"is_public": True}
        )
        assert answer.status_code == 403


class TestANeighbourInTheBrowser:
    """A neighbour finds a forum on the home and opens it; an admin writes the profile. On a
    phone and on a desktop, every page screenshot and checked for accessibility."""

    @pytest.mark.parametrize("phone", [True, False], ids=["375px", "1280px"])
    async def test_a_neighbour_finds_a_forum_on_the_home_and_opens_its_page(
        self, world: World, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        (ward33, _, _), ids = world
        base = await serve(ward33)
        size = "phone" if phone else "desktop"
        page = await new_page(browser, phone=phone)
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))

        # Given a neighbour opens the group's address
        await page.goto(f"{base}/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Test ward33")
        await expect(page.get_by_role("link", name="Log in")).to_be_visible()
        await expect(page.get_by_text("ward33 coalition event")).to_have_count(0)
        await expect(
            page.get_by_role("link", name="subscribe in your calendar app")
        ).to_have_attribute("href", "webcal://ward33.test/calendar.ics")
        assert await problems_on(page) == []
        assert not phone or await fits_phone_width(page)
        await screenshot(page, f"public-home-{size}")

        # When she opens the forum listed there
        await page.get_by_role("link", name=PUBLIC_FORUM).click()

        # Then its public page says when, where and who, and how to say she is coming
        await expect(page).to_have_url(f"{base}/forums/{ids['forums']['public']}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(PUBLIC_FORUM)
        main = page.locator("main")
        await expect(main).to_contain_text("Thu, Jan 31, 2030, 6:00\u20138:00 pm CST")
        await expect(page.get_by_role("link", name="map on OpenStreetMap")).to_have_attribute(
            "href", re.compile(r"^https://www\.openstreetmap\.org/search\?query=")
        )
        hosts = page.locator("dd").filter(has=page.get_by_role("link", name="Test ward33"))
        await expect(hosts).to_have_text("Test ward33, with Test ward30")
        await expect(page.get_by_role("link", name="Say you are coming")).to_have_attribute(
            "href", re.compile(r"^/events/")
        )
        await expect(main).not_to_contain_text("Book the room")
        assert await problems_on(page) == []
        assert not phone or await fits_phone_width(page)
        await screenshot(page, f"public-forum-{size}")
        # and neither page loaded anything from another site
        assert fetched
        assert [url for url in fetched if not url.startswith(f"{base}/")] == []

    @pytest.mark.parametrize("phone", [True, False], ids=["375px", "1280px"])
    async def test_an_admin_writes_the_profile_and_the_home_shows_it(
        self, world: World, serve: Serve, browser: Browser, phone: bool
    ) -> None:
        (ward33, _, _), ids = world
        base = await serve(ward33)
        size = "phone" if phone else "desktop"
        admin = await logged_in_page(browser, base, ward33, role=Role.admin, phone=phone)
        await admin.get_by_role("link", name="Public profile").click()
        await expect(admin.get_by_role("heading", level=1)).to_have_text("Public profile")
        assert await problems_on(admin) == []
        await admin.get_by_label("About the group").fill(
            "We are neighbours in the 33rd ward.\n\nWe meet every second Tuesday."
        )
        await admin.get_by_label("Contact email").fill("info@ward33.org")
        await admin.get_by_role("button", name="Save the profile").click()
        await expect(admin.get_by_role("status")).to_have_text(
            "Saved. The public home shows it now."
        )
        assert not phone or await fits_phone_width(admin)
        await screenshot(admin, f"public-profile-{size}")

        visitor = await new_page(browser, phone=phone)
        await visitor.goto(f"{base}/")
        await expect(visitor.locator(".about")).to_have_text(
            ["We are neighbours in the 33rd ward.", "We meet every second Tuesday."]
        )
        await expect(visitor.get_by_role("link", name="info@ward33.org")).to_have_attribute(
            "href", "mailto:info@ward33.org"
        )
        await screenshot(visitor, f"public-home-with-profile-{size}")
        # An endorsement goes on the home from its own page
        await admin.goto(f"{base}/endorsements/{ids['endorsements']['not_shown']}")
        await admin.get_by_role("button", name="Show it on the public home").click()
        await expect(admin.locator(".notice")).to_have_text("It is on the public home now.")
        await expect(
            admin.get_by_role("button", name="Take it off the public home")
        ).to_be_visible()
        assert not phone or await fits_phone_width(admin)
        await screenshot(admin, f"public-endorsement-shown-{size}")
        await visitor.reload()
        await expect(visitor.get_by_role("heading", name="Bea Quiet")).to_be_visible()
        # the member's way in: the same home, with the way to the coordinator pages
        await admin.goto(f"{base}/")
        await admin.get_by_role("link", name="Go to the coordinator pages").click()
        await expect(admin).to_have_url(f"{base}/calendar")
