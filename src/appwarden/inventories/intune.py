"""Microsoft Graph (Intune): managed devices, each with the apps Intune detected on it.

The file is the JSON of ``GET /deviceManagement/managedDevices`` (an object whose
``value`` lists ``managedDevice`` objects, or that list alone), each device carrying the
``detectedApps`` of ``GET /deviceManagement/managedDevices/{id}?$expand=detectedApps``.
A ``detectedApp`` names an app only by ``displayName``: a name that is an app id
(``com.example.app``) is taken as it is; any other is looked up in the catalog.
"""

from __future__ import annotations

from typing import Any

from appwarden.inventories.documents import (
    REVERSE_DNS,
    InventoryError,
    Seen,
    flag,
    json_document,
    objects,
    required,
    text,
    timestamp,
    unique,
)

#: ``operatingSystem`` values of phones (others, like Windows, are skipped).
PLATFORMS = {"ios": "ios", "ipados": "ios", "android": "android"}
#: ``managedDeviceOwnerType``: company or personal; unknown says nothing.
OWNERSHIP = {"company": "corporate", "personal": "byod"}


def _apps(device: dict[str, Any], where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if "detectedApps" not in device:
        raise InventoryError(
            f"{where}: detectedApps is missing (read the device with $expand=detectedApps)"
        )
    ids: list[str] = []
    names: list[str] = []
    for place, app in objects(device["detectedApps"], f"{where}.detectedApps"):
        name = required(app.get("displayName"), place, "displayName")
        (ids if REVERSE_DNS.match(name) else names).append(name)
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(names))


def _device(device: dict[str, Any], where: str) -> Seen:
    external_id = required(device.get("id"), where, "id")
    where = f"{where} (id {external_id!r})"
    system = required(device.get("operatingSystem"), where, "operatingSystem")
    platform = PLATFORMS.get(system.lower())
    owner = text(device.get("managedDeviceOwnerType"), where, "managedDeviceOwnerType")
    app_ids, app_names = _apps(device, where)
    return Seen(
        external_id=external_id,
        where=where,
        name=text(device.get("deviceName"), where, "deviceName"),
        platform=platform,
        ownership=OWNERSHIP.get((owner or "").lower()),
        supervised=flag(device.get("isSupervised"), where, "isSupervised"),
        user_name=text(device.get("userPrincipalName"), where, "userPrincipalName"),
        taken_at=timestamp(device.get("lastSyncDateTime"), where, "lastSyncDateTime"),
        app_ids=app_ids,
        app_names=app_names,
        skipped=None if platform else f"operating system {system!r} is not a phone's",
    )


def read(data: bytes) -> list[Seen]:
    document = json_document(data)
    if isinstance(document, dict):
        if "value" not in document:
            raise InventoryError(
                "not a Graph managedDevices response: no value list "
                '(expected {"value": [managedDevice, ...]})'
            )
        document = document["value"]
    devices = [_device(device, where) for where, device in objects(document, "value")]
    return unique(devices, "managed device id")
