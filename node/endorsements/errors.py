"""Why an endorsement request or activity was refused.

They derive from ``FederationError`` because the same refusals answer a peer's activity in the
inbox (rolled back, nothing kept) and a local admin's request; the one error handler renders
both as ``{"error": {"code", "message"}}``::

    EndorsementNotFound (404)       no such endorsement here (or a draft a member cannot see)
    NotARequiredSigner (403)        this node or the sender is not among the required signers
    NotTheProposer (409)            only the proposing node changes it
    EndorsementClosed (409)         a draft, withdrawn or expired endorsement takes no answer
    WrongContentVersion (409)       the answer is for another content version
    NotPublishable (409)            not ratified, or not this group's: cannot go on its public home
    VoteConflict (409)              a member vote is open, already held, or did not pass
    BallotsUnreadable (409)         the sealed ballots do not open with this node's secret_key
    SignatureRefused (422)          a signature does not verify (or a replica carries one)
    InvalidEndorsement (422)        a rule the schema cannot express
"""

from __future__ import annotations

from federation.errors import FederationError, Forbidden


class EndorsementNotFound(FederationError):
    status_code = 404
    code = "endorsement_not_found"
    default_message = "No such endorsement on this node."


class NotARequiredSigner(Forbidden):
    code = "not_a_required_signer"
    default_message = "Only the endorsement's required signers can answer it."


class NotTheProposer(FederationError):
    status_code = 409
    code = "endorsement_not_local"
    default_message = "Only the proposing node can change this endorsement."


class EndorsementClosed(FederationError):
    status_code = 409
    code = "endorsement_closed"
    default_message = "This endorsement takes no answers now."


class WrongContentVersion(FederationError):
    status_code = 409
    code = "wrong_content_version"
    default_message = "The answer is for another version of the text."


class NotPublishable(FederationError):
    status_code = 409
    code = "endorsement_not_publishable"
    default_message = (
        "Only a ratified endorsement that this group proposed or signed can be on its public page."
    )


class VoteConflict(FederationError):
    status_code = 409
    code = "vote_conflict"
    default_message = "The member vote does not allow this now."


class BallotsUnreadable(FederationError):
    status_code = 409
    code = "ballots_unreadable"
    default_message = "The vote's sealed ballots cannot be opened with this node's secret_key."


class SignatureRefused(FederationError):
    status_code = 422
    code = "endorsement_signature_invalid"
    default_message = "A signature does not verify against its signer's published keys."


class InvalidEndorsement(FederationError):
    status_code = 422
    code = "invalid_endorsement"
    default_message = "The endorsement is not valid."
