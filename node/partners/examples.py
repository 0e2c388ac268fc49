"""Example answers of the partner API, shown in its OpenAPI document and docs page."""

from __future__ import annotations

from typing import Any

_NODE = "https://33wf.example"
_ALLY = "https://30thunited.example"
_WHEN = "2026-03-01T18:00:00Z"
_ORIGIN = {"id": _NODE, "name": "33rd Ward Working Families", "relation": "self"}
_ALLY_REF = {"id": _ALLY, "name": "30th United", "relation": "ally"}
_LOCATION = {
    "venue": "Horner Park fieldhouse",
    "address_lines": ["2741 W Montrose Ave"],
    "locality": "Chicago",
    "region": "IL",
    "postal_code": "60618",
    "location": {"latitude": 41.961, "longitude": -87.695},
}


def _shared(kind: str, key: str) -> dict[str, Any]:
    return {
        "id": key,
        "identifiers": [f"ipo-node:{_NODE}/{kind}/{key}"],
        "origin": _ORIGIN,
        "version": 2,
        "created_date": _WHEN,
        "modified_date": _WHEN,
    }


_EVENT_FIELDS = {
    "title": "Strike support at the Kedzie depot",
    "description": "Bring water and signs.",
    "start_date": "2026-03-07T15:00:00Z",
    "end_date": "2026-03-07T18:00:00Z",
    "timezone": "America/Chicago",
    "location": _LOCATION,
    "virtual_action_url": None,
    "status": "confirmed",
    "visibility": "public",
    "capacity": 80,
}

EXAMPLES: dict[str, Any] = {
    "organization": {
        "id": _NODE,
        "identifiers": [f"ipo-node:{_NODE}"],
        "name": "33rd Ward Working Families",
        "org_type": "ipo",
        "wards": [33],
        "relation": "self",
        "key_ids": ["yN0r3kq8c8pX2wq1l0bJt2Qy5bHkqf0a3Qm1o6b7c1E"],
        "shares": ["canvass", "endorsements", "events", "forums"],
    },
    "event": {
        **_shared("events", "5f0c6d7e-3b1a-4c2e-9f00-1a2b3c4d5e6f"),
        **_EVENT_FIELDS,
        "event_type": "STRIKE_SUPPORT",
        "wards": [33, 35],
        "precincts": ["12"],
    },
    "forum": {
        **_shared("forums", "0b5e1f7a-6c2d-4e8f-9a1b-2c3d4e5f6a7b"),
        **_EVENT_FIELDS,
        "title": "Northwest side mayoral forum",
        "event_type": "FORUM",
        "languages": ["English", "Spanish"],
        "interpretation": "Spanish interpretation on headsets.",
        "accessibility_notes": "Step-free entrance on Montrose.",
        "co_hosts": [{"organization": _ALLY_REF, "status": "accepted"}],
        "roles": [{"name": "moderator", "assigned_to": _ALLY_REF}],
        "candidate_invitations": [{"name": "A. Candidate", "race": "Mayor", "status": "confirmed"}],
        "agenda_items": [{"title": "Opening statements", "position": 0, "duration_minutes": 15}],
    },
    "endorsement": {
        **_shared("endorsements", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"),
        "candidate": {"name": "A. Candidate", "campaign_url": "https://candidate.example"},
        "position": None,
        "race": {
            "office": "mayor",
            "district": "citywide",
            "election_date": "2027-02-23",
            "election_type": "general",
        },
        "statement": "We endorse A. Candidate for mayor.",
        "tier": "endorse",
        "status": "ratified",
        "proposer": _ORIGIN,
        "required_signers": [_ORIGIN, _ALLY_REF],
        "decision_rule": {"kind": "all", "threshold": None, "needed": 2},
        "deadline": None,
        "content_version": 1,
        "signed": 2,
        "signatures": [
            {
                "signer": _ALLY_REF,
                "decision": "sign",
                "content_version": 1,
                "current": True,
                "verified": True,
                "signed_at": _WHEN,
                "vote_summary": {"eligible": 40, "cast": 31, "yes": 27, "no": 3},
                "jws": "eyJhbGciOiJFZDI1NTE5Iiwia2lkIjoi...In0..c2lnbmF0dXJl",
            }
        ],
        "bundle_url": f"{_NODE}/api/v1/partner/endorsements/9d8c7b6a/bundle",
    },
    "bundle": {
        "type": "EndorsementBundle",
        "bundle_version": 1,
        "exported_by": _NODE,
        "endorsement": {"type": "JointEndorsement", "id": f"{_NODE}/endorsements/9d8c7b6a"},
        "keys": {_ALLY: {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "...", "x": "..."}]}},
    },
    "canvass_call": {
        **_shared("canvass-calls", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"),
        "title": "Saturday doors for the 33rd",
        "campaign": {"kind": "candidate", "name": "A. Candidate for alderperson"},
        "wards": [33],
        "turf_description": "Albany Park, west of Kedzie.",
        "staging_location": _LOCATION,
        "languages_needed": ["Spanish"],
        "materials": "Lit and clipboards provided.",
        "status": "active",
        "expires_at": "2026-03-14T20:00:00Z",
        "shifts": [
            {
                "identifiers": [f"ipo-node:{_NODE}/canvass-calls/7a6b5c4d/shifts/1"],
                "start_date": "2026-03-14T15:00:00Z",
                "end_date": "2026-03-14T18:00:00Z",
                "capacity": 20,
                "committed": 14,
                "waitlisted": 0,
                "remaining": 6,
                "status": "open",
            }
        ],
        "reports": [
            {
                "identifiers": [f"ipo-node:{_NODE}/canvass-reports/1"],
                "shift": [f"ipo-node:{_NODE}/canvass-calls/7a6b5c4d/shifts/1"],
                "precincts": [
                    {"precinct": "7", "doors_knocked": 212, "conversations": 48, "signups": None}
                ],
                "published_date": "2026-03-14T20:30:00Z",
            }
        ],
    },
    "deleted": {
        "id": "5f0c6d7e-3b1a-4c2e-9f00-1a2b3c4d5e6f",
        "identifiers": [f"ipo-node:{_NODE}/events/5f0c6d7e-3b1a-4c2e-9f00-1a2b3c4d5e6f"],
        "object_type": "event",
        "origin": _ORIGIN,
        "version": 4,
        "deleted_date": _WHEN,
    },
}

