"""Roles and what each may do. The role × route matrix in docs/permissions.md is tested
against the routes' declared permissions and this table."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    analyst = "analyst"
    approver = "approver"
    operator = "operator"
    auditor = "auditor"
    admin = "admin"


class Permission(StrEnum):
    read = "read"  # the catalog, assessments, determinations, waivers, devices, groups
    vet = "vet"  # upload and vet apps, edit publishers and apps
    propose = "propose"  # draft and propose determinations, send notices, record replies
    decide = "decide"  # approve, reject, rescind, renew determinations
    request_waiver = "request_waiver"
    approve_waiver = "approve_waiver"
    fleet = "fleet"  # devices and groups
    audit = "audit"  # read and verify the audit log
    admin = "admin"  # users and tokens of others


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.analyst: frozenset(
        {Permission.read, Permission.vet, Permission.propose, Permission.request_waiver}
    ),
    Role.approver: frozenset(
        {Permission.read, Permission.decide, Permission.approve_waiver, Permission.request_waiver}
    ),
    Role.operator: frozenset({Permission.read, Permission.fleet, Permission.request_waiver}),
    Role.auditor: frozenset({Permission.read, Permission.audit}),
    Role.admin: frozenset({Permission.read, Permission.admin, Permission.audit}),
}

#: Roles that must present a TOTP code to sign in.
SECOND_FACTOR = frozenset({Role.approver, Role.admin})


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]
