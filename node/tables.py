"""Imports every table module, so ``SQLModel.metadata`` is complete for Alembic and tests."""

from federation import models as federation_models
from node.accounts import models as accounts_models
from node.audit import models as audit_models
from node.canvass import models as canvass_models
from node.endorsements import models as endorsements_models
from node.events import models as events_models
from node.forums import models as forums_models
from node.mail import models as mail_models
from node.members import models as members_models
from node.partners import models as partners_models
from node.profile import models as profile_models
from node.rsvps import models as rsvps_models
from node.webhooks import models as webhooks_models

__all__ = [
    "accounts_models",
    "audit_models",
    "canvass_models",
    "endorsements_models",
    "events_models",
    "federation_models",
    "forums_models",
    "mail_models",
    "members_models",
    "partners_models",
    "profile_models",
    "rsvps_models",
    "webhooks_models",
]
