"""Who is looking at a page. Anonymous visitors are sent to the login page.

The principal is also kept on ``request.state`` so that the layout can show who is logged in
and put the CSRF token in every form. Cookie-authenticated form posts are CSRF-checked by
:mod:`node.deps`, the same check the API uses.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

from node.accounts.models import Role
from node.deps import Principal, SessionDep, optional_principal
from node.errors import InvalidInput, PermissionDenied
from node.web.rendering import LoginRequired


async def _page_principal(request: Request, session: SessionDep) -> Principal | None:
    principal = await optional_principal(request, session)
    request.state.principal = principal
    return principal


async def _page_user(
    principal: Annotated[Principal | None, Depends(_page_principal)],
) -> Principal:
    if principal is None:
        raise LoginRequired()
    return principal


def _page_role(role: Role) -> object:
    async def _check(principal: Annotated[Principal, Depends(_page_user)]) -> Principal:
        if not principal.role.includes(role):
            raise PermissionDenied(
                f"This page is for {role.value}s; you are logged in as a {principal.role.value}."
            )
        return principal

    return Depends(_check)


PageVisitor = Annotated[Principal | None, Depends(_page_principal)]
PageUser = Annotated[Principal, Depends(_page_user)]
PageOrganizer = Annotated[Principal, _page_role(Role.organizer)]
PageAdmin = Annotated[Principal, _page_role(Role.admin)]


def _ward_query(ward: str = "") -> int | None:
    """The ``ward`` filter of a list page: empty for any ward, else 1 to 50 in ASCII digits
    (``int`` would take "٣" and choke on "²" or five thousand digits)."""
    ward = ward.strip()
    if not ward:
        return None
    if not re.fullmatch(r"[0-9]{1,2}", ward) or not 1 <= int(ward) <= 50:
        raise InvalidInput("A ward is a number from 1 to 50.", field=["query", "ward"])
    return int(ward)


WardQuery = Annotated[int | None, Depends(_ward_query)]
