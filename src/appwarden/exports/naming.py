"""Names and text that come from a scope (a group name is free text): made safe for file
names, identifiers and one-line comments."""

from __future__ import annotations

import re
import uuid

_UNSAFE = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def slug(scope: str) -> str:
    """``Government Issued`` → ``government-issued``; never empty."""
    return _UNSAFE.sub("-", scope.lower()).strip("-") or "scope"


def one_line(text: str) -> str:
    """Text for a comment line: no line breaks or control characters."""
    return _CONTROL.sub(" ", text)


def stable_uuid(*parts: str) -> str:
    """The same parts give the same UUID, so an unchanged export is byte-for-byte equal."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "appwarden:" + "\x1f".join(parts))).upper()
