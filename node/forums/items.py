"""One item of a forum plan's lists (a role, a candidate invitation, an agenda item, a task):
the organizer's node edits it, moves it, or removes it.

Each change is a whole-plan update through ``service.apply_update`` (the same rules as
``PATCH /forums/{id}``: a role goes to this group or a co-host, role names distinct, a task's
owner a group of the plan), bumps the version and sends the plan, whole, to the co-hosts: they
see the removal and the new order as the origin does. An item keeps its id (a role, its name)
when edited or moved.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.audit.service import Actor, record
from node.config import Settings
from node.errors import InvalidInput, NotFound
from node.forums import service
from node.forums.models import NULLABLE_FIELDS, ForumPlan, ForumUpdate, ItemChange, PlanPart

PART_FIELDS = {
    PlanPart.roles: "roles",
    PlanPart.candidates: "candidate_invitations",
    PlanPart.agenda: "agenda_items",
    PlanPart.tasks: "tasks",
}
PART_NOUNS = {
    PlanPart.roles: "role",
    PlanPart.candidates: "candidate",
    PlanPart.agenda: "agenda item",
    PlanPart.tasks: "task",
}
_EDITABLE = {
    PlanPart.roles: ("name", "assigned_to"),
    PlanPart.candidates: ("id", "name", "race", "status"),
    PlanPart.agenda: ("id", "title", "duration_minutes"),
    PlanPart.tasks: ("id", "title", "owner", "done", "due_date"),
}


class ForumItemNotFound(NotFound):
    code = "forum_item_not_found"


def editable_items(plan: ForumPlan, part: PlanPart) -> list[dict[str, Any]]:
    """A list of the plan in order, each item in the shape ``ForumUpdate`` takes it back."""
    held: list[dict[str, Any]] = getattr(plan, PART_FIELDS[part])
    if part is PlanPart.agenda:
        held = sorted(held, key=lambda item: item["position"])
    return [{k: item[k] for k in _EDITABLE[part] if k in item} for item in held]


def item_key(part: PlanPart, item: dict[str, Any]) -> str:
    """What names an item in addresses: a role its (unique) name, any other item its id."""
    return str(item["name"] if part is PlanPart.roles else item["id"])


async def change_item(
    session: AsyncSession,
    *,
    forum_id: str,
    part: PlanPart,
    key: str,
    change: ItemChange | None,
    actor: Actor,
    settings: Settings,
) -> ForumPlan:
    """Edit one item of a list (fields sent replace its own; ``position`` moves it), or with
    no ``change`` remove it. The plan goes whole to the co-hosts, so they see the removal and
    the new order as the origin does."""
    plan = await service.own_plan(session, forum_id=forum_id, settings=settings)
    items = editable_items(plan, part)
    index = next((i for i, item in enumerate(items) if item_key(part, item) == key), None)
    noun = PART_NOUNS[part]
    if index is None:
        raise ForumItemNotFound(f"The forum has no {noun} {key}.")
    if change is None:
        del items[index]
        what = "remove"
    else:
        fields = change.model_dump(exclude_unset=True)
        position = fields.pop("position", None)
        for name, value in fields.items():
            if value is None and name not in NULLABLE_FIELDS:
                raise InvalidInput(f"The {noun}'s {name} cannot be empty.", field=["body", name])
        item = {**items.pop(index), **fields}
        groups = {settings.public_url, *service.co_host_nodes(plan)}
        if part is PlanPart.roles:
            service.check_role(item["name"], item.get("assigned_to"), groups, where=["body"])
            if any(other["name"] == item["name"] for other in items):
                raise InvalidInput(
                    f"Another role is already called {item['name']}: give this one another name.",
                    field=["body", "name"],
                )
        if part is PlanPart.tasks:
            service.check_owner(item["owner"], groups, where=["body"])
        if position is not None and position > len(items):
            raise InvalidInput(
                f"position must be from 0 to {len(items)}: the list has {len(items) + 1} items.",
                field=["body", "position"],
            )
        items.insert(index if position is None else position, item)
        what = "edit" if fields or position is None else "move"
    data = ForumUpdate.model_validate({PART_FIELDS[part]: items})
    await service.apply_update(session, plan, data=data, actor=actor, settings=settings)
    await record(
        session,
        actor=actor,
        action=f"forum.{part.value}.{what}",
        object_type="forum",
        object_id=plan.id,
        detail={"item": key, "version": plan.version},
    )
    return plan
