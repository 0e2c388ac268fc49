"""Pages about one's own password: changing it (``/account``), accepting an invitation,
"forgot password", and the reset link it sends.

The invitation, forgot and reset forms are used before anyone is logged in, so they carry a
double-submit CSRF token as the login form does (a random value in a SameSite cookie and the
same value in the form). Pages that hold a token in their address are never cached and send
no Referer.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.accounts import invitations, recovery
from node.accounts import service as accounts
from node.accounts.cookies import set_login_cookies
from node.accounts.models import (
    ForgotPassword,
    InvitationAccept,
    PasswordChange,
    PasswordResetRequest,
    User,
)
from node.accounts.throttle import DEVICE_COOKIE, new_device_cookie
from node.config import Settings
from node.deps import SESSION_COOKIE, SessionDep, SettingsDep
from node.errors import NodeError, NotFound
from node.web.deps import PageUser
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()

FORM_CSRF_COOKIE = "ipo_form_csrf"
_PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _plain(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, message in field_errors(exc).items():
        if name == "email":
            message = "Write a whole email address, like ana@example.org."
        errors[name] = message.removeprefix("Value error, ")
    return errors


def _repeat_error(values: dict[str, str], *, field: str, repeat: str) -> dict[str, str]:
    if values.get(field) and values.get(field) != values.get(repeat):
        return {repeat: "The two passwords are not the same: type the new password twice."}
    return {}


def _anonymous_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    private: bool = False,
) -> HTMLResponse:
    """A page for someone not logged in, with a form protected by a double-submit token."""
    token = request.cookies.get(FORM_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, template, {**context, "form_csrf": token}, status_code=status_code)
    response.set_cookie(FORM_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    if private:
        response.headers.update(_PRIVATE_HEADERS)
    return response


def _form_token_ok(request: Request, sent: str) -> bool:
    expected = request.cookies.get(FORM_CSRF_COOKIE, "")
    return bool(expected) and secrets.compare_digest(sent, expected)


def _expired_form(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    return _anonymous_page(
        request,
        template,
        {**context, "problem": "The form expired. Please try again."},
        status_code=403,
        private=True,
    )


def _closed_page(request: Request, exc: NodeError, *, ask: str) -> HTMLResponse:
    title = "This link does not work" if isinstance(exc, NotFound) else "This link no longer works"
    response = render(
        request,
        "link_closed.html",
        {"title": title, "message": exc.message, "ask": ask},
        status_code=exc.status_code,
    )
    response.headers.update(_PRIVATE_HEADERS)
    return response


def _logged_in(response: Response, *, cookie: str, user: User, settings: Settings) -> Response:
    set_login_cookies(
        response,
        session_cookie=cookie,
        device_cookie=new_device_cookie(settings, email=user.email),
        settings=settings,
    )
    return response


# ---- Your account -----------------------------------------------------------------------------


def _account_page(
    request: Request,
    principal: PageUser,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "account.html",
        {"user": principal.user, "errors": errors or {}, "problem": problem},
        status_code=status_code,
    )


@router.get("/account", response_class=HTMLResponse)
async def account_page(request: Request, principal: PageUser) -> HTMLResponse:
    return _account_page(request, principal)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
) -> Response:
    values = {"current_password": current_password, "new_password": new_password,
              "new_password_again": new_password_again}  # fmt: skip
    try:
        data = PasswordChange.model_validate(
            {"current_password": current_password, "new_password": new_password}
        )
    except ValidationError as exc:
        errors = _plain(exc) | _repeat_error(
            values, field="new_password", repeat="new_password_again"
        )
        return _account_page(request, principal, errors=errors, status_code=422)
    if mismatch := _repeat_error(values, field="new_password", repeat="new_password_again"):
        return _account_page(request, principal, errors=mismatch, status_code=422)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    resolved = await accounts.resolve_web_session(session, cookie=cookie)
    changed = await recovery.change_password(
        session,
        settings,
        user=principal.user,
        data=data,
        keep=resolved[1] if resolved else None,
        host=request.client.host if request.client else None,
        device_cookie=request.cookies.get(DEVICE_COOKIE),
    )
    if changed.refusal is not None:
        # Answered, not raised: the request's session commits the failed try it counted.
        refusal = changed.refusal
        page = _account_page(
            request,
            principal,
            errors={"current_password": refusal.message} if refusal.status_code == 422 else {},
            problem=refusal.message if refusal.status_code != 422 else None,
            status_code=refusal.status_code,
        )
        page.headers.update(refusal.headers or {})
        return page
    others = changed.sessions_ended
    ended = (
        f" You were logged out of {others} other browser{'s' if others != 1 else ''}."
        if others
        else ""
    )
    return redirect("/account", notice=f"Your password is changed.{ended}")


# ---- Invitations ------------------------------------------------------------------------------


async def _ask_about(session: SessionDep, settings: Settings, exc: NodeError) -> str:
    invitation = getattr(exc, "invitation", None)
    if invitation is not None and invitation.accepted_at is not None:
        return f"Forgot the password? Ask for a reset link, or ask an admin of {settings.name}."
    inviter = await invitations.inviter_name(session, invitation=invitation) if invitation else None
    if inviter:
        return f"Ask {inviter}, or another admin of {settings.name}, for a new invitation."
    return f"Ask an admin of {settings.name} for a new invitation."


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    try:
        invitation = await invitations.invitation_for_token(session, token=token)
    except (invitations.InvitationNotFound, invitations.InvitationClosed) as exc:
        return _closed_page(request, exc, ask=await _ask_about(session, settings, exc))
    return _anonymous_page(
        request,
        "invitation.html",
        {"invitation": invitation, "token": token, "values": {}, "errors": {}},
        private=True,
    )


@router.post("/invitations/{token}", response_class=HTMLResponse)
async def accept_invitation(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
    form_csrf: Annotated[str, Form()] = "",
) -> Response:
    try:
        invitation = await invitations.invitation_for_token(session, token=token)
    except (invitations.InvitationNotFound, invitations.InvitationClosed) as exc:
        return _closed_page(request, exc, ask=await _ask_about(session, settings, exc))
    values = {"display_name": display_name.strip(), "password": password,
              "password_again": password_again}  # fmt: skip
    context = {"invitation": invitation, "token": token, "values": values, "errors": {}}
    if not _form_token_ok(request, form_csrf):
        return _expired_form(request, "invitation.html", context)
    try:
        data = InvitationAccept.model_validate(
            {"display_name": values["display_name"], "password": password}
        )
    except ValidationError as exc:
        errors = _plain(exc) | _repeat_error(values, field="password", repeat="password_again")
        return _anonymous_page(
            request, "invitation.html", {**context, "errors": errors}, status_code=422,
            private=True,
        )  # fmt: skip
    if mismatch := _repeat_error(values, field="password", repeat="password_again"):
        return _anonymous_page(
            request, "invitation.html", {**context, "errors": mismatch}, status_code=422,
            private=True,
        )  # fmt: skip
    try:
        user = await invitations.accept_invitation(session, token=token, data=data)
    except invitations.InvitationClosed as exc:
        return _closed_page(request, exc, ask=await _ask_about(session, settings, exc))
    cookie, _ = await accounts.start_web_session(
        session, user=user, lifetime=timedelta(days=settings.session_days)
    )
    response = redirect(
        "/calendar",
        notice=f"Welcome, {user.display_name}. Your account is ready and you are logged in.",
    )
    response.delete_cookie(FORM_CSRF_COOKIE, path="/")
    return _logged_in(response, cookie=cookie, user=user, settings=settings)


# ---- Forgot password --------------------------------------------------------------------------


@router.get("/password/forgot", response_class=HTMLResponse)
async def forgot_page(request: Request) -> HTMLResponse:
    return _anonymous_page(request, "password_forgot.html", {"values": {}, "errors": {}})


@router.post("/password/forgot", response_class=HTMLResponse)
async def forgot(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    form_csrf: Annotated[str, Form()] = "",
) -> Response:
    values = {"email": email.strip()}
    context: dict[str, Any] = {"values": values, "errors": {}}
    if not _form_token_ok(request, form_csrf):
        return _expired_form(request, "password_forgot.html", context)
    try:
        address = ForgotPassword.model_validate(values).email
    except ValidationError as exc:
        return _anonymous_page(
            request, "password_forgot.html", {**context, "errors": _plain(exc)}, status_code=422
        )
    try:
        await recovery.forgot_password(
            session,
            settings,
            email=address,
            host=request.client.host if request.client else None,
        )
    except recovery.PasswordResetThrottled as refused:
        page = _anonymous_page(
            request, "password_forgot.html", {**context, "problem": refused.message},
            status_code=429,
        )  # fmt: skip
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    return redirect("/password/forgot/sent")


@router.get("/password/forgot/sent", response_class=HTMLResponse)
async def forgot_sent(request: Request) -> HTMLResponse:
    return render(request, "password_forgot.html", {"sent": True, "values": {}, "errors": {}})


# ---- Reset link -------------------------------------------------------------------------------


def _reset_ask(settings: Settings) -> str:
    return (
        "Ask for a new link on the “Forgot your password?” page, or ask an admin of "
        f"{settings.name} to make you one."
    )


@router.get("/password/reset/{token}", response_class=HTMLResponse)
async def reset_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    try:
        _, user = await recovery.reset_for_token(session, token=token)
    except (recovery.ResetLinkNotFound, recovery.ResetLinkClosed) as exc:
        return _closed_page(request, exc, ask=_reset_ask(settings))
    return _anonymous_page(
        request,
        "password_reset.html",
        {"user": user, "token": token, "errors": {}},
        private=True,
    )


@router.post("/password/reset/{token}", response_class=HTMLResponse)
async def reset(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
    form_csrf: Annotated[str, Form()] = "",
) -> Response:
    try:
        _, user = await recovery.reset_for_token(session, token=token)
    except (recovery.ResetLinkNotFound, recovery.ResetLinkClosed) as exc:
        return _closed_page(request, exc, ask=_reset_ask(settings))
    context: dict[str, Any] = {"user": user, "token": token, "errors": {}}
    if not _form_token_ok(request, form_csrf):
        return _expired_form(request, "password_reset.html", context)
    values = {"password": password, "password_again": password_again}
    try:
        PasswordResetRequest.model_validate({"token": token, "password": password})
    except ValidationError as exc:
        errors = _plain(exc) | _repeat_error(values, field="password", repeat="password_again")
        return _anonymous_page(
            request, "password_reset.html", {**context, "errors": errors}, status_code=422,
            private=True,
        )  # fmt: skip
    if mismatch := _repeat_error(values, field="password", repeat="password_again"):
        return _anonymous_page(
            request, "password_reset.html", {**context, "errors": mismatch}, status_code=422,
            private=True,
        )  # fmt: skip
    try:
        user = await recovery.reset_password(session, token=token, password=password)
    except recovery.ResetLinkClosed as exc:
        return _closed_page(request, exc, ask=_reset_ask(settings))
    cookie, _ = await accounts.start_web_session(
        session, user=user, lifetime=timedelta(days=settings.session_days)
    )
    response = redirect(
        "/calendar",
        notice="Your new password is set and you are logged in. Every other browser you "
        "were logged in on is logged out.",
    )
    response.delete_cookie(FORM_CSRF_COOKIE, path="/")
    return _logged_in(response, cookie=cookie, user=user, settings=settings)
