"""API shapes of alliances and delivery health (the tables live in federation.models)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from federation.models import AllianceState
from federation.policies import ALL_SCOPES


class AllianceCreate(BaseModel):
    url: str = Field(
        description="The other node's public base URL, e.g. https://ward30.example.org"
    )
    scopes: list[str] = Field(
        default_factory=lambda: list(ALL_SCOPES),
        description="What this node will share: events, endorsements, forums, canvass.",
    )
    message: str | None = Field(default=None, max_length=2000)

    model_config = {"extra": "forbid"}


class DeliveryHealth(BaseModel):
    queued: int = Field(description="Deliveries waiting to be sent to this peer.")
    failed: int = Field(description="Deliveries given up on; retry sends them again.")
    consecutive_failures: int
    paused: bool = Field(description="Failed 10 times in a row; still retried on schedule.")
    next_attempt_at: datetime | None
    last_error: str | None
    last_success_at: datetime | None


class AlliancePublic(BaseModel):
    id: int
    node_id: str
    name: str
    kind: str
    wards: list[int]
    state: AllianceState
    scopes: list[str]
    key_fingerprints: list[str] = Field(
        description="The kids (RFC 7638 thumbprints) of the peer's published keys: compare "
        "them with what the other admin reads from `ipo-node init` or their node page."
    )
    message: str | None
    state_changed_at: datetime
    suspended_by_peer_at: datetime | None = Field(
        description="Since when the peer says it has suspended the alliance on its side "
        "(FEDERATION.md 6.6): it holds what it sends and refuses what this node sends, which "
        "waits here and is retried. Null when it has not, or once it resumed."
    )
    reason: str | None = Field(
        description="Why the alliance is in this state, when the state alone does not say: "
        "an alliance that ended because the two offers shared no scope (`scopes` is then empty)."
    )
    delivery: DeliveryHealth


class RetryResult(BaseModel):
    requeued: int
