"""Who is looking at a page. Anonymous visitors are sent to the login page.

The principal is also kept on ``request.state`` so that the layout can show who is logged in
and put the CSRF token in every form. Cookie-authenticated form posts are CSRF-checked by
:mod:`node.deps`, the same check the API uses.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from node.accounts.models import Role
from node.deps import Principal, SessionDep, optional_principal
from node.errors import PermissionDenied
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
