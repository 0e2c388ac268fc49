"""The accounts page (admins): who has an account and with which role, pending invitations,
and the actions on them, through the same services as the API's ``/users`` and
``/invitations``.

An invitation or a reset link is emailed; where the node has no mail server, the answer to the
post shows the link once, to copy and hand over (only its hash is kept, so it cannot be shown
again).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from federation.storage import utcnow
from node.accounts import invitations, recovery
from node.accounts import service as accounts
from node.accounts.models import InvitationCreate, Role, User, UserUpdate
from node.config import Settings
from node.deps import Principal, RowId, SessionDep, SettingsDep
from node.errors import Conflict
from node.web.deps import PageAdmin
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()

ROLE_WORDS = {
    Role.member: "Member: signs up for shifts, sees the shared calendar and work.",
    Role.organizer: "Organizer: also posts events, canvass calls and forums, sees members.",
    Role.admin: "Admin: also manages accounts, alliances and partners.",
}


def name_of(user: User) -> str:
    return user.display_name.strip() or user.email


def plain_errors(exc: ValidationError) -> dict[str, str]:
    """The model's errors by field, in words a person acts on (no "Value error, ...")."""
    errors: dict[str, str] = {}
    for name, message in field_errors(exc).items():
        if name == "email":
            message = "Write a whole email address, like ana@example.org."
        elif name == "role":
            message = "Choose one of the roles in the list."
        errors[name] = message.removeprefix("Value error, ")
    return errors


async def _page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    admin: Principal,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    users = await accounts.list_users(session)
    return render(
        request,
        "accounts.html",
        {
            "users": users,
            "me": admin.user,
            "active_admins": sum(1 for u in users if u.is_active and u.role is Role.admin),
            "invitations": await invitations.open_invitations(session),
            "now": utcnow(),
            "values": values or {"role": Role.member.value},
            "errors": errors or {},
            "problem": problem,
            "roles": ROLE_WORDS,
            "has_mail": bool(settings.smtp_host),
        },
        status_code=status_code,
    )


@router.get("/accounts", response_class=HTMLResponse)
async def accounts_page(
    request: Request, admin: PageAdmin, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    return await _page(request, session, settings, admin)


def _link_page(request: Request, *, title: str, url: str, explanation: str) -> HTMLResponse:
    response = render(
        request, "accounts_link.html", {"title": title, "url": url, "explanation": explanation}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/accounts/invitations", response_class=HTMLResponse)
async def invite(
    request: Request,
    admin: PageAdmin,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
) -> Response:
    values = {"email": email.strip(), "role": role}
    try:
        data = InvitationCreate.model_validate(values)
        invitation, token = await invitations.invite(
            session, settings, data=data, inviter=admin.user, actor=admin.actor
        )
    except ValidationError as exc:
        return await _page(
            request, session, settings, admin, values=values, errors=plain_errors(exc),
            status_code=422,
        )  # fmt: skip
    except Conflict as exc:
        return await _page(
            request, session, settings, admin, values=values, errors={"email": exc.message},
            status_code=409,
        )  # fmt: skip
    if settings.smtp_host:
        return redirect(
            "/accounts",
            notice=f"Invitation emailed to {invitation.email}. The link works once, for 7 days.",
        )
    return _link_page(
        request,
        title=f"Invitation for {invitation.email}",
        url=invitations.invitation_url(settings, token),
        explanation=f"This node has no mail server, so give this link to {invitation.email} "
        "yourself (a message, a chat). It works once, for 7 days, and makes an account as "
        f"{invitation.role.value}.",
    )


@router.post("/accounts/invitations/{invitation_id}/cancel", response_class=HTMLResponse)
async def cancel_invitation(
    invitation_id: RowId, admin: PageAdmin, session: SessionDep
) -> Response:
    invitation = await invitations.cancel_invitation(
        session, invitation_id=invitation_id, actor=admin.actor
    )
    return redirect(
        "/accounts",
        notice=f"The invitation to {invitation.email} is cancelled: its link no longer works.",
    )


async def _update(
    request: Request,
    session: SessionDep,
    settings: Settings,
    admin: Principal,
    *,
    user_id: int,
    data: UserUpdate,
    done: str,
) -> Response:
    try:
        user = await accounts.update_user(session, user_id=user_id, data=data, actor=admin.actor)
    except Conflict as exc:
        return await _page(request, session, settings, admin, problem=exc.message, status_code=409)
    return redirect("/accounts", notice=done.format(name=name_of(user)))


@router.post("/accounts/{user_id}/role", response_class=HTMLResponse)
async def change_role(
    request: Request,
    user_id: RowId,
    admin: PageAdmin,
    session: SessionDep,
    settings: SettingsDep,
    role: Annotated[str, Form()] = "",
) -> Response:
    try:
        data = UserUpdate.model_validate({"role": role})
    except ValidationError:
        return await _page(
            request, session, settings, admin, status_code=422,
            problem="Choose one of the roles in the list: member, organizer or admin.",
        )  # fmt: skip
    return await _update(
        request, session, settings, admin, user_id=user_id, data=data,
        done=f"{{name}} is now {'an' if data.role is not Role.member else 'a'} {role}.",
    )  # fmt: skip


@router.post("/accounts/{user_id}/deactivate", response_class=HTMLResponse)
async def deactivate(
    request: Request, user_id: RowId, admin: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _update(
        request, session, settings, admin, user_id=user_id,
        data=UserUpdate(is_active=False),
        done="{name} is deactivated: logged out everywhere, with no working token or link.",
    )  # fmt: skip


@router.post("/accounts/{user_id}/reactivate", response_class=HTMLResponse)
async def reactivate(
    request: Request, user_id: RowId, admin: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _update(
        request, session, settings, admin, user_id=user_id, data=UserUpdate(is_active=True),
        done="{name} is active again and can log in with the same password (or a reset link).",
    )  # fmt: skip


@router.post("/accounts/{user_id}/reset-link", response_class=HTMLResponse)
async def make_reset_link(
    request: Request, user_id: RowId, admin: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    user = await accounts.get_user(session, user_id=user_id)
    if not user.is_active:
        return await _page(
            request, session, settings, admin, status_code=409,
            problem=f"{name_of(user)}'s account is deactivated: reactivate it first.",
        )  # fmt: skip
    _, token = await recovery.make_reset_link(
        session, settings, user=user, actor=admin.actor, by_admin=True
    )
    if settings.smtp_host:
        return redirect(
            "/accounts",
            notice=f"A password reset link was emailed to {user.email}. It works once, for a day.",
        )
    return _link_page(
        request,
        title=f"Password reset link for {name_of(user)}",
        url=recovery.reset_url(settings, token),
        explanation=f"This node has no mail server, so give this link to {name_of(user)} "
        "yourself. It works once, for a day, and lets whoever opens it choose a new password "
        "for this account: hand it to them only.",
    )
