"""Every page router, in the order they must be matched (``/x/new`` before ``/x/{id}``)."""

from __future__ import annotations

from fastapi import APIRouter

from node.web import (
    account,
    accounts,
    alliances,
    attendees,
    auth,
    calendar,
    calendar_feed,
    canvass,
    canvass_forms,
    endorsement_forms,
    endorsements,
    event_page,
    events,
    forum_forms,
    forums,
    mail,
    members,
    partners,
    profile_settings,
    public_home,
    rsvp_page,
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
    # After any /events/new or /events/{id}/edit page: /events/{id} takes any id.
    attendees.router,
    event_page.router,
    rsvp_page.router,
)
