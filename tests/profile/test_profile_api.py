"""The group profile through the API: anyone reads it, admins replace it, with the page's
rules and words."""

from __future__ import annotations

from node.accounts.models import Role
from tests.nodes import TestNode
from tests.web.page_client import anonymous

PROFILE = "/api/v1/profile"


class TestReading:
    async def test_anyone_reads_the_name_wards_and_an_empty_profile_at_first(self, nodes) -> None:
        node: TestNode = await nodes.start("ward33", wards=[33, 35])
        answer = await anonymous(node).get(PROFILE)
        assert answer.status_code == 200
        assert answer.json() == {
            "name": "Test ward33", "wards": [33, 35], "about": "", "contact_email": None,
        }  # fmt: skip


class TestReplacing:
    async def test_an_admin_replaces_it_and_the_audit_log_names_the_fields(self, nodes) -> None:
        node: TestNode = await nodes.start("ward33")
        admin = await node.as_role(Role.admin)
        body = {"about": "  We knock doors.\n\nJoin us.  ", "contact_email": "info@ward33.org"}
        saved = await admin.put(PROFILE, json=body)
        assert saved.status_code == 200, saved.text
        assert saved.json()["about"] == "We knock doors.\n\nJoin us."
        assert (await anonymous(node).get(PROFILE)).json()["contact_email"] == "info@ward33.org"
        cleared = await admin.put(PROFILE, json={"about": "We knock doors.\n\nJoin us."})
        assert cleared.json()["contact_email"] is None
        entries = (await admin.get("/api/v1/audit", params={"action": "profile.update"})).json()
        fields = [entry["detail"]["fields"] for entry in entries["items"]]
        assert sorted(fields) == [["about", "contact_email"], ["contact_email"]]

    async def test_a_bad_address_is_refused_in_words_that_say_how_to_fix_it(self, nodes) -> None:
        node: TestNode = await nodes.start("ward33")
        admin = await node.as_role(Role.admin)
        refused = await admin.put(PROFILE, json={"contact_email": "info at ward33"})
        assert refused.status_code == 422
        assert "The contact email must be one address like info@ward33.org" in refused.text
        assert (await anonymous(node).get(PROFILE)).json()["contact_email"] is None

    async def test_organizers_and_visitors_may_not(self, nodes) -> None:
        node: TestNode = await nodes.start("ward33")
        organizer = await node.as_role(Role.organizer)
        assert (await organizer.put(PROFILE, json={"about": "x"})).status_code == 403
        assert (await anonymous(node).put(PROFILE, json={"about": "x"})).status_code == 401
        assert (await anonymous(node).get(PROFILE)).json()["about"] == ""
