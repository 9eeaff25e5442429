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
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.audit import service as audit
from appwarden.auth import service as auth
from appwarden.auth.models import User
from appwarden.auth.roles import Role
from appwarden.auth.service import Principal
from appwarden.catalog import service as catalog
from appwarden.catalog import uploads
from appwarden.catalog.blobs import BlobStore
from appwarden.catalog.models import Assessment, Publisher
from appwarden.clock import Clock
from appwarden.config import Settings
from appwarden.decisions import service as decisions
from appwarden.decisions.models import Determination
from appwarden.decisions.schemas import DeterminationCreate
from appwarden.errors import DomainError
from appwarden.vetting.assess import SUFFIXES

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


# The publishers and apps named in the Government of Canada's 2023 decisions, by their
# public identifiers. Domains are the publishers' own registered domains.
PUBLISHERS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("Tencent Holdings Ltd.", "CN", None, ("tencent.com", "qq.com", "wechat.com")),
    ("ByteDance Ltd.", "CN", None, ("bytedance.com",)),
    ("TikTok Pte. Ltd.", "SG", "ByteDance Ltd.", ("tiktok.com", "tiktokv.com")),
    ("AO Kaspersky Lab", "RU", None, ("kaspersky.com", "kaspersky-labs.com")),
)
APPS: tuple[tuple[str, str, str, str], ...] = (
    ("android", "com.tencent.mm", "WeChat", "Tencent Holdings Ltd."),
    ("ios", "com.tencent.xin", "WeChat", "Tencent Holdings Ltd."),
    ("android", "com.zhiliaoapp.musically", "TikTok", "TikTok Pte. Ltd."),
    ("ios", "com.zhiliaoapp.musically", "TikTok", "TikTok Pte. Ltd."),
    ("android", "com.kms.free", "Kaspersky: Antivirus & VPN", "AO Kaspersky Lab"),
    ("android", "com.kaspersky.secure.connection", "Kaspersky VPN", "AO Kaspersky Lab"),
)
DEMO_AUTHORITY = "Chief Information Officer (demo)"
DEMO_INSTRUMENT = (
    "Demo determination modelled on the public 2023 decisions of the Chief Information "
    "Officer of Canada; not an official record"
)


def seed_catalog(session: Session, *, clock: Clock, key: bytes) -> dict[str, int]:
    """The 2023 publishers (TikTok as ByteDance's affiliate) and their apps; ids by name."""
    acting = audit.Acting("ana", key)
    ids: dict[str, int] = {}
    for name, country, parent, domains in PUBLISHERS:
        existing = session.scalar(select(Publisher).where(Publisher.name == name))
        if existing is None:
            existing = catalog.create_publisher(
                session,
                clock=clock,
                acting=acting,
                name=name,
                jurisdiction=country,
                parent_id=ids.get(parent or ""),
                domains=list(domains),
            )
        ids[name] = existing.id
    for platform, app_id, app_name, owner in APPS:
        if catalog.find_app(session, platform=platform, app_id=app_id) is None:
            catalog.create_app(
                session,
                clock=clock,
                acting=acting,
                platform=platform,
                app_id=app_id,
                name=app_name,
                publisher_id=ids[owner],
            )
    return ids


def seed_determinations(session: Session, *, clock: Clock, key: bytes, settings: Settings) -> int:
    """Draft determinations against the three publishers, written by the demo analyst."""
    if session.scalar(select(func.count()).select_from(Determination)):
        return 0
    analyst = session.scalar(select(User).where(User.username == "ana"))
    if analyst is None:
        return 0
    principal = Principal(user_id=analyst.id, username="ana", role=Role.analyst)
    acting = decisions.Acting(session, clock, key, settings, principal)
    review = clock.now() + timedelta(days=365)
    for title, publisher in (
        ("Ban TikTok on managed devices", "ByteDance Ltd."),
        ("Ban WeChat on managed devices", "Tencent Holdings Ltd."),
        ("Ban the Kaspersky suite on managed devices", "AO Kaspersky Lab"),
    ):
        publisher_id = session.scalar(select(Publisher.id).where(Publisher.name == publisher))
        body = DeterminationCreate.model_validate(
            {
                "title": title,
                "target": {"kind": "publisher", "publisher_id": publisher_id},
                "action": "ban",
                "scope": ["*"],
                "authority": DEMO_AUTHORITY,
                "instrument": DEMO_INSTRUMENT,
                "rationale": (
                    f"Any app developed or provided by {publisher} or its affiliates presents "
                    "an unacceptable level of risk to privacy and security on managed "
                    "devices (demo rationale; attach assessments as evidence before proposing)."
                ),
                "review_at": review.isoformat(),
            }
        )
        decisions.create(acting, body)
    return 3


def vet_folder(
    settings: Settings, sessions: object, *, clock: Clock, key: bytes, folder: Path
) -> tuple[int, list[str]]:
    """Vet every app file in ``folder`` into the catalog (as the demo analyst), once.

    Returns how many were recorded and the one-line reasons of those that could not be."""
    from sqlalchemy.orm import sessionmaker

    assert isinstance(sessions, sessionmaker)  # noqa: S101
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Assessment)):
            return 0, []
    store, vetter = BlobStore(settings.blobs_dir), uploads.vetter_for(settings)
    recorded, refused = 0, []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
        try:
            with (
                path.open("rb") as stream,
                store.spool(stream, limit=settings.upload_max_bytes, name=path.name) as staged,
            ):
                document = uploads.vet(
                    vetter, staged.path, name=path.name, kind=uploads.file_kind(path.name)
                )
                with sessions() as session, session.begin():
                    uploads.record_upload(
                        session,
                        clock=clock,
                        acting=audit.Acting("ana", key),
                        store=store,
                        staged=staged,
                        document=document,
                    )
            recorded += 1
        except DomainError as error:
            detail = error.detail
            refused.append(detail if path.name in detail else f"{path.name}: {detail}")
    return recorded, refused
