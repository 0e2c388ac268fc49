"""Forum plans: the organizer's edits, co-hosts' actions, and who may do what.

A co-host's invitation::

    invited ──Accept──> accepted
            └─Reject──> declined      (either may be revisited by a later answer)

The organizer's node applies every change (its organizers' edits, co-hosts' actions), bumps
the version and sends the plan to every co-host. A co-host may only: answer its own
invitation (its admin), submit questions (once accepted), mark done a task it owns, and take
a role nobody holds. Anything else is refused on the co-host's node (403/409) and, should a
node send it anyway, by the origin (403/409, nothing changed).

The organizer's node edits the plan whole (``update_forum``) or one item of a list at a time
(``node.forums.items``: edit, move, remove), and its organizers may do what a co-host does, for
their own group: submit questions, mark its own tasks done, take an open role.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from federation.errors import FederationError, Forbidden, OriginMismatch, SchemaInvalid
from federation.models import AllianceState, Peer
from federation.peers import get_peer
from federation.replicas import is_newer
from federation.storage import utcnow
from node.accounts.models import Role
from node.audit.service import Actor, record
from node.config import Settings
from node.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from node.events import service as events
from node.events.models import (
    END_BEFORE_START,
    EventCreate,
    EventStatus,
    EventType,
    EventUpdate,
    Visibility,
)
from node.forums import sharing
from node.forums.models import (
    AgendaIn,
    CandidateIn,
    CoHostStatus,
    ForumCreate,
    ForumPlan,
    ForumUpdate,
    QuestionStatus,
    RoleIn,
    TaskIn,
)
from node.webhooks import triggers as webhooks
from schemas import forum as wire

EVENT_FIELDS = ("title", "description", "start_date", "end_date", "location", "capacity")


class ForumNotFound(NotFound):
    code = "forum_not_found"


class ForumNotLocal(Conflict):
    code = "forum_not_local"


class ForumIsLocal(Conflict):
    code = "forum_is_local"


class NotYours(Forbidden):
    """A co-host acting on what is not its own (another group's task, another's invitation)."""

    code = "not_yours"


class ForumStateConflict(FederationError):
    status_code = 409
    code = "forum_conflict"


class UnknownForum(SchemaInvalid):
    code = "unknown_forum"


# ---- reading --------------------------------------------------------------------------------


async def list_forums(session: AsyncSession, *, role: Role) -> list[ForumPlan]:
    result = await session.execute(
        select(ForumPlan)
        .where(col(ForumPlan.visibility).in_(events.visible_levels(role)))
        .order_by(col(ForumPlan.start_date), col(ForumPlan.id))
    )
    return list(result.scalars())


async def get_forum(session: AsyncSession, *, forum_id: str, role: Role | None) -> ForumPlan:
    """The plan if the caller may see it (``role`` None: an anonymous visitor, public only);
    a hidden plan is reported like a missing one."""
    plan = await session.get(ForumPlan, forum_id)
    if plan is None or plan.visibility not in events.visible_levels(role):
        raise ForumNotFound(f"No forum {forum_id} on this node.")
    return plan


async def public_forums(session: AsyncSession, *, settings: Settings) -> list[ForumPlan]:
    """The public home's forums: public, not over, and this group's own (it organizes them,
    or accepted to co-host them)."""
    result = await session.execute(
        select(ForumPlan)
        .where(
            col(ForumPlan.visibility) == Visibility.public,
            col(ForumPlan.end_date) >= utcnow(),
        )
        .order_by(col(ForumPlan.start_date), col(ForumPlan.id))
    )
    me = settings.public_url
    return [
        plan
        for plan in result.scalars()
        if plan.origin == me
        or any(
            c["node"] == me and c["status"] == CoHostStatus.accepted.value for c in plan.co_hosts
        )
    ]


async def _by_object_id(
    session: AsyncSession, object_id: str, *, for_update: bool = False
) -> ForumPlan | None:
    """A plan by its global id; ``for_update`` locks the row until the transaction ends, so
    co-hosts' actions arriving together are applied one after the other, none lost."""
    query = select(ForumPlan).where(col(ForumPlan.object_id) == object_id)
    if for_update:
        query = query.with_for_update()
    result = await session.execute(query)
    return result.scalar_one_or_none()


