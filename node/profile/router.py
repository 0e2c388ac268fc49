"""HTTP routes of the group profile: anyone reads it (it is on the public home); admins
replace it, with the rules the settings page uses."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from node.deps import AdminUser, SessionDep, SettingsDep
from node.errors import ERROR_RESPONSES
from node.profile import service
from node.profile.models import GroupProfile, ProfileUpdate

router = APIRouter(prefix="/api/v1/profile", tags=["profile"], responses=ERROR_RESPONSES)


class ProfilePublic(BaseModel):
    """What the public home shows of the group: its settings' name and wards, and the
    profile its admins write."""

    name: str
    wards: list[int]
    about: str
    contact_email: str | None


def _public(profile: GroupProfile, settings: SettingsDep) -> ProfilePublic:
    return ProfilePublic(
        name=settings.name,
        wards=list(settings.wards),
        about=profile.about,
        contact_email=profile.contact_email,
    )


@router.get("", response_model=ProfilePublic)
async def get_profile(session: SessionDep, settings: SettingsDep) -> ProfilePublic:
    """The group's public profile (no login: it is what the public home shows)."""
    return _public(await service.get_profile(session), settings)


@router.put("", response_model=ProfilePublic)
async def replace_profile(
    body: ProfileUpdate, principal: AdminUser, session: SessionDep, settings: SettingsDep
) -> ProfilePublic:
    """Replace the about text and contact address (admins). `about` is plain text, a blank
    line between paragraphs, up to 5,000 characters; `contact_email` one address, or null."""
    profile = await service.update_profile(session, data=body, actor=principal.actor)
    return _public(profile, settings)
