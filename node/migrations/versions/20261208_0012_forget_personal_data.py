"""forget personal data already stored in activity logs and spent commitments

Revision ID: 0012
Revises: 0011
Created: 2026-12-08

Until now both activity logs kept a volunteer's first name and contact for ever: the outbox
body of every Join her node sent, and the inbox body of every Join a host received. From this
revision on they keep them only while needed (``federation.retention``); this upgrade applies
that rule to what is already stored: an outbox body whose deliveries are all final, and an
inbox body that was applied or given up, lose the personal fields; a host's commitments that
hold no place any more (refused, cancelled, withdrawn) lose her name and contact. A body still
needed (a delivery pending, a handler to retry) is left for the running node to redact.

The personal fields are written out here rather than imported, so that this revision keeps
doing what it did when it was written. Nothing can be restored on downgrade.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PERSONAL_FIELDS = {"CanvassCommitment": ("given_name", "contact")}
MAX_INBOX_ATTEMPTS = 8  # federation.inbox: a failed activity is given up after this many

outbox = sa.table(
    "outbox_activity", sa.column("id"), sa.column("object_type"), sa.column("body")
)
delivery = sa.table("delivery", sa.column("activity_pk"), sa.column("state"))
inbox = sa.table(
    "inbox_activity", sa.column("id"), sa.column("body"), sa.column("state"), sa.column("attempts")
)
commitment = sa.table(
    "canvass_commitment",
    sa.column("state"),
    sa.column("given_name"),
    sa.column("email"),
    sa.column("phone"),
)


def _redacted(body: str) -> str | None:
    try:
        activity: Any = json.loads(body)
    except ValueError:
        return None
    embedded = activity.get("object") if isinstance(activity, dict) else None
    if not isinstance(embedded, dict):
        return None
    present = [name for name in PERSONAL_FIELDS.get(embedded.get("type", ""), ()) if name in embedded]
    if not present:
        return None
    for name in present:
        del embedded[name]
    return json.dumps(activity, ensure_ascii=False, separators=(",", ":"))


def _redact(table: sa.TableClause, rows: list[tuple[int, str]]) -> None:
    bind = op.get_bind()
    for row_id, body in rows:
        kept = _redacted(body)
        if kept is not None:
            bind.execute(sa.update(table).where(table.c.id == row_id).values(body=kept))


def upgrade() -> None:
    bind = op.get_bind()
    pending = sa.select(delivery.c.activity_pk).where(delivery.c.state == "pending")
    sent = bind.execute(
        sa.select(outbox.c.id, outbox.c.body)
        .where(outbox.c.object_type.in_(list(PERSONAL_FIELDS)))
        .where(outbox.c.id.not_in(pending))
    )
    _redact(outbox, [(row.id, row.body) for row in sent])
    received = bind.execute(
        sa.select(inbox.c.id, inbox.c.body)
        .where(
            (inbox.c.state == "processed") | (inbox.c.attempts >= MAX_INBOX_ATTEMPTS)
        )
        .where(sa.or_(*(inbox.c.body.contains(f'"{name}"') for name in PERSONAL_FIELDS)))
    )
    _redact(inbox, [(row.id, row.body) for row in received])
    bind.execute(
        sa.update(commitment)
        .where(commitment.c.state.in_(["refused", "cancelled", "withdrawn"]))
        .values(given_name=None, email=None, phone=None)
    )


def downgrade() -> None:
    pass  # what was forgotten stays forgotten
