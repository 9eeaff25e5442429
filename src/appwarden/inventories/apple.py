"""Apple MDM: the device's responses to the ``InstalledApplicationList`` command.

The file is a property list (XML or binary): one response dictionary, or an array of
them. A response names its device by ``UDID`` (``EnrollmentID`` under User Enrollment)
and lists ``InstalledApplicationList`` entries by ``Identifier``. It carries no time and
says nothing of ownership or supervision: the importer supplies them.

:mod:`plistlib` refuses XML entity declarations, so neither an external entity nor an
expanding one is ever resolved.
"""

from __future__ import annotations

import plistlib
from typing import Any
from xml.parsers.expat import ExpatError

from appwarden.inventories.documents import InventoryError, Seen, app_id, objects, text, unique


def _document(data: bytes) -> Any:
    try:
        return plistlib.loads(data)
    except plistlib.InvalidFileException as error:
        raise InventoryError(f"not a property list: {error}") from None
    except (ExpatError, ValueError, TypeError, OverflowError) as error:
        raise InventoryError(f"not a valid property list: {error}") from None


def _device(response: dict[str, Any], where: str) -> Seen:
    udid = text(response.get("UDID"), where, "UDID") or text(
        response.get("EnrollmentID"), where, "EnrollmentID"
    )
    if udid is None:
        raise InventoryError(f"{where}: neither UDID nor EnrollmentID names the device")
    where = f"{where} ({udid})"
    status = text(response.get("Status"), where, "Status")
    if status is not None and status != "Acknowledged":
        raise InventoryError(f"{where}: Status is {status}, not Acknowledged: no app list")
    if "InstalledApplicationList" not in response:
        raise InventoryError(f"{where}: InstalledApplicationList is missing")
    apps = [
        app_id(app.get("Identifier"), place, "Identifier")
        for place, app in objects(
            response["InstalledApplicationList"], f"{where}.InstalledApplicationList"
        )
    ]
    return Seen(external_id=udid, where=where, platform="ios", app_ids=tuple(dict.fromkeys(apps)))


def read(data: bytes) -> list[Seen]:
    document = _document(data)
    if isinstance(document, dict):
        return [_device(document, "response")]
    if not isinstance(document, list):
        raise InventoryError("the property list is neither a response nor an array of them")
    return unique([_device(r, w) for w, r in objects(document, "responses")], "UDID")
