"""The moment a report is "as of": a date (the end of that day, UTC) or a time with its
offset; never in the future. Pure: ``now`` is an argument."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from appwarden.errors import Invalid

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LONGEST = 40


class MalformedAsOf(Invalid):
    """Neither a date (YYYY-MM-DD) nor a time with an offset."""


class FutureAsOf(Invalid):
    """A report states what was recorded; a future moment has no record yet."""


def end_of_day(day: date) -> datetime:
    """The last microsecond of ``day`` in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC) - timedelta(microseconds=1)


def parse_as_of(text: str | None, *, now: datetime) -> datetime:
    """``None`` or empty: now. ``2026-11-25``: the end of that day in UTC (now, if that is
    later than now: the day is today). ``2026-11-25T12:00:00+01:00``: that moment."""
    value = (text or "").strip()
    if not value:
        return now
    if len(value) > LONGEST:
        raise MalformedAsOf("as_of is too long: give a date (YYYY-MM-DD) or a time with an offset")
    if _DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise MalformedAsOf(f"as_of {value!r} is not a date that exists") from None
        if day > now.astimezone(UTC).date():
            raise FutureAsOf(f"as_of {value} is in the future; a report shows what was recorded")
        return min(end_of_day(day), now)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise MalformedAsOf(
            f"as_of {value!r} is neither a date (YYYY-MM-DD) nor a time (YYYY-MM-DDTHH:MM:SS+00:00)"
        ) from None
    if moment.tzinfo is None:
        raise MalformedAsOf(f"as_of {value!r} has no time zone: add Z or an offset such as +01:00")
    if moment > now:
        raise FutureAsOf(f"as_of {value} is in the future; a report shows what was recorded")
    return moment.astimezone(UTC)
