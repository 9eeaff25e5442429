"""Plain data in and out of the policy compiler: no database, no clock, no I/O.

The service resolves determinations, waivers and devices into these frozen values (a
publisher target arrives with its affiliates, their domains and their catalog apps already
looked up), so the compiler is a pure function that tests can drive with literals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIONS = ("ban", "block", "allow", "monitor")
TARGET_KINDS = ("app", "pattern", "publisher", "signer")
PLATFORMS = ("android", "ios")
OWNERSHIPS = ("corporate", "byod", "contractor")
SCHEMA = 1


def _one_of(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")


def _aware(what: str, value: datetime | None) -> datetime | None:
    """Times are compared across devices and zones: a naive one would be a silent bug."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)


def _names(values: Sequence[str]) -> tuple[str, ...]:
    """Sorted and unique, so input order never reaches the document."""
    if isinstance(values, str):
        raise ValueError("expected a list of names, not one string")
    return tuple(sorted(set(values)))


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class RuleInput:
    """A determination in force, resolved.

    ``target_value`` is the app id, the pattern or the signer's SHA-256; for a publisher
    target it is unused and ``publisher_ids`` (with affiliates), ``publisher_domains``
    (their registered domains) and ``publisher_app_ids`` (their catalog apps) say what
    the publisher covers.
    """

    id: int
    action: str
    target_kind: str
    scope: Sequence[str]
    target_value: str | None = None
    publisher_ids: Sequence[int] = ()
    publisher_domains: Sequence[str] = ()
    publisher_app_ids: Sequence[str] = ()
    platform: str | None = None
    effective_at: datetime | None = None
    removal_deadline: datetime | None = None
    expires_at: datetime | None = None
    title: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        _one_of("action", self.action, ACTIONS)
        _one_of("target kind", self.target_kind, TARGET_KINDS)
        if self.platform is not None:
            _one_of("platform", self.platform, PLATFORMS)
        if self.target_kind == "publisher":
            if not self.publisher_ids:
                raise ValueError(f"rule {self.id}: a publisher target needs publisher_ids")
        elif not self.target_value:
            raise ValueError(f"rule {self.id}: a {self.target_kind} target needs target_value")
        if self.target_kind == "signer":
            _set(self, "target_value", str(self.target_value).lower())
        _set(self, "scope", _names(self.scope))
        _set(self, "publisher_ids", tuple(sorted(set(self.publisher_ids))))
        _set(self, "publisher_domains", _names([d.lower() for d in self.publisher_domains]))
        _set(self, "publisher_app_ids", _names(self.publisher_app_ids))
        for name in ("effective_at", "removal_deadline", "expires_at"):
            _set(self, name, _aware(f"rule {self.id} {name}", getattr(self, name)))


@dataclass(frozen=True)
class WaiverInput:
    """An approved waiver: one determination, named devices and users, an expiry."""

    id: int
    determination_id: int
    expires_at: datetime
    devices: Sequence[str] = ()
    users: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.devices and not self.users:
            raise ValueError(f"waiver {self.id} names no device and no user")
        _set(self, "devices", _names(self.devices))
        _set(self, "users", _names(self.users))
        _set(self, "expires_at", _aware(f"waiver {self.id} expires_at", self.expires_at))


@dataclass(frozen=True)
class DeviceInput:
    device_id: str
    platform: str
    ownership: str
    supervised: bool = False
    user: str | None = None
    groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        _one_of("platform", self.platform, PLATFORMS)
        _one_of("ownership", self.ownership, OWNERSHIPS)
        _set(self, "groups", _names(self.groups))


@dataclass(frozen=True)
class Target:
    kind: str
    value: str | None = None
    publisher_ids: tuple[int, ...] = ()
    app_ids: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def document(self) -> dict[str, Any]:
        if self.kind != "publisher":
            return {"kind": self.kind, "value": self.value}
        return {
            "kind": self.kind,
            "publisher_ids": list(self.publisher_ids),
            "app_ids": list(self.app_ids),
            "domains": list(self.domains),
        }


@dataclass(frozen=True)
class RuleEntry:
    """One applicable rule as the device sees it, with the times it must keep offline."""

    id: int
    action: str
    target: Target
    platform: str | None
    enforcement: str
    effective_at: datetime | None
    removal_deadline: datetime | None
    expires_at: datetime | None
    waived_until: datetime | None

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "target": self.target.document(),
            "platform": self.platform,
            "enforcement": self.enforcement,
            "effective_at": iso(self.effective_at),
            "removal_deadline": iso(self.removal_deadline),
            "expires_at": iso(self.expires_at),
            "waived_until": iso(self.waived_until),
        }


@dataclass(frozen=True)
class Message:
    rule: int
    title: str
    text: str


@dataclass(frozen=True)
class DevicePolicy:
    """What one device must enforce. Device-independent, so equal inputs share it."""

    platform: str
    management: str
    allow_list: bool
    banned: tuple[str, ...]
    blocked: tuple[str, ...]
    allowed: tuple[str, ...]
    monitored: tuple[str, ...]
    network_block: tuple[str, ...]
    messages: tuple[Message, ...]
    rules: tuple[RuleEntry, ...]
    #: When the compiled result next changes by the clock alone (not in the document).
    next_change_at: datetime | None = field(default=None, compare=False)

    def _by_kind(self, kind: str) -> list[dict[str, Any]]:
        return [
            {"rule": r.id, "action": r.action, **r.target.document()}
            for r in self.rules
            if r.target.kind == kind and r.waived_until is None
        ]

    def document(self) -> dict[str, Any]:
        """The canonical JSON-able document devices receive."""
        return {
            "schema": SCHEMA,
            "platform": self.platform,
            "management": self.management,
            "allow_list": self.allow_list,
            "banned": list(self.banned),
            "blocked": list(self.blocked),
            "allowed": list(self.allowed),
            "monitored": list(self.monitored),
            "patterns": self._by_kind("pattern"),
            "signers": self._by_kind("signer"),
            "publishers": self._by_kind("publisher"),
            "network_block": list(self.network_block),
            "messages": [{"rule": m.rule, "title": m.title, "text": m.text} for m in self.messages],
            "rules": [r.document() for r in self.rules],
        }

    @property
    def etag(self) -> str:
        """SHA-256 of the canonical JSON: the content hash devices send in If-None-Match."""
        return content_hash(self.document())


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def content_hash(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()
