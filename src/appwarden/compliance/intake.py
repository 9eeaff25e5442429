"""A device's state report, recorded once: its inventory (full or delta), its events, its
applied policy version; then its compliance is judged again.

Every refusal (a version never issued, a delta on the wrong base, a report id reused for
another body) raises before anything is written, and the caller's transaction rolls back.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from appwarden.compliance import service
from appwarden.compliance.models import DeviceEvent, DeviceReport, DeviceState, InstalledApp
from appwarden.compliance.status import install_decision, inventory_hash
from appwarden.compliance.wire import (
    DeltaInventory,
    FullInventory,
    InstallCheck,
    InstallDecision,
    StateAccepted,
    StateReport,
)
from appwarden.config import Settings
from appwarden.enforcement.models import DevicePolicyIssue
from appwarden.enforcement.service import current_policy
from appwarden.errors import Conflict
from appwarden.fleet.models import Device


def _issued(session: Session, device_id: str, version: int) -> bool:
    """Whether ``version`` was ever issued to the device."""
    found = session.scalar(
        select(DevicePolicyIssue.version).where(
            DevicePolicyIssue.device_id == device_id, DevicePolicyIssue.version == version
        )
    )
    return found is not None


class InventoryMismatch(Conflict):
    kind, title = "inventory_mismatch", "Inventory mismatch"


class VersionNotIssued(Conflict):
    kind, title = "version-not-issued", "Policy version never issued"


class ReportIdReused(Conflict):
    kind, title = "report-id-reused", "Report id reused"


def _new_inventory(
    held: dict[str, str | None] | None,
    stored_hash: str | None,
    inventory: FullInventory | DeltaInventory,
) -> dict[str, str | None]:
    if isinstance(inventory, FullInventory):
        return {a.app_id: a.signer.lower() if a.signer else None for a in inventory.apps}
    if held is None or stored_hash is None or inventory.base != stored_hash:
        raise InventoryMismatch(
            "the delta's base is not the inventory the server holds; send a full inventory",
            expected=stored_hash,
        )
    missing = sorted(set(inventory.removed) - set(held))
    if missing:
        raise InventoryMismatch(
            f"removed apps the server does not hold ({', '.join(missing[:5])}); "
            "send a full inventory",
            expected=stored_hash,
        )
    apps = {k: v for k, v in held.items() if k not in set(inventory.removed)}
    apps.update({a.app_id: a.signer.lower() if a.signer else None for a in inventory.added})
    return apps


def _store_inventory(
    session: Session, device_id: str, old: dict[str, str | None], new: dict[str, str | None]
) -> None:
    """Write only the difference: most reports change a few apps, or none."""
    gone = [app_id for app_id in old if app_id not in new or old[app_id] != new[app_id]]
    if gone:
        session.execute(
            delete(InstalledApp).where(
                InstalledApp.device_id == device_id, InstalledApp.app_id.in_(gone)
            )
        )
    session.add_all(
        InstalledApp(device_id=device_id, app_id=app_id, signer=signer)
        for app_id, signer in new.items()
        if app_id not in old or old[app_id] != signer
    )


def _claim(
    session: Session, device_id: str, report_id: str, body_sha256: str, now: datetime
) -> tuple[DeviceReport, bool]:
    """The record of this report id, and whether it is new (else: a retry). The caller
    holds the device's row lock, so one report id cannot be claimed twice at once."""
    earlier = session.get(DeviceReport, (device_id, report_id))
    if earlier is not None:
        if earlier.body_sha256 != body_sha256:
            raise ReportIdReused(f"report id {report_id} was already used for another report")
        return earlier, False
    claimed = DeviceReport(
        device_id=device_id,
        report_id=report_id,
        body_sha256=body_sha256,
        response={},
        received_at=now,
    )
    session.add(claimed)
    return claimed, True


def accept(
    session: Session,
    device: Device,
    report: StateReport,
    *,
    body: bytes,
    now: datetime,
    settings: Settings,
) -> StateAccepted:
    """Record ``report`` from ``device`` (once per report id) and judge it again."""
    body_sha256 = hashlib.sha256(body).hexdigest()
    # This session's copy, locked: one device's reports are recorded one at a time.
    device = session.get(Device, device.id, with_for_update=True) or device
    record, new = _claim(session, device.id, report.report_id, body_sha256, now)
    if not new:
        return StateAccepted.model_validate(record.response)
    if report.applied_version < 1 or not _issued(session, device.id, report.applied_version):
        raise VersionNotIssued(
            f"policy version {report.applied_version} was never issued to this device"
        )
    state = session.get(DeviceState, device.id, with_for_update=True)
    stored_hash = state.inventory_hash if state else None
    if report.inventory is not None:
        held = service.installed_apps(session, device.id) if stored_hash is not None else None
        apps = _new_inventory(held, stored_hash, report.inventory)
        _store_inventory(session, device.id, held or {}, apps)
        stored_hash = inventory_hash(apps)
    if state is None:
        state = DeviceState(device_id=device.id)
        session.add(state)
    state.applied_version = report.applied_version
    state.inventory_hash = stored_hash
    state.report_id = report.report_id
    state.reported_at = now
    session.add_all(
        DeviceEvent(
            device_id=device.id,
            report_id=report.report_id,
            kind=e.kind,
            app_id=e.app_id,
            rule=e.rule,
            at=e.at,
            received_at=now,
        )
        for e in report.events
    )
    device.last_seen_at = now
    session.flush()
    version = service.recompute(session, device, now=now, settings=settings)
    accepted = StateAccepted(
        report_id=report.report_id, inventory_hash=stored_hash, policy_version=version
    )
    record.response = accepted.model_dump(mode="json")
    return accepted


def check_install(
    session: Session, device: Device, check: InstallCheck, *, now: datetime
) -> InstallDecision:
    """May ``device`` install this app now, by its current policy?"""
    # Compiled now, not read from the last issued document: an install is rare, and its
    # answer must hold even if distribution has not yet issued the newest version.
    compiled, version = current_policy(session, device, now=now)
    policy = service.issued(compiled.document(), compiled.etag)
    signer = check.signer.lower() if check.signer else None
    allowed, rule, action = install_decision(
        policy.entries, policy.allow_list, check.app_id, signer, now
    )
    message = None
    if not allowed:
        message = policy.messages.get(rule) if rule is not None else None
        message = message or "This app may not be installed on this device."
    return InstallDecision(
        allowed=allowed,
        rule=rule,
        action=action,  # type: ignore[arg-type]
        message=message,
    )
