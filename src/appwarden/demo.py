"""Demo data for `make run`: a user per role, and the publishers and apps of the 2023 bans.

Nothing here is invented evidence: apps are listed by their public identifiers, and an
assessment is shown only for a file the demo can actually read and vet (the fixture apps,
when they are beside the checkout). Credentials are random, written once to
``demo-credentials.txt`` in the data directory (mode 0600) and printed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.models import User
from appwarden.auth.roles import Role
from appwarden.clock import Clock

DEMO_USERS: tuple[tuple[str, str, Role], ...] = (
    ("ana", "Ana Analyst", Role.analyst),
    ("alex", "Alex Approver", Role.approver),
    ("olu", "Olu Operator", Role.operator),
    ("aude", "Aude Auditor", Role.auditor),
    ("root", "Root Admin", Role.admin),
)


@dataclass(frozen=True)
class Credential:
    username: str
    role: Role
    password: str
    totp_secret: str | None

    def line(self) -> str:
        totp = f"  totp-secret {self.totp_secret}" if self.totp_secret else ""
        return f"{self.role.value:9} {self.username:6} password {self.password}{totp}"


def seed_users(session: Session, *, clock: Clock, key: bytes) -> list[Credential]:
    """Create the demo users if the database has none; return their credentials."""
    if session.scalar(select(func.count()).select_from(User)):
        return []
    credentials = []
    for username, name, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user, secret = auth.create_user(
            session,
            clock=clock,
            username=username,
            display_name=name,
            role=role,
            password=password,
        )
        audit.append(
            session,
            key=key,
            clock=clock,
            actor="system",
            action="user.create",
            object_type="user",
            object_id=user.id,
            after={"username": username, "role": role.value, "demo": True},
        )
        credentials.append(Credential(username, role, password, secret))
    return credentials


def write_credentials(path: Path, credentials: list[Credential]) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        for credential in credentials:
            stream.write(credential.line() + "\n")
