"""Impact preview: before a determination is approved, how many devices in its scope hold
its target now (by their last reported inventory), by group and by department."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.catalog.models import App
from appwarden.compliance import schemas
from appwarden.compliance.models import DeviceState, InstalledApp
from appwarden.decisions import service as decisions
from appwarden.decisions.models import Determination
from appwarden.fleet.membership import rule_matches
from appwarden.fleet.models import Device, DeviceGroup, device_group_members
from appwarden.policy.compile import ALL_DEVICES
from appwarden.policy.matcher import covers
from appwarden.policy.model import Target

NO_DEPARTMENT = "(none)"


def target_of(session: Session, determination: Determination) -> Target:
    """The determination's target as the matcher takes it (a publisher with its family's
    catalog apps)."""
    if determination.target_kind != "publisher" or determination.publisher_id is None:
        value = determination.target_value
        if determination.target_kind == "signer" and value:
            value = value.lower()
        return Target(kind=determination.target_kind, value=value)
    family = decisions.publisher_family(session, determination.publisher_id)
    apps = select(App.app_id).where(App.publisher_id.in_(family))
    if determination.platform is not None:
        apps = apps.where(App.platform == determination.platform)
    return Target(
        kind="publisher",
        publisher_ids=tuple(sorted(family)),
        app_ids=tuple(sorted(set(session.scalars(apps)))),
    )


def _groups(session: Session, devices: list[Device]) -> dict[str, list[str]]:
    """Each device's group names (static memberships and rule matches), in two queries."""
    groups = list(session.scalars(select(DeviceGroup)))
    names = {g.id: g.name for g in groups}
    static: dict[str, set[int]] = defaultdict(set)
    for group_id, device_id in session.execute(
        select(device_group_members.c.group_id, device_group_members.c.device_id)
    ):
        static[str(device_id)].add(int(group_id))
    return {
        d.id: sorted(names[g.id] for g in groups if g.id in static[d.id] or rule_matches(g.rule, d))
        for d in devices
    }


def impact(session: Session, determination_id: int) -> schemas.Impact:
    determination = decisions.get(session, determination_id)
    target = target_of(session, determination)
    devices = [
        d
        for d in session.scalars(
            select(Device).where(Device.state != "retired").order_by(Device.id)
        )
        if determination.platform is None or d.platform == determination.platform
    ]
    groups = _groups(session, devices)
    scope = set(determination.scope)
    in_scope = [d for d in devices if ALL_DEVICES in scope or scope & set(groups[d.id])]
    ids = [d.id for d in in_scope]
    reported = set(
        session.scalars(
            select(DeviceState.device_id).where(
                DeviceState.device_id.in_(ids), DeviceState.inventory_hash.is_not(None)
            )
        )
    )
    holders: set[str] = set()
    apps = select(InstalledApp.device_id, InstalledApp.app_id, InstalledApp.signer).where(
        InstalledApp.device_id.in_(ids)
    )
    if target.kind == "app":
        apps = apps.where(InstalledApp.app_id == target.value)
    elif target.kind == "publisher":
        apps = apps.where(InstalledApp.app_id.in_(target.app_ids))
    for device_id, app_id, signer in session.execute(apps):
        if covers(target, app_id, [signer] if signer else []):
            holders.add(str(device_id))

    def buckets(keys: dict[str, list[str]]) -> list[schemas.ImpactBucket]:
        total: Counter[str] = Counter()
        holding: Counter[str] = Counter()
        for device_id, names in keys.items():
            for name in names:
                total[name] += 1
                holding[name] += device_id in holders
        return [
            schemas.ImpactBucket(name=name, in_scope=total[name], holding=holding[name])
            for name in sorted(total)
        ]

    shown = scope - {ALL_DEVICES}
    return schemas.Impact(
        determination_id=determination_id,
        in_scope=len(in_scope),
        reported=len(reported),
        holding=len(holders),
        by_group=buckets(
            {d.id: [g for g in groups[d.id] if not shown or g in shown] for d in in_scope}
        ),
        by_department=buckets({d.id: [d.department or NO_DEPARTMENT] for d in in_scope}),
    )
