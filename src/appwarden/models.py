"""Every table, imported in one place so migrations and ``create_all`` see them all."""

from appwarden.api.idempotency import IdempotencyRecord
from appwarden.audit.models import AuditEvent
from appwarden.auth.models import ApiToken, SignInFailure, User
from appwarden.db import Base

__all__ = ["ApiToken", "AuditEvent", "Base", "IdempotencyRecord", "SignInFailure", "User"]
