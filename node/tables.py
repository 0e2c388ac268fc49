"""Imports every table module, so ``SQLModel.metadata`` is complete for Alembic and tests."""

from node.accounts import models as accounts_models
from node.audit import models as audit_models

__all__ = ["accounts_models", "audit_models"]
