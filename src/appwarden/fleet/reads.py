"""Response bodies built from rows: shared by the API and the CLI so they cannot drift."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from appwarden.fleet import membership, service
from appwarden.fleet.models import Device, DeviceGroup
from appwarden.fleet.schemas import DeviceDetail, DeviceRead, GroupRead


def group_read(session: Session, group: DeviceGroup) -> GroupRead:
    return GroupRead(
        id=group.id,
        name=group.name,
        description=group.description,
        rule=group.rule,
        static_members=service.count_static_members(session, group.id),
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


def device_read(device: Device) -> DeviceRead:
    return DeviceRead(**_read_device(device))


def device_detail(session: Session, device: Device) -> DeviceDetail:
    groups = membership.groups_of(session, device)
    static = [g.name for g in groups if service.is_member(session, g.id, device.id)]
    return DeviceDetail(
        **device_read(device).model_dump(),
        public_key=device.public_key,
        groups=[g.name for g in groups],
        static_groups=static,
    )


def _read_device(device: Device) -> dict[str, Any]:
    return {
        "id": device.id,
        "platform": device.platform,
        "ownership": device.ownership,
        "department": device.department,
        "user_name": device.user_name,
        "supervised": device.supervised,
        "state": device.state,
        "has_key": device.public_key is not None,
        "enrolled_at": device.enrolled_at,
        "last_seen_at": device.last_seen_at,
        "source": device.source,
    }
