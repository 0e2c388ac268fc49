"""The admins' page for the group's public profile (``/settings/profile``): the about text and
the contact address shown on the public home. Same rules as ``node.profile.models``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from node.deps import SessionDep, SettingsDep
from node.profile import service
from node.profile.models import ABOUT_MAX, ProfileUpdate
from node.web.deps import PageAdmin
from node.web.public_home import wards_in_words
from node.web.rendering import field_errors, page_router, redirect, render

router = page_router()
FIELDS = ("about", "contact_email")


def _page(
    request: Request,
    values: dict[str, Any],
    *,
    wards: str,
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "settings_profile.html",
        {"values": values, "errors": errors or {}, "wards": wards, "about_max": ABOUT_MAX},
        status_code=422 if errors else 200,
    )


@router.get("/settings/profile", response_class=HTMLResponse)
async def profile_page(
    request: Request, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    del principal
    profile = await service.get_profile(session)
    values = {"about": profile.about, "contact_email": profile.contact_email or ""}
    return _page(request, values, wards=wards_in_words(settings.wards))


@router.post("/settings/profile", response_class=HTMLResponse)
async def save_profile(
    request: Request, principal: PageAdmin, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    values = {name: str(form.get(name, "")) for name in FIELDS}
    try:
        data = ProfileUpdate.model_validate(values)
    except ValidationError as exc:
        # The rules speak for themselves; pydantic only prefixes them with "Value error, ".
        errors = {k: v.removeprefix("Value error, ") for k, v in field_errors(exc).items()}
        return _page(request, values, wards=wards_in_words(settings.wards), errors=errors)
    await service.update_profile(session, data=data, actor=principal.actor)
    return redirect("/settings/profile", notice="Saved. The public home shows it now.")