_CLIENT_ID = "pc_2Sq0Xa1UYbnC5v8Z"
_SUBSCRIPTION = {
    "id": "sub_9931f165ed024015b41391a25d091445",
    "client_id": _CLIENT_ID,
    "url": "https://data.local73.org/hooks/ipo",
    "event_types": ["endorsement.ratified", "endorsement.withdrawn"],
    "created_at": _WHEN,
    "is_enabled": True,
    "disabled_at": None,
    "disabled_reason": None,
    "consecutive_failures": 0,
    "next_attempt_at": None,
}
_TEST_DELIVERY = {
    "message_id": "msg_18a2a7f06eef4a9abdca84aff1d41cd6",
    "event_type": "webhook.test",
    "status": "pending",
    "created_at": _WHEN,
    "attempts": 0,
    "last_attempt_at": None,
    "last_status": None,
    "last_error": None,
    "next_attempt_at": _WHEN,
    "delivered_at": None,
    "given_up_at": None,
}
_DELIVERED = {
    **_TEST_DELIVERY,
    "message_id": "msg_0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
    "event_type": "endorsement.ratified",
    "status": "delivered",
    "attempts": 1,
    "last_attempt_at": _WHEN,
    "last_status": 204,
    "next_attempt_at": None,
    "delivered_at": _WHEN,
}

# The webhook subscription routes' answers (node/webhooks/router.py).
WEBHOOK_EXAMPLES: dict[str, Any] = {
    "subscription": _SUBSCRIPTION,
    "created": {**_SUBSCRIPTION, "secret": "whsec_73lAe2EtOl4JZE6wrERLHax0TQT0FO8R"},
    "list": {"items": [_SUBSCRIPTION]},
    "detail": {**_SUBSCRIPTION, "recent_deliveries": [_TEST_DELIVERY, _DELIVERED]},
    "test_delivery": _TEST_DELIVERY,
}

# ``POST /oauth/token`` (node/partners/oauth.py): RFC 6749 section 5.1 and 5.2 bodies.
TOKEN_EXAMPLES: dict[str, Any] = {
    "request": {"grant_type": "client_credentials", "scope": "events:read forums:read"},
    "token": {
        "token_type": "Bearer",
        "access_token": "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJpc3Mi...fQ.c2lnbmF0dXJl",
        "expires_in": 900,
        "scope": "events:read forums:read",
    },
    "whoami": {
        "client_id": _CLIENT_ID,
        "name": "SEIU Local 73",
        "scopes": ["events:read", "forums:read"],
        "token_expires_at": "2026-03-01T18:15:00Z",
    },
}
