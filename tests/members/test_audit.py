"""Every organizer action on members is in the audit log, and the log holds no personal data."""

from __future__ import annotations

import json

from sqlalchemy import select

from node.accounts.models import Role
from node.audit.models import AuditEntry

PERSONAL = ["Ana", "Diaz", "ana@example.org", "555", "60614", "bo@example.org", "Chen"]


async def entries(node) -> list[AuditEntry]:
    async with node.session() as session:
        return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())


class TestAuditOfMemberActions:
    async def test_each_action_is_recorded_without_personal_data(self, node, organizer):
        created = await organizer.post(
            "/api/v1/members",
            json={
                "given_name": "Ana",
                "family_name": "Diaz",
                "email": "ana@example.org",
                "phone": "773 555 0100",
                "postal_code": "60614",
            },
        )
        member_id = created.json()["id"]
        await organizer.patch(f"/api/v1/members/{member_id}", json={"phone": "773 555 0101"})
        await organizer.get(f"/api/v1/members/{member_id}/export")
        await organizer.post(
            "/api/v1/members/import",
            content=b"first_name,last_name,email\nBo,Chen,bo@example.org\nAna,,ana@example.org\n",
            headers={"Content-Type": "text/csv"},
        )
        await organizer.get("/api/v1/members/export.csv")
        await organizer.delete(f"/api/v1/members/{member_id}")

        log = [e for e in await entries(node) if e.action.startswith("member.")]
        assert [e.action for e in log] == [
            "member.create",
            "member.update",
            "member.export",
            "member.import",
            "member.export_csv",
            "member.delete",
        ]
        assert log[0].object_id == str(member_id)
        assert log[1].detail == {"fields": ["phone"]}
        assert log[3].detail["created"] == 1
        assert log[3].detail["updated"] == 1
        assert log[3].detail["updated_ids"] == [member_id]
        assert log[4].detail == {"count": 2}
        for entry in log:
            text = json.dumps(entry.detail) + entry.object_id
            assert not [p for p in PERSONAL if p in text], entry

    async def test_failed_import_and_dry_run_leave_no_entry(self, node, organizer):
        await organizer.post(
            "/api/v1/members/import",
            content=b"first_name,email\nAna,bad\n",
            headers={"Content-Type": "text/csv"},
        )
        await organizer.post(
            "/api/v1/members/import?dry_run=true",
            content=b"first_name,email\nAna,ana@example.org\n",
            headers={"Content-Type": "text/csv"},
        )
        assert [e for e in await entries(node) if e.action.startswith("member.")] == []

    async def test_self_erasure_is_logged_without_the_email(self, node):
        user, token = await node.add_user(role=Role.member, email="ana@example.org")
        await node.client_with(token).delete("/api/v1/me")
        (entry,) = [e for e in await entries(node) if e.action == "account.erase"]
        assert entry.object_id == str(user.id)
        assert "ana@example.org" not in json.dumps(entry.detail) + entry.actor_label
