"""A co-host cannot edit what is not its own: refused on its node and at the origin."""

from __future__ import annotations

from sqlmodel import func, select

from federation.models import Delivery, Peer
from federation.outbox import build_activity, enqueue
from node.accounts.models import Role
from node.forums.models import ForumPlan
from schemas.forum import ForumAction, ForumActionKind
from tests.forums.test_lifecycle import forum_body, plan_on, setup
from tests.nodes import TestNode, deliver_all


async def forge(sender: TestNode, origin: TestNode, action: ForumAction, verb: str) -> Delivery:
    async with sender.session() as session:
        peer = (await session.execute(select(Peer).where(Peer.node_id == origin.url))).scalar_one()
        activity = build_activity(node_id=sender.url, type=verb, object=action, to=[origin.url])  # type: ignore[arg-type]
        row = await enqueue(session, activity=activity, recipients=[peer])
        assert row is not None
        pk = row.id
    await deliver_all(sender, origin)
    async with sender.session() as session:
        return (
            await session.execute(select(Delivery).where(Delivery.activity_pk == pk))
        ).scalar_one()


async def planned(nodes):  # type: ignore[no-untyped-def]
    origin, co_hosts, outsider = await setup(nodes)
    organizer = await origin.as_role(Role.organizer)
    forum = (
        await organizer.post(
            "/api/v1/forums", json=forum_body([n.url for n in co_hosts], origin.url)
        )
    ).json()
    await deliver_all(origin, *co_hosts, outsider)
    return origin, co_hosts, outsider, forum


class TestNotYours:
    async def test_a_co_host_cannot_mark_another_groups_task_done(self, nodes):
        origin, (ward30, _, _), _, forum = await planned(nodes)
        local = await plan_on(ward30, forum["object_id"])
        livestream = next(t for t in local["tasks"] if t["title"] == "Livestream")  # ward35's
        client = await ward30.as_role(Role.organizer)
        response = await client.post(f"/api/v1/forums/{local['id']}/tasks/{livestream['id']}/done")
        assert response.status_code == 403
        # And should ward30 send it anyway, the origin refuses it and changes nothing
        before = await plan_on(origin, forum["object_id"])
        delivery = await forge(
            ward30,
            origin,
            ForumAction(
                type="ForumAction",
                id=f"{ward30.url}/forum-actions/forged",
                forum=forum["object_id"],
                action=ForumActionKind.COMPLETE_TASK,
                task=livestream["id"],
            ),
            "Update",
        )
        assert delivery.last_status == 403
        after = await plan_on(origin, forum["object_id"])
        assert (after["version"], after["tasks"]) == (before["version"], before["tasks"])

    async def test_a_co_host_cannot_edit_the_plan_or_take_a_held_role(self, nodes):
        origin, (ward30, _, _), _, forum = await planned(nodes)
        local = await plan_on(ward30, forum["object_id"])
        client = await ward30.as_role(Role.organizer)
        response = await client.patch(f"/api/v1/forums/{local['id']}", json={"title": "Mine"})
        assert (response.status_code, response.json()["error"]["code"]) == (409, "forum_not_local")
        response = await client.post(f"/api/v1/forums/{local['id']}/roles/moderator/take")
        assert response.status_code == 403
        assert (await plan_on(origin, forum["object_id"]))["version"] == 1

    async def test_only_an_admin_answers_an_invitation_and_only_for_its_own_group(self, nodes):
        origin, (ward30, _, _), outsider, forum = await planned(nodes)
        local = await plan_on(ward30, forum["object_id"])
        organizer30 = await ward30.as_role(Role.organizer)
        assert (await organizer30.post(f"/api/v1/forums/{local['id']}/accept")).status_code == 403
        # A group that was not invited cannot accept on its own behalf at the origin
        delivery = await forge(
            outsider,
            origin,
            ForumAction(
                type="ForumAction",
                id=f"{outsider.url}/forum-actions/x",
                forum=forum["object_id"],
                action=ForumActionKind.ACCEPT,
            ),
            "Accept",
        )
        assert delivery.last_status == 403
        plan = await plan_on(origin, forum["object_id"])
        assert {c["status"] for c in plan["co_hosts"]} == {"invited"}

    async def test_questions_wait_for_acceptance(self, nodes):
        origin, (ward30, _, _), _, forum = await planned(nodes)
        local = await plan_on(ward30, forum["object_id"])
        client = await ward30.as_role(Role.organizer)
        response = await client.post(f"/api/v1/forums/{local['id']}/questions", json={"text": "?"})
        assert response.status_code == 409
        assert (await plan_on(origin, forum["object_id"]))["question_submissions"] == []


class TestBadInput:
    async def test_a_co_host_that_is_not_an_ally_or_a_negative_capacity_is_refused(self, nodes):
        origin, co_hosts, _ = await setup(nodes)
        organizer = await origin.as_role(Role.organizer)
        body = forum_body(["http://stranger.test", co_hosts[0].url], origin.url)
        assert (await organizer.post("/api/v1/forums", json=body)).status_code == 422
        body = forum_body([co_hosts[0].url, co_hosts[1].url], origin.url, capacity=-5)
        assert (await organizer.post("/api/v1/forums", json=body)).status_code == 422
        body = forum_body([co_hosts[0].url, co_hosts[1].url], origin.url)
        body["tasks"][0]["owner"] = "http://stranger.test"
        assert (await organizer.post("/api/v1/forums", json=body)).status_code == 422
        async with origin.session() as session:
            assert await session.scalar(select(func.count()).select_from(ForumPlan)) == 0
        events = (await organizer.get("/api/v1/events")).json()["items"]
        assert events == []

    async def test_members_cannot_plan(self, nodes):
        origin, co_hosts, _ = await setup(nodes)
        member = await origin.as_role(Role.member)
        body = forum_body([co_hosts[0].url, co_hosts[1].url], origin.url)
        assert (await member.post("/api/v1/forums", json=body)).status_code == 403


class TestOpenRoles:
    async def test_an_open_role_is_taken_only_after_accepting(self, nodes):
        origin, (ward30, _, _), _, forum = await planned(nodes)
        local = await plan_on(ward30, forum["object_id"])
        client = await ward30.as_role(Role.organizer)
        early = await client.post(f"/api/v1/forums/{local['id']}/roles/timekeeper/take")
        assert early.status_code == 409
        admin = await ward30.as_role(Role.admin)
        assert (await admin.post(f"/api/v1/forums/{local['id']}/accept")).status_code == 202
        await deliver_all(origin, ward30)
        taken = await client.post(f"/api/v1/forums/{local['id']}/roles/timekeeper/take")
        assert taken.status_code == 202
        await deliver_all(origin, ward30)
        roles = {
            r["name"]: r.get("assigned_to")
            for r in (await plan_on(origin, forum["object_id"]))["roles"]
        }
        assert roles["timekeeper"] == ward30.url
