"""Cursor pagination: the one way every list on this node is paged.

Keyset pagination over a stable, unique ordering (the last ordering column is always a unique
id), so a page never repeats or skips a row when rows are added while a client pages. The
cursor is opaque to clients: base64url of the last row's ordering values. A cursor is
anyone's to forge, so each value it holds must fit its column (an integer of 64 bits, an aware
time, a string without NUL) before it reaches SQL; anything else is a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from node.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
INT64 = range(-(2**63), 2**63)
BAD_CURSOR = "This cursor is not valid; start again without `cursor`."


class Page(BaseModel, Generic[T]):
    """One page of a list. Follow ``next`` until it is null."""

    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
    next: str | None = Field(description="The URL of the next page, or null on the last page.")


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = [{"dt": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(encoded, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, width: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != width:
            raise ValueError("wrong shape")
        return [datetime.fromisoformat(v["dt"]) if isinstance(v, dict) else v for v in values]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidInput(BAD_CURSOR, field=["query", "cursor"]) from None


def _fits(value: Any, column: Any) -> bool:
    """Whether a decoded cursor value can be compared with ``column`` in SQL."""
    sql_type = column.type
    if isinstance(sql_type, sa.types.TypeDecorator):
        sql_type = sql_type.impl_instance
    if isinstance(sql_type, sa.Integer):
        return isinstance(value, int) and not isinstance(value, bool) and value in INT64
    if isinstance(sql_type, sa.DateTime):
        return isinstance(value, datetime) and value.tzinfo is not None
    if isinstance(sql_type, sa.String):
        return isinstance(value, str) and "\x00" not in value
    return False  # an ordering column of another type needs a rule here first


async def paginate(
    session: AsyncSession,
    query: Select[Any],
    *,
    order_by: Sequence[Any],
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """Run ``query`` for one page; returns the rows and the cursor of the next page.

    ``order_by`` must end with a unique column. All columns sort the same direction.
    """
    if cursor:
        after = decode_cursor(cursor, width=len(order_by))
        if not all(_fits(value, column) for value, column in zip(after, order_by, strict=True)):
            raise InvalidInput(BAD_CURSOR, field=["query", "cursor"])
        key = tuple_(*order_by)
        query = query.where(key < tuple_(*after) if descending else key > tuple_(*after))
    ordering = [column.desc() if descending else column.asc() for column in order_by]
    result = await session.execute(query.order_by(*ordering).limit(limit + 1))
    rows = list(result.scalars())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, column.key) for column in order_by])


def next_link(request: Request, next_cursor: str | None) -> str | None:
    if next_cursor is None:
        return None
    return str(request.url.include_query_params(cursor=next_cursor))
