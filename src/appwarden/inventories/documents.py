"""What an MDM's inventory file says, read without a database: one :class:`Seen` per
device. Each kind of file has its own reader (:mod:`.intune`, :mod:`.amapi`,
:mod:`.apple`); a file that cannot be read whole is refused with an error naming the item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from appwarden.errors import Invalid

#: An app id as devices report them (package name or bundle id).
APP_ID = re.compile(r"^[A-Za-z0-9._\-]{1,300}$")
#: A name that is itself an app id: at least two dot-separated parts, no spaces.
REVERSE_DNS = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)+$")
MAX_APPS = 10_000


class InventoryError(Invalid):
    """The file cannot be imported; the message names the item at fault."""

    kind, title = "invalid-inventory", "Invalid inventory"


@dataclass(frozen=True)
class Seen:
    """One device as its MDM reported it. ``None`` means the document does not say."""

    external_id: str
    where: str  # the item's place in the file, for error messages
    name: str | None = None
    platform: str | None = None
    ownership: str | None = None
    supervised: bool | None = None
    user_name: str | None = None
    taken_at: datetime | None = None
    app_ids: tuple[str, ...] = ()
    #: Apps known only by display name (Intune): resolved against the catalog.
    app_names: tuple[str, ...] = ()
    #: Why the device is not imported (not a phone, deleted in its MDM), if it is not.
    skipped: str | None = None


def text(value: Any, where: str, field: str) -> str | None:
    """A string field (None if absent or blank); refused if present with another type."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InventoryError(f"{where}: {field} must be a string, not {type(value).__name__}")
    return value.strip()[:300] or None


def required(value: Any, where: str, field: str) -> str:
    """A string field that must be there."""
    found = text(value, where, field)
    if found is None:
        raise InventoryError(f"{where}: {field} is missing")
    return found


def flag(value: Any, where: str, field: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise InventoryError(f"{where}: {field} must be true or false")
    return value


def timestamp(value: Any, where: str, field: str) -> datetime | None:
    """An RFC 3339 time (with its offset); the zero times MDMs write for "never" are None."""
    raw = text(value, where, field)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InventoryError(f"{where}: {field} {raw!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise InventoryError(f"{where}: {field} {raw!r} has no time zone offset")
    if parsed.year <= 1:
        return None
    return parsed.astimezone(UTC)


def app_id(value: Any, where: str, field: str) -> str:
    raw = required(value, where, field)
    if not APP_ID.match(raw):
        raise InventoryError(f"{where}: {field} {value!r} is not a package name or bundle id")
    return raw


def objects(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The objects of a list, each with its place (``where[i]``)."""
    if not isinstance(value, list):
        raise InventoryError(f"{where} must be a list")
    found = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise InventoryError(f"{where}[{index}] must be an object")
        found.append((f"{where}[{index}]", item))
    return found


def unique(devices: Sequence[Seen], what: str) -> list[Seen]:
    """``devices``, refused if one device id appears twice."""
    first: dict[str, str] = {}
    for device in devices:
        if device.external_id in first:
            raise InventoryError(
                f"{device.where}: {what} {device.external_id!r} is listed twice "
                f"(first at {first[device.external_id]})"
            )
        first[device.external_id] = device.where
        if len(device.app_ids) + len(device.app_names) > MAX_APPS:
            raise InventoryError(f"{device.where}: more than {MAX_APPS} apps")
    return list(devices)


Reader = Callable[[bytes], list[Seen]]


def readers() -> dict[str, Reader]:
    from appwarden.inventories import amapi, apple, intune

    return {"intune": intune.read, "amapi": amapi.read, "apple-mdm": apple.read}


KINDS = ("intune", "amapi", "apple-mdm")


def read(kind: str, data: bytes) -> list[Seen]:
    """The devices of an inventory file of ``kind``; refused whole if any item is bad."""
    found = readers().get(kind)
    if found is None:
        raise InventoryError(f"unknown inventory kind {kind!r}: use one of {', '.join(KINDS)}")
    if not data.strip():
        raise InventoryError("the file is empty")
    try:
        return found(data)
    except RecursionError:
        raise InventoryError("the document is nested too deeply") from None


def json_document(data: bytes) -> Any:
    """A JSON document (UTF-8); a clear error for anything else."""
    import json

    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InventoryError(f"the file is not UTF-8 (byte {error.start})") from None
    try:
        return json.loads(content)
    except json.JSONDecodeError as error:
        raise InventoryError(
            f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
