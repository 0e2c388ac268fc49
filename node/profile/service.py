"""Reading and changing the group profile. The change is audited (field names only)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.audit.service import Actor, record
from node.profile.models import PROFILE_ROW, GroupProfile, ProfileUpdate


async def get_profile(session: AsyncSession) -> GroupProfile:
    """The profile; an empty one (not stored) until an admin first saves it."""
    return await session.get(GroupProfile, PROFILE_ROW) or GroupProfile()


async def update_profile(
    session: AsyncSession, *, data: ProfileUpdate, actor: Actor
) -> GroupProfile:
    profile = await session.get(GroupProfile, PROFILE_ROW)
    if profile is None:
        profile = GroupProfile()
        session.add(profile)
    changed = sorted(
        name for name, value in data.model_dump().items() if getattr(profile, name) != value
    )
    for name in changed:
        setattr(profile, name, getattr(data, name))
    profile.updated_at = utcnow()
    profile.updated_by = actor.user_id
    await session.flush()
    await record(
        session,
        actor=actor,
        action="profile.update",
        object_type="group_profile",
        object_id=PROFILE_ROW,
        detail={"fields": changed},
    )
    return profile
