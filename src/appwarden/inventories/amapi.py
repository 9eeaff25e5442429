"""Android Management API: ``enterprises.devices.list`` responses.

The file is one response (``{"devices": [...], "nextPageToken": ...}``) or a list of them,
one per page. Each ``Device`` needs its ``name`` and its ``applicationReports`` (sent when
the policy's ``statusReportingSettings.applicationReportsEnabled`` is true); a report in
state ``REMOVED`` is not an installed app.
"""

from __future__ import annotations

from typing import Any

from appwarden.inventories.documents import (
    InventoryError,
    Seen,
    app_id,
    json_document,
    objects,
    required,
    text,
    timestamp,
    unique,
)

OWNERSHIP = {"COMPANY_OWNED": "corporate", "PERSONALLY_OWNED": "byod"}
#: Device states whose inventory is not a phone in use.
GONE = frozenset({"DELETED", "PROVISIONING"})


def _apps(device: dict[str, Any], where: str) -> tuple[str, ...]:
    if "applicationReports" not in device:
        raise InventoryError(
            f"{where}: applicationReports is missing (enable applicationReportsEnabled in "
            "the policy's statusReportingSettings)"
        )
    found: list[str] = []
    for place, report in objects(device["applicationReports"], f"{where}.applicationReports"):
        package = app_id(report.get("packageName"), place, "packageName")
        state = text(report.get("state"), place, "state")
        if state != "REMOVED":
            found.append(package)
    return tuple(dict.fromkeys(found))


def _model(device: dict[str, Any], where: str) -> str | None:
    hardware = device.get("hardwareInfo")
    if hardware is None:
        return None
    if not isinstance(hardware, dict):
        raise InventoryError(f"{where}: hardwareInfo must be an object")
    return text(hardware.get("model"), where, "hardwareInfo.model")


def _device(device: dict[str, Any], where: str) -> Seen:
    name = required(device.get("name"), where, "name")
    if not name.startswith("enterprises/") or "/devices/" not in name:
        raise InventoryError(f"{where}: name {name!r} is not enterprises/…/devices/…")
    where = f"{where} ({name})"
    state = text(device.get("state"), where, "state")
    mode = text(device.get("managementMode"), where, "managementMode")
    ownership = text(device.get("ownership"), where, "ownership")
    skipped = f"its state is {state}" if state in GONE else None
    return Seen(
        external_id=name,
        where=where,
        name=_model(device, where),
        platform="android",
        ownership=OWNERSHIP.get(ownership or ""),
        supervised=mode == "DEVICE_OWNER" if mode else None,
        user_name=text(device.get("userName"), where, "userName"),
        taken_at=timestamp(device.get("lastStatusReportTime"), where, "lastStatusReportTime"),
        app_ids=() if skipped else _apps(device, where),
        skipped=skipped,
    )


def read(data: bytes) -> list[Seen]:
    document = json_document(data)
    pages = document if isinstance(document, list) else [document]
    devices: list[Seen] = []
    for page_where, page in objects(pages, "pages"):
        where = page_where if isinstance(document, list) else "response"
        if "devices" not in page:
            if set(page) <= {"nextPageToken"}:
                continue  # an empty page: proto3 JSON leaves the empty list out
            raise InventoryError(f"{where}: not a devices.list response (no devices list)")
        devices += [_device(d, place) for place, d in objects(page["devices"], f"{where}.devices")]
    return unique(devices, "device")
