"""Every page router, in the order they must be matched (``/x/new`` before ``/x/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from node.web import (
    account,
    accounts,
    alliances,
    auth,
    calendar,
    calendar_feed,
    canvass,
    canvass_forms,
    endorsement_forms,
    endorsements,
    events,
    forum_forms,
    forums,
    mail,
    members,
    partners,
    profile_settings,
    public_home,
    votes,
)

PAGE_ROUTERS: tuple[APIRouter, ...] = (
    public_home.router,
    auth.router,
    calendar.router,
    events.router,
    calendar_feed.router,
    endorsement_forms.router,
    endorsements.router,
    canvass_forms.router,
    canvass.router,
    forum_forms.router,
    forums.router,
    alliances.router,
    members.router,
    partners.router,
    mail.router,
    profile_settings.router,
    votes.router,
    accounts.router,
    account.router,
)
