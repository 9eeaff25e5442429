"""Defensive plist parsing: every failure a ValueError, every value JSON-serialisable."""

from __future__ import annotations

import math
import plistlib
from datetime import UTC, datetime
from typing import Any

_MAX_NODES = 100_000
_MAX_DEPTH = 64
_TRUE_STRINGS = frozenset({"yes", "true", "1"})
#: Binary plists store integers in at most 16 bytes, but plistlib reads an integer marker's
#: size nibble as up to 2**15 bytes: a damaged marker gives an integer of thousands of
#: digits, which ``str()`` and ``json.dumps`` refuse (Python's int/str digit limit).
_MAX_INT_BITS = 128


class TooComplex(ValueError):
    """A plist nested too deeply, too large, or cyclic (binary plists can be)."""


def load_plist(data: bytes, fmt: plistlib.PlistFormat | None = None) -> Any:
    """``plistlib.loads``; any failure becomes a ValueError with a short reason."""
    try:
        return plistlib.loads(data, fmt=fmt)
    except Exception as err:  # plistlib raises many types on garbled input
        reason = str(err) or type(err).__name__
        raise ValueError(reason) from None


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:  # plistlib dates are naive UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def _jsonable(value: Any, budget: list[int], depth: int = 0) -> object:
    """A JSON-serialisable copy: bytes -> hex, dates -> ISO; bounded against cycles."""
    budget[0] -= 1
    if budget[0] < 0 or depth > _MAX_DEPTH:
        raise TooComplex("the plist is nested too deeply or is too large")
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise TooComplex(f"the plist holds an integer wider than {_MAX_INT_BITS} bits")
    if isinstance(value, dict):
        return {_key(k): _jsonable(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item, budget, depth + 1) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, plistlib.UID):
        return value.data
    return str(value)


def _key(key: Any) -> str:
    """A dictionary key as text (binary plists may key a dictionary by any object)."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and key.bit_length() > _MAX_INT_BITS:
        raise TooComplex(f"the plist holds an integer wider than {_MAX_INT_BITS} bits")
    return str(key)


def to_json_dict(value: Any) -> dict[str, object]:
    """A plist dict as JSON-serialisable data. Raises ValueError if it is not a dict."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a dictionary, found {type(value).__name__}")
    result = _jsonable(value, [_MAX_NODES])
    assert isinstance(result, dict)  # noqa: S101  (a dict maps to a dict)
    return result


def text_of(value: Any) -> str | None:
    """A string, or a number as text; None for anything else (or an oversized integer)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return isinstance(value, str) and value.strip().lower() in _TRUE_STRINGS


def strings_of(value: Any) -> list[str]:
    """The string items of a plist array (anything else is ignored)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]
