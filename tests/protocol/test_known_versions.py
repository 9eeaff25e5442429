"""The map of versions a server process distributed, which confirms re-parked long-polls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appwarden.enforcement.service import Current
from appwarden.protocol.v1.parking import Known

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_it_gives_the_version_it_was_told_and_nothing_for_others() -> None:
    known = Known()
    known.update([("d1", Current(3, "a" * 64), None)])
    assert known.newest("d1", NOW) == Current(3, "a" * 64)
    assert known.newest("d2", NOW) is None  # never told: ask the database


def test_an_older_version_never_replaces_a_newer_one() -> None:
    known = Known()
    known.update([("d1", Current(5, "new"), None)])
    known.update([("d1", Current(4, "old"), None)])
    assert known.newest("d1", NOW) == Current(5, "new")


def test_an_entry_the_clock_changed_confirms_nothing() -> None:
    known = Known()
    known.update([("d1", Current(1, "e"), NOW + timedelta(hours=1))])
    assert known.newest("d1", NOW) == Current(1, "e")
    assert known.newest("d1", NOW + timedelta(hours=1)) is None


def test_devices_with_the_same_document_share_one_etag_string() -> None:
    known = Known()
    etag = "f" * 64
    known.update([(f"d{i}", Current(1, "".join(etag)), None) for i in range(3)])
    held = [known._items[f"d{i}"][1] for i in range(3)]  # noqa: SLF001 - the memory claim
    assert held[0] is held[1] is held[2] and len(known) == 3