# ---- the organizer --------------------------------------------------------------------------


async def create_forum(
    session: AsyncSession, *, data: ForumCreate, actor: Actor, settings: Settings
) -> ForumPlan:
    await _check_co_hosts(session, data.co_hosts, visibility=data.visibility)
    groups = {settings.public_url, *data.co_hosts}
    now = utcnow()
    plan = ForumPlan(
        object_id="",
        origin=settings.public_url,
        title=data.title,
        description=data.description,
        start_date=data.start_date.astimezone(UTC),
        end_date=data.end_date.astimezone(UTC),
        timezone=data.timezone,
        location=data.location.model_dump(mode="json", exclude_none=True)
        if data.location
        else None,
        accessibility_notes=data.accessibility_notes,
        online_url=str(data.online_url) if data.online_url else None,
        languages=list(data.languages),
        interpretation=data.interpretation,
        capacity=data.capacity,
        visibility=data.visibility,
        co_hosts=[{"node": node, "status": CoHostStatus.invited.value} for node in data.co_hosts],
        roles=_roles(data.roles, groups),
        candidate_invitations=_candidates(data.candidate_invitations, [], now=now),
        agenda_items=_agenda(data.agenda_items, []),
        tasks=_tasks(data.tasks, [], groups),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    plan.object_id = f"{settings.public_url}/forums/{plan.id}"
    event = await events.create_event(
        session,
        data=EventCreate(
            title=data.title,
            description=data.description,
            start_date=data.start_date,
            end_date=data.end_date,
            timezone=data.timezone,
            location=data.location,
            online_url=data.online_url,
            event_type=EventType.FORUM,
            capacity=data.capacity,
            visibility=data.visibility,
        ),
        actor=actor,
        settings=settings,
    )
    plan.event_id, plan.event_object_id = event.id, event.object_id
    _normalize(plan)
    session.add(plan)
    await session.flush()
    await sharing.share_plan(session, plan=plan, node_id=settings.public_url)
    await webhooks.notify(session, event_type="forum.updated", object=plan)
    await record(
        session,
        actor=actor,
        action="forum.create",
        object_type="forum",
        object_id=plan.id,
        detail={"co_hosts": data.co_hosts},
    )
    return plan


async def update_forum(
    session: AsyncSession, *, forum_id: str, data: ForumUpdate, actor: Actor, settings: Settings
) -> ForumPlan:
    plan = await own_plan(session, forum_id=forum_id, settings=settings)
    changes = await apply_update(session, plan, data=data, actor=actor, settings=settings)
    await record(
        session,
        actor=actor,
        action="forum.update",
        object_type="forum",
        object_id=plan.id,
        detail={"fields": sorted(changes), "version": plan.version},
    )
    return plan


async def apply_update(
    session: AsyncSession, plan: ForumPlan, *, data: ForumUpdate, actor: Actor, settings: Settings
) -> dict[str, Any]:
    """Apply an update to a plan this node organizes (locked by the caller), bump its version
    and send it to the co-hosts; the fields it changed."""
    changes = data.model_dump(exclude_unset=True)
    if any(changes.get(name, 0) is None for name in ("title", "start_date", "end_date")):
        raise InvalidInput("title, start_date and end_date cannot be null.")
    start = data.start_date or plan.start_date
    end = data.end_date or plan.end_date
    if end < start:
        raise InvalidInput(
            END_BEFORE_START,
            field=["body", "end_date"],
        )
    if data.co_hosts is not None:
        new = [node for node in data.co_hosts if node not in co_host_nodes(plan)]
        await _check_co_hosts(session, new, visibility=plan.visibility)
        plan.co_hosts = [*plan.co_hosts, *({"node": n, "status": "invited"} for n in new)]
    groups = {settings.public_url, *co_host_nodes(plan)}
    now = utcnow()
    for name in ("title", "description", "accessibility_notes", "interpretation", "capacity"):
        if name in changes:
            setattr(plan, name, changes[name])
    if data.start_date is not None:
        plan.start_date = data.start_date.astimezone(UTC)
    if data.end_date is not None:
        plan.end_date = data.end_date.astimezone(UTC)
    if "location" in changes:
        plan.location = (
            data.location.model_dump(mode="json", exclude_none=True) if data.location else None
        )
    if data.languages is not None:
        plan.languages = list(data.languages)
    if data.status is not None:
        plan.status = data.status
    if data.roles is not None:
        plan.roles = _roles(data.roles, groups)
    if data.candidate_invitations is not None:
        plan.candidate_invitations = _candidates(
            data.candidate_invitations, plan.candidate_invitations, now=now
        )
    if data.agenda_items is not None:
        plan.agenda_items = _agenda(data.agenda_items, plan.agenda_items)
    if data.tasks is not None:
        plan.tasks = _tasks(data.tasks, plan.tasks, groups)
    if plan.event_id is not None:
        event_changes = {k: v for k, v in changes.items() if k in EVENT_FIELDS}
        if data.status is not None:
            event_changes["status"] = EventStatus(data.status.value)
        if event_changes:
            await events.update_event(
                session,
                event_id=plan.event_id,
                data=EventUpdate(**event_changes),
                actor=actor,
                settings=settings,
            )
    await _touch(session, plan, settings=settings)
    return changes


async def decide_question(
    session: AsyncSession,
    *,
    forum_id: str,
    question_id: str,
    status: QuestionStatus,
    actor: Actor,
    settings: Settings,
) -> ForumPlan:
    plan = await own_plan(session, forum_id=forum_id, settings=settings)
    questions = [dict(item) for item in plan.question_submissions]
    found = next((q for q in questions if q["id"] == question_id), None)
    if found is None:
        raise NotFound(f"Forum {forum_id} has no question {question_id}.")
    found["status"] = status.value
    plan.question_submissions = questions
    await _touch(session, plan, settings=settings)
    await record(
        session,
        actor=actor,
        action="forum.question",
        object_type="forum",
        object_id=plan.id,
        detail={"question": question_id, "status": status.value},
    )
    return plan


# ---- a co-host ------------------------------------------------------------------------------


async def act(
    session: AsyncSession,
    *,
    forum_id: str,
    action: wire.ForumActionKind,
    role: Role,
    actor: Actor,
    settings: Settings,
    text: str | None = None,
    task: str | None = None,
    role_name: str | None = None,
) -> ForumPlan:
    """A co-host's action, checked here and sent to the origin, which applies it. On the
    origin itself, its organizers do the same (submit a question, mark its own task done,
    take an open role), applied at once; it has no invitation to answer."""
    plan = await get_forum(session, forum_id=forum_id, role=role)
    answering = action in (wire.ForumActionKind.ACCEPT, wire.ForumActionKind.DECLINE)
    if plan.origin == settings.public_url and answering:
        raise ForumIsLocal("This node organizes the forum: it has no invitation to answer.")
    if answering:
        if not role.includes(Role.admin):
            raise PermissionDenied("Only an admin answers a co-host invitation.")
    elif not role.includes(Role.organizer):
        raise PermissionDenied("This needs the organizer role.")
    me = settings.public_url
    if plan.origin == me:
        return await _act_as_organizer(
            session, forum_id=forum_id, action=action, actor=actor, settings=settings,
            text=text, task=task, role_name=role_name,
        )  # fmt: skip
    if me not in co_host_nodes(plan):
        raise PermissionDenied("This node is not a co-host of that forum.")
    _check_action(plan, node=me, action=action, task=task, role_name=role_name, local=True)
    origin = await get_peer(session, node_id=plan.origin)
    if origin is None or origin.state is not AllianceState.active:
        raise Conflict("The organizing group is no longer an active ally.")
    payload = wire.ForumAction(
        type="ForumAction",
        id=f"{me}/forum-actions/{secrets.token_hex(8)}",
        forum=plan.object_id,
        action=action,
        text=text,
        task=task,
        role=role_name,
    )
    await sharing.send_action(session, action=payload, origin=origin, node_id=me)
    await record(
        session,
        actor=actor,
        action=f"forum.{action.value}",
        object_type="forum",
        object_id=plan.id,
        detail={"sent_to": plan.origin, "action": payload.id},
    )
    return plan


def _check_action(
    plan: ForumPlan,
    *,
    node: str,
    action: wire.ForumActionKind,
    task: str | None,
    role_name: str | None,
    local: bool,
) -> None:
    """What a co-host may do; raised as an API error on its node, a federation one at the
    origin."""

    def refuse(message: str, *, conflict: bool = False) -> None:
        if local:
            raise (Conflict if conflict else PermissionDenied)(message)
        raise (ForumStateConflict if conflict else NotYours)(message)

    if node == plan.origin:
        status = CoHostStatus.accepted.value
    else:
        status = next(c["status"] for c in plan.co_hosts if c["node"] == node)
    if action is wire.ForumActionKind.COMPLETE_TASK:
        found = next((t for t in plan.tasks if t["id"] == task), None)
        if found is None:
            refuse(f"The forum has no task {task}.", conflict=True)
        elif found["owner"] != node:
            refuse("That task belongs to another group.")
    if action is wire.ForumActionKind.TAKE_ROLE:
        found = next((r for r in plan.roles if r["name"] == role_name), None)
        if found is None:
            refuse(f"The forum has no role {role_name}.", conflict=True)
        elif found.get("assigned_to") not in (None, node):
            refuse("Another group holds that role.")
    joining = (wire.ForumActionKind.SUBMIT_QUESTION, wire.ForumActionKind.TAKE_ROLE)
    if action in joining and status != "accepted":
        refuse("Accept the invitation first.", conflict=True)


async def _act_as_organizer(
    session: AsyncSession,
    *,
    forum_id: str,
    action: wire.ForumActionKind,
    actor: Actor,
    settings: Settings,
    text: str | None,
    task: str | None,
    role_name: str | None,
) -> ForumPlan:
    """The organizing node's own action: the same checks as a co-host's, applied here."""
    plan = await own_plan(session, forum_id=forum_id, settings=settings)
    me = settings.public_url
    _check_action(plan, node=me, action=action, task=task, role_name=role_name, local=True)
    question_id = secrets.token_hex(8)
    _apply(
        plan, node=me, action=action, question_id=question_id, text=text, task=task,
        role_name=role_name,
    )  # fmt: skip
    await _touch(session, plan, settings=settings)
    await record(
        session,
        actor=actor,
        action=f"forum.{action.value}",
        object_type="forum",
        object_id=plan.id,
        detail={"version": plan.version},
    )
    return plan


def _apply(
    plan: ForumPlan,
    *,
    node: str,
    action: wire.ForumActionKind,
    question_id: str,
    text: str | None,
    task: str | None,
    role_name: str | None,
) -> bool:
    """Apply a checked action of ``node`` (a co-host, or the origin itself) to the plan;
    False if it changes nothing (a question already held)."""
    kind = wire.ForumActionKind
    if action in (kind.ACCEPT, kind.DECLINE):
        status = "accepted" if action is kind.ACCEPT else "declined"
        plan.co_hosts = [{**c, "status": status} if c["node"] == node else c for c in plan.co_hosts]
    elif action is kind.SUBMIT_QUESTION:
        if any(q["id"] == question_id for q in plan.question_submissions):
            return False
        question = {"id": question_id, "text": text, "submitted_by": node, "status": "pending"}
        plan.question_submissions = [*plan.question_submissions, question]
    elif action is kind.COMPLETE_TASK:
        plan.tasks = [{**t, "done": True} if t["id"] == task else t for t in plan.tasks]
    elif action is kind.TAKE_ROLE:
        plan.roles = [
            {**r, "assigned_to": node} if r["name"] == role_name else r for r in plan.roles
        ]
    return True


# ---- what allies send -----------------------------------------------------------------------


async def apply_action(
    session: AsyncSession, *, action: wire.ForumAction, peer: Peer, settings: Settings
) -> None:
    """A co-host's action at the origin: checked, applied, version bumped, re-broadcast."""
    plan = await _by_object_id(session, action.forum, for_update=True)
    if plan is None or plan.origin != settings.public_url:
        raise UnknownForum(f"This node organizes no forum {action.forum}.")
    if peer.node_id not in co_host_nodes(plan):
        raise NotYours("Your group is not a co-host of that forum.")
    _check_action(
        plan,
        node=peer.node_id,
        action=action.action,
        task=action.task,
        role_name=action.role,
        local=False,
    )
    if not _apply(
        plan,
        node=peer.node_id,
        action=action.action,
        question_id=_suffix(action.id),
        text=action.text,
        task=action.task,
        role_name=action.role,
    ):
        return
    await _touch(session, plan, settings=settings)
    await record(
        session,
        actor=Actor(kind="peer", label=peer.node_id),
        action=f"forum.{action.action.value}",
        object_type="forum",
        object_id=plan.id,
        detail={"version": plan.version},
    )


async def apply_plan(session: AsyncSession, *, incoming: wire.ForumPlan, peer: Peer) -> None:
    """Keep the organizer's plan, if newer."""
    if incoming.attributed_to != peer.node_id:
        raise OriginMismatch("A plan can only come from the node it is attributed to.")
    plan = await _by_object_id(session, incoming.id, for_update=True)
    if plan is not None:
        if plan.origin != peer.node_id:
            raise OriginMismatch("That plan belongs to another node.")
        if not is_newer(incoming.version, plan.version):
            return
    values: dict[str, Any] = incoming.model_dump(
        mode="json",
        exclude_none=True,
        include={
            "title",
            "description",
            "timezone",
            "accessibility_notes",
            "languages",
            "interpretation",
            "capacity",
            "co_hosts",
            "roles",
            "candidate_invitations",
            "agenda_items",
            "question_submissions",
            "tasks",
        },
    )
    values.update(
        version=incoming.version,
        capacity=incoming.capacity,
        start_date=incoming.start_date,
        end_date=incoming.end_date,
        location=incoming.location.model_dump(mode="json", exclude_none=True)
        if incoming.location
        else None,
        online_url=incoming.online_url,
        visibility=Visibility(incoming.visibility),
        status=EventStatus(incoming.status.value),
        event_object_id=incoming.event,
        updated_at=utcnow(),
    )
    if plan is None:
        plan = ForumPlan(object_id=incoming.id, origin=peer.node_id, created_at=utcnow(), **values)
    else:
        for name, value in values.items():
            setattr(plan, name, value)
    session.add(plan)
    await webhooks.notify(session, event_type="forum.updated", object=plan)


# ---- helpers --------------------------------------------------------------------------------


async def own_plan(session: AsyncSession, *, forum_id: str, settings: Settings) -> ForumPlan:
    """A plan this node organizes, locked for the change about to be made (409 elsewhere)."""
    # Locked: a local edit and a co-host's action must not both build on the same version.
    plan = await session.get(ForumPlan, forum_id, with_for_update=True)
    if plan is None:
        raise ForumNotFound(f"No forum {forum_id} on this node.")
    if plan.origin != settings.public_url:
        raise ForumNotLocal(
            f"Forum {forum_id} is organized by {plan.origin}; only that node edits the plan."
        )
    return plan


async def _touch(session: AsyncSession, plan: ForumPlan, *, settings: Settings) -> None:
    plan.version += 1
    plan.updated_at = utcnow()
    _normalize(plan)
    session.add(plan)
    await session.flush()
    if plan.visibility is not Visibility.private:
        await sharing.share_plan(session, plan=plan, node_id=settings.public_url)
    await webhooks.notify(session, event_type="forum.updated", object=plan)


async def _check_co_hosts(
    session: AsyncSession, nodes: list[str], *, visibility: Visibility
) -> None:
    if nodes and visibility is Visibility.private:
        raise InvalidInput("A private forum cannot have co-hosts.", field=["body", "visibility"])
    usable = {
        p.node_id
        for p in await sharing.co_host_peers(session, nodes=nodes)
        if p.state is AllianceState.active
    }
    for index, node in enumerate(nodes):
        if node not in usable:
            raise InvalidInput(
                f"{node} is not an active ally sharing forums.", field=["body", "co_hosts", index]
            )


def _normalize(plan: ForumPlan) -> None:
    """Store the lists exactly as co-hosts will (through the wire model), so the origin and
    every replica show the same plan, byte for byte."""
    shared = sharing.to_wire(plan).model_dump(mode="json", exclude_none=True)
    for name in (
        "co_hosts",
        "roles",
        "candidate_invitations",
        "agenda_items",
        "question_submissions",
        "tasks",
    ):
        setattr(plan, name, shared.get(name, []))


def co_host_nodes(plan: ForumPlan) -> list[str]:
    return [item["node"] for item in plan.co_hosts]


def check_role(
    name: str, assigned_to: str | None, groups: set[str], *, where: list[str | int]
) -> None:
    """A role goes to one of the plan's ``groups`` or to nobody; ``where`` locates the error."""
    if assigned_to is not None and assigned_to not in groups:
        raise InvalidInput(
            f"The role {name} goes to this group or a co-host, or to nobody yet.",
            field=[*where, "assigned_to"],
        )


def check_owner(owner: str, groups: set[str], *, where: list[str | int]) -> None:
    """A task belongs to one of the plan's ``groups``; ``where`` locates the error."""
    if owner not in groups:
        raise InvalidInput("A task's owner is this group or a co-host.", field=[*where, "owner"])


def _roles(roles: list[RoleIn], groups: set[str]) -> list[dict[str, Any]]:
    for index, role in enumerate(roles):
        check_role(role.name, role.assigned_to, groups, where=["body", "roles", index])
    names = [role.name for role in roles]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        raise InvalidInput(
            f"Two roles are called {twice}: give each role its own name.", field=["body", "roles"]
        )
    return [
        {"name": r.name, **({"assigned_to": r.assigned_to} if r.assigned_to else {})} for r in roles
    ]


def _candidates(
    given: list[CandidateIn], held: list[dict[str, Any]], *, now: datetime
) -> list[dict[str, Any]]:
    """Invitations, each with the time its status last changed."""
    before = {item["id"]: item for item in held}
    result = []
    for candidate in given:
        old = before.get(candidate.id) if candidate.id else None
        changed = old is None or old["status"] != candidate.status.value
        result.append(
            {
                "id": old["id"] if old else secrets.token_hex(6),
                "name": candidate.name,
                "race": candidate.race,
                "status": candidate.status.value,
                "changed_at": now.isoformat() if changed or old is None else old["changed_at"],
            }
        )
    return result


def _agenda(given: list[AgendaIn], held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agenda in the order given, positions from 0; an item keeps its id if it had one."""
    known = {item["id"] for item in held}
    return [
        {
            "id": item.id if item.id in known else secrets.token_hex(6),
            "title": item.title,
            "position": position,
            "duration_minutes": item.duration_minutes,
        }
        for position, item in enumerate(given)
    ]


def _tasks(
    given: list[TaskIn], held: list[dict[str, Any]], groups: set[str]
) -> list[dict[str, Any]]:
    known = {item["id"] for item in held}
    result = []
    for index, task in enumerate(given):
        check_owner(task.owner, groups, where=["body", "tasks", index])
        item: dict[str, Any] = {
            "id": task.id if task.id in known else secrets.token_hex(6),
            "title": task.title,
            "owner": task.owner,
            "done": task.done,
        }
        if task.due_date is not None:
            item["due_date"] = task.due_date.astimezone(UTC).isoformat()
        result.append(item)
    return result


def _suffix(object_id: str) -> str:
    return object_id.rstrip("/").rsplit("/", 1)[-1][:64]
