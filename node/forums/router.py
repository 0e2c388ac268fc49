"""HTTP routes of the forums domain: the organizer's plan, and co-hosts' actions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from node.config import Settings
from node.deps import AdminUser, CurrentUser, OrganizerUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES
from node.events.models import LocationPublic
from node.forums import service
from node.forums.models import (
    ForumCreate,
    ForumPlan,
    ForumPublic,
    ForumUpdate,
    QuestionDecision,
    QuestionIn,
)
from schemas.forum import ForumActionKind

router = APIRouter(prefix="/api/v1/forums", tags=["forums"], responses=ERROR_RESPONSES)


def forum_public(plan: ForumPlan, *, settings: Settings) -> ForumPublic:
    return ForumPublic(
        id=plan.id,
        object_id=plan.object_id,
        origin=plan.origin,
        is_local=plan.origin == settings.public_url,
        version=plan.version,
        title=plan.title,
        description=plan.description,
        start_date=plan.start_date,
        end_date=plan.end_date,
        timezone=plan.timezone,
        location=LocationPublic.stored(plan.location),
        accessibility_notes=plan.accessibility_notes,
        online_url=plan.online_url,
        languages=plan.languages,
        interpretation=plan.interpretation,
        capacity=plan.capacity,
        visibility=plan.visibility,
        status=plan.status,
        event_id=plan.event_id,
        co_hosts=plan.co_hosts,
        roles=plan.roles,
        candidate_invitations=plan.candidate_invitations,
        agenda_items=sorted(plan.agenda_items, key=lambda item: item["position"]),
        question_submissions=plan.question_submissions,
        tasks=plan.tasks,
        created_date=plan.created_at,
        modified_date=plan.updated_at,
    )


@router.post("", response_model=ForumPublic, status_code=201)
async def create_forum(
    body: ForumCreate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> ForumPublic:
    """Plan a forum (organizers). It also becomes a FORUM event in this node's calendar; the
    plan goes to the invited co-hosts."""
    plan = await service.create_forum(session, data=body, actor=principal.actor, settings=settings)
    response.headers["Location"] = f"{router.prefix}/{plan.id}"
    return forum_public(plan, settings=settings)


@router.get("", response_model=list[ForumPublic])
async def list_forums(
    principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> list[ForumPublic]:
    plans = await service.list_forums(session, role=principal.role)
    return [forum_public(plan, settings=settings) for plan in plans]


@router.get("/{forum_id}", response_model=ForumPublic)
async def get_forum(
    forum_id: str, principal: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    plan = await service.get_forum(session, forum_id=forum_id, role=principal.role)
    return forum_public(plan, settings=settings)


@router.patch("/{forum_id}", response_model=ForumPublic)
async def update_forum(
    forum_id: str,
    body: ForumUpdate,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Edit the plan (organizers of the organizing node; 409 `forum_not_local` elsewhere)."""
    plan = await service.update_forum(
        session, forum_id=forum_id, data=body, actor=principal.actor, settings=settings
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/questions/{question_id}/status", response_model=ForumPublic)
async def decide_question(
    forum_id: str,
    question_id: str,
    body: QuestionDecision,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Select or reject a submitted question (the organizing node)."""
    plan = await service.decide_question(
        session,
        forum_id=forum_id,
        question_id=question_id,
        status=body.status,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/accept", response_model=ForumPublic, status_code=202)
async def accept(
    forum_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    """Accept the invitation to co-host (a co-host's admin). 202: the organizer applies it."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.ACCEPT,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/decline", response_model=ForumPublic, status_code=202)
async def decline(
    forum_id: str, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ForumPublic:
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.DECLINE,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/questions", response_model=ForumPublic, status_code=202)
async def submit_question(
    forum_id: str,
    body: QuestionIn,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Submit a question for the candidates (a co-host that accepted)."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.SUBMIT_QUESTION,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        text=body.text,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/tasks/{task_id}/done", response_model=ForumPublic, status_code=202)
async def complete_task(
    forum_id: str,
    task_id: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Mark one of your group's tasks done (403 for another group's task)."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.COMPLETE_TASK,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        task=task_id,
    )
    return forum_public(plan, settings=settings)


@router.post("/{forum_id}/roles/{role_name}/take", response_model=ForumPublic, status_code=202)
async def take_role(
    forum_id: str,
    role_name: str,
    principal: OrganizerUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ForumPublic:
    """Take a role nobody holds yet (403 if another group holds it)."""
    plan = await service.act(
        session,
        forum_id=forum_id,
        action=ForumActionKind.TAKE_ROLE,
        role=principal.role,
        actor=principal.actor,
        settings=settings,
        role_name=role_name,
    )
    return forum_public(plan, settings=settings)
