"""Reading MDM inventory files (no database): the sample documents, written from the
Microsoft Graph, Android Management API and Apple device-management references, and
every kind of bad input refused with the item named."""

from __future__ import annotations

import json
import plistlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from appwarden.inventories.documents import InventoryError, read

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def intune(*devices: dict[str, Any]) -> bytes:
    return json.dumps({"value": list(devices)}).encode()


def phone(device_id: str = "d-1", **extra: Any) -> dict[str, Any]:
    return {"id": device_id, "operatingSystem": "Android", "detectedApps": []} | extra


def test_intune_devices_with_detected_apps() -> None:
    android, iphone, laptop = read("intune", sample("intune_managed_devices.json"))
    assert (android.platform, android.ownership, android.supervised) == (
        "android",
        "corporate",
        False,
    )
    assert android.app_ids == ("com.microsoft.teams",)
    assert android.app_names == ("TikTok",)  # a display name: looked up in the catalog
    assert android.taken_at == datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
    assert android.user_name == "analyst@example.gc.ca"
    assert (iphone.platform, iphone.supervised, iphone.app_ids) == (
        "ios",
        True,
        ("com.apple.Pages",),
    )
    assert laptop.skipped == "operating system 'Windows' is not a phone's"


def test_amapi_devices_list_pages() -> None:
    owned, personal, deleted = read("amapi", sample("amapi_devices_list.json"))
    assert owned.external_id == "enterprises/LC01abcd23/devices/3f9c0a5b7d2e4c11"
    # A REMOVED report is not an installed app.
    assert owned.app_ids == ("com.zhiliaoapp.musically", "com.android.chrome")
    assert (owned.ownership, owned.supervised, owned.name) == ("corporate", True, "SM-S921W")
    assert owned.taken_at == datetime(2027, 1, 10, 8, 15, 0, 456789, tzinfo=UTC)
    assert (personal.ownership, personal.supervised) == ("byod", False)
    assert deleted.skipped == "its state is DELETED"
    page = json.loads(sample("amapi_devices_list.json"))
    both = read("amapi", json.dumps([page, {"nextPageToken": "x"}, {}]).encode())
    assert len(both) == 3


def test_apple_installed_application_list_responses() -> None:
    first, user_enrolled = read("apple-mdm", sample("apple_installed_apps.plist"))
    assert first.external_id == "00008110-001A2B3C4D5E6F70"
    assert first.app_ids == ("com.zhiliaoapp.musically", "com.microsoft.Office.Outlook")
    assert first.taken_at is None and first.ownership is None  # the importer says
    assert user_enrolled.external_id == "FA3B9C1D-7E42-4E60-8D11-0123456789AB"
    binary = plistlib.dumps(
        {"UDID": "u-1", "Status": "Acknowledged", "InstalledApplicationList": []},
        fmt=plistlib.FMT_BINARY,
    )
    [one] = read("apple-mdm", binary)
    assert (one.external_id, one.app_ids) == ("u-1", ())


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<plist version="1.0"><dict><key>UDID</key><string>&xxe;</string>
<key>InstalledApplicationList</key><array/></dict></plist>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<plist version="1.0"><dict><key>UDID</key><string>&b;</string></dict></plist>"""


@pytest.mark.parametrize(
    ("kind", "data", "message"),
    [
        ("pdf", b"{}", "unknown inventory kind 'pdf'"),
        ("intune", b"   ", "the file is empty"),
        ("intune", b'{"value": [', "not JSON"),
        ("intune", b"\xff\xfe{}", "not UTF-8"),
        ("intune", b'{"devices": []}', "no value list"),
        ("intune", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("intune", intune({"operatingSystem": "iOS", "detectedApps": []}),
         "value[0]: id is missing"),
        ("intune", intune(phone(), {"id": "d-2", "operatingSystem": "iOS"}),
         "value[1] (id 'd-2'): detectedApps is missing"),
        ("intune", intune(phone(), phone()),
         "value[1] (id 'd-1'): managed device id 'd-1' is listed twice"),
        ("intune", intune(phone(detectedApps=[{"version": "1"}])),
         "detectedApps[0]: displayName is missing"),
        ("intune", intune(phone(lastSyncDateTime="yesterday")),
         "'yesterday' is not an RFC 3339 time"),
        ("intune", intune(phone(lastSyncDateTime="2027-01-10T08:00:00")), "has no time zone"),
        ("intune", intune(phone(isSupervised="yes")), "isSupervised must be true or false"),
        ("intune", intune("not a device"), "value[0] must be an object"),  # type: ignore[arg-type]
        ("amapi", b'{"devices": [{"name": "phone-1", "applicationReports": []}]}',
         "name 'phone-1' is not enterprises/"),
        ("amapi", b'{"devices": [{"name": "enterprises/e/devices/1"}]}',
         "applicationReports is missing"),
        ("amapi", b'{"devices": [{"name": "enterprises/e/devices/1", "applicationReports": '
                  b'[{"packageName": "com.ok"}, {"packageName": "no spaces allowed"}]}]}',
         "applicationReports[1]: packageName 'no spaces allowed' is not a package name"),
        ("amapi", b'{"kind": "something else"}', "not a devices.list response"),
        ("apple-mdm", b"<plist><dict><key>UDID</key>", "not a valid property list"),
        ("apple-mdm", b"just text", "not a property list"),
        ("apple-mdm", XXE, "entity declarations are not supported"),
        ("apple-mdm", LAUGHS, "entity declarations are not supported"),
        ("apple-mdm", plistlib.dumps({"InstalledApplicationList": []}),
         "neither UDID nor EnrollmentID"),
        ("apple-mdm", plistlib.dumps({"UDID": "u", "Status": "Error"}), "Status is Error"),
        ("apple-mdm", plistlib.dumps({"UDID": "u", "Status": "Acknowledged"}),
         "response (u): InstalledApplicationList is missing"),
        ("apple-mdm", plistlib.dumps([{"UDID": "u", "InstalledApplicationList": []}] * 2),
         "responses[1] (u): UDID 'u' is listed twice"),
        ("apple-mdm", plistlib.dumps("a string"), "neither a response nor an array"),
    ],
)  # fmt: skip
def test_bad_documents_are_refused_naming_the_item(kind: str, data: bytes, message: str) -> None:
    with pytest.raises(InventoryError) as refused:
        read(kind, data)
    assert message in refused.value.detail


def test_the_examples_in_the_docs_are_read() -> None:
    """docs/inventories.md shows one short example per kind: each reads as documented."""
    import re

    text = (Path(__file__).parents[2] / "docs" / "inventories.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(json|xml)\n(.*?)```", text, flags=re.DOTALL)
    examples = dict(zip(("intune", "amapi", "apple-mdm"), (b for _f, b in blocks), strict=True))
    [teams] = read("intune", examples["intune"].encode())
    assert (teams.app_ids, teams.app_names) == (("com.microsoft.teams",), ("TikTok",))
    [android] = read("amapi", examples["amapi"].encode())
    assert android.app_ids == ("com.zhiliaoapp.musically",)  # the REMOVED one is not
    [iphone] = read("apple-mdm", examples["apple-mdm"].encode())
    assert iphone.app_ids == ("com.zhiliaoapp.musically",)
