"""List filters from GET forms: the form sends every field, an empty one meaning "any";
a value outside the field's choices gets a 422 page (and changes nothing, being a read)."""

from __future__ import annotations

from collections.abc import Iterable

from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_


class BadFilter(ConsoleError):
    status = 422
    title = N_("Bad address")
    detail = N_("A filter has a value this page cannot use.")


def choice(value: str, allowed: Iterable[str]) -> str | None:
    """None for an empty field, else ``value`` if it is one of ``allowed``."""
    if not value:
        return None
    if value not in set(allowed):
        raise BadFilter
    return value


def number(value: str) -> int | None:
    """None for an empty field, else a positive whole number."""
    if not value:
        return None
    if not value.isdigit():
        raise BadFilter
    return int(value)
