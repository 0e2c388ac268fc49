"""Members: the rules for keeping, exporting and erasing member records (importing is
``node.members.imports``).

Every change by an organizer is written to the audit log in the same transaction. Audit
details carry ids, counts and field names only: the log outlives an erased member, so it must
not hold their name, email or phone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage import utcnow
from node.accounts import service as accounts
from node.accounts.models import Role, User, UserPublic
from node.audit.service import Actor, record
from node.canvass import service as canvass
from node.config import Settings
from node.errors import Conflict, InvalidInput, NotFound
from node.members import csv_io, repository
from node.members.models import (
    ErasureReceipt,
    Member,
    MemberCreate,
    MemberDataExport,
    MemberPublic,
    MemberUpdate,
    MyData,
    member_values,
)
from node.members.repository import MemberFilters
from node.pagination import paginate
from node.rsvps import service as rsvps


class MemberNotFound(NotFound):
    code = "member_not_found"


class MemberEmailTaken(Conflict):
    code = "member_email_taken"

    def __init__(self) -> None:
        super().__init__(
            "Another member already has this email; update that member instead.",
            field=["body", "email"],
        )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def get_member(session: AsyncSession, *, member_id: int) -> Member:
    member = await repository.get(session, member_id=member_id)
    if member is None:
        raise MemberNotFound(f"No member {member_id} on this node.")
    return member


async def list_members(
    session: AsyncSession, *, filters: MemberFilters, limit: int, cursor: str | None
) -> tuple[list[Member], str | None]:
    if filters.updated_since is not None and filters.updated_since.tzinfo is None:
        raise InvalidInput(
            "Give updated_since with a time zone, e.g. 2026-03-15T00:00:00Z.",
            field=["query", "updated_since"],
        )
    query = repository.members_query(filters, dialect=_dialect(session))
    return await paginate(session, query, order_by=[Member.id], limit=limit, cursor=cursor)


async def _flush_unique(session: AsyncSession) -> None:
    # The check before writing covers the usual case; this covers two requests racing.
    try:
        await session.flush()
    except IntegrityError:
        raise MemberEmailTaken() from None


async def create_member(session: AsyncSession, *, data: MemberCreate, actor: Actor) -> Member:
    values = member_values(data)
    if values.get("joined_date") is None:
        values.pop("joined_date", None)  # the table's default: today
    if values.get("email") and await repository.by_email(session, email=values["email"]):
        raise MemberEmailTaken()
    member = Member(**values)
    session.add(member)
    await _flush_unique(session)
    await record(
        session,
        actor=actor,
        action="member.create",
        object_type="member",
        object_id=member.id,
    )
    return member


def _apply(member: Member, values: dict[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(member, name) != value]
    for name in changed:
        setattr(member, name, values[name])
    if changed:
        member.updated_at = utcnow()
    return sorted(changed)


async def update_member(
    session: AsyncSession, *, member_id: int, data: MemberUpdate, actor: Actor
) -> Member:
    member = await get_member(session, member_id=member_id)
    values = member_values(data)
    email = values.get("email")
    if email and email != member.email:
        other = await repository.by_email(session, email=email)
        if other is not None:
            raise MemberEmailTaken()
    changed = _apply(member, values)
    session.add(member)
    await _flush_unique(session)
    await record(
        session,
        actor=actor,
        action="member.update",
        object_type="member",
        object_id=member.id,
        detail={"fields": changed},
    )
    return member


async def delete_member(session: AsyncSession, *, member_id: int, actor: Actor) -> None:
    """Erase a member record for good: the row is deleted, not hidden, and the audit log
    keeps only its id.

    A login with the same email stays open (closing it is its owner's or an admin's act),
    and so do its canvass sign-ups; but what the record lent them (her first name, her
    phone) leaves the activities this node keeps or has yet to send, and this node's own
    rosters (``canvass.forget_contact_of``).
    """
    member = await get_member(session, member_id=member_id)
    user = await accounts.get_user_by_email(session, email=member.email) if member.email else None
    signups = await canvass.forget_contact_of(session, user=user) if user is not None else 0
    await session.delete(member)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="member.delete",
        object_type="member",
        object_id=member_id,
        detail={"canvass_signups_forgotten": signups},
    )


async def export_member(session: AsyncSession, *, member_id: int, actor: Actor) -> MemberDataExport:
    member = await get_member(session, member_id=member_id)
    user = await accounts.get_user_by_email(session, email=member.email) if member.email else None
    await record(
        session, actor=actor, action="member.export", object_type="member", object_id=member_id
    )
    return MemberDataExport(
        member=MemberPublic.of(member),
        account=UserPublic.model_validate(user, from_attributes=True) if user else None,
        exported_at=utcnow(),
    )


async def export_csv(session: AsyncSession, *, actor: Actor) -> str:
    members = await repository.all_members(session)
    await record(
        session,
        actor=actor,
        action="member.export_csv",
        object_type="member",
        detail={"count": len(members)},
    )
    return csv_io.write_csv(members)


# ---- a person's own data ----------------------------------------------------------------------


async def my_data(session: AsyncSession, *, user: User) -> MyData:
    members = await _members_of(session, user=user)
    return MyData(
        account=UserPublic.model_validate(user, from_attributes=True),
        members=[MemberPublic.of(m) for m in members],
        exported_at=utcnow(),
    )


async def _members_of(session: AsyncSession, *, user: User) -> list[Member]:
    member = await repository.by_email(session, email=user.email)
    return [member] if member is not None else []


async def erase_me(
    session: AsyncSession, *, user: User, actor: Actor, settings: Settings
) -> ErasureReceipt:
    """Delete the caller's member record and close their account for good.

    The account row is kept but scrubbed (email, name, password) rather than deleted, so rows
    of other domains that point at it stay valid while nothing personal remains. Her canvass
    sign-ups are withdrawn first, in the same transaction, exactly as she would withdraw each
    herself: every host that holds her name or contact is told to drop it (the outbox then
    delivers it even after her account is gone), and this node's own activity log forgets them.
    """
    if user.role == Role.admin and user.is_active and await accounts.count_admins(session) <= 1:
        raise Conflict(
            "You are this node's last admin; make another admin before erasing your account."
        )
    withdrawn = await canvass.withdraw_everything(session, user=user, settings=settings)
    rsvps_deleted = await rsvps.forget(session, email=user.email, settings=settings)
    members = await _members_of(session, user=user)
    member_ids = [m.id for m in members]
    for member in members:
        await session.delete(member)
    await accounts.revoke_all_credentials(session, user_id=user.id)
    user.email = f"erased-{user.id}@erased.invalid"
    user.display_name = ""
    user.password_hash = "!erased"  # noqa: S105 -- matches no password: Argon2 refuses it
    user.is_active = False
    session.add(user)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="account.erase",
        object_type="user",
        object_id=user.id,
        detail={
            "member_ids": member_ids,
            "canvass_signups": [w.id for w in withdrawn],
            "rsvps_deleted": rsvps_deleted,
        },
    )
    return ErasureReceipt(
        members_erased=len(members), account_closed=True, canvass_signups_withdrawn=withdrawn
    )
