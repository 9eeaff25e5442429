"""Tables: publishers and their domains, apps, signers, stored files, assessments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appwarden.db import Base

#: Which certificates have signed which app (over all its uploads).
app_signers = Table(
    "app_signers",
    Base.metadata,
    Column("app_id", ForeignKey("apps.id"), primary_key=True),
    Column("signer_sha256", ForeignKey("signers.sha256"), primary_key=True, index=True),
)


class Publisher(Base):
    """A legal entity that develops or provides apps. An affiliate points at its parent
    (``parent_id``); a ban on a publisher covers the whole tree below it."""

    __tablename__ = "publishers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"), index=True)
    created_at: Mapped[datetime]

    parent: Mapped[Publisher | None] = relationship(
        remote_side="Publisher.id", back_populates="affiliates"
    )
    affiliates: Mapped[list[Publisher]] = relationship(
        back_populates="parent", order_by="Publisher.name"
    )
    domains: Mapped[list[PublisherDomain]] = relationship(
        back_populates="publisher",
        cascade="all, delete-orphan",
        order_by="PublisherDomain.domain",
    )


class PublisherDomain(Base):
    """A domain a publisher is known to use: lower-case, one row per publisher."""

    __tablename__ = "publisher_domains"

    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id"), primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), primary_key=True, index=True)

    publisher: Mapped[Publisher] = relationship(back_populates="domains")


class App(Base):
    """An app as the platform knows it: one row per (platform, package or bundle id)."""

    __tablename__ = "apps"
    __table_args__ = (
        UniqueConstraint("platform", "app_id"),
        CheckConstraint("platform IN ('android', 'ios')", name="platform"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(8))
    app_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    publisher_id: Mapped[int | None] = mapped_column(ForeignKey("publishers.id"), index=True)
    created_at: Mapped[datetime]

    publisher: Mapped[Publisher | None] = relationship()
    signers: Mapped[list[Signer]] = relationship(
        secondary=app_signers, order_by="Signer.first_seen"
    )


class Signer(Base):
    """A signing certificate, by the SHA-256 of its DER encoding."""

    __tablename__ = "signers"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]


class Blob(Base):
    """An uploaded file, stored once under ``blobs_dir/sha[:2]/sha``."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))
    stored_at: Mapped[datetime]


class Assessment(Base):
    """One vetting of one file: the summary in columns, the whole document in JSON."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    version_name: Mapped[str | None] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(8))
    score_total: Mapped[int]
    grade: Mapped[str] = mapped_column(String(1))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    app: Mapped[App] = relationship()
