"""An assessment report: the app's identity and signers, the score's breakdown (a chart,
and the same figures as a table), findings with their evidence, trackers with what
matched, and permissions by privacy group. Read-only, readable without JavaScript, and
printable (the stylesheet's print rules).

JSON twin: ``GET /api/v1/assessments/{id}`` (the whole document this page shows); the
self-contained HTML report is ``GET /api/v1/assessments/{id}/report.html``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from appwarden.auth.roles import Permission, allows
from appwarden.auth.service import Principal
from appwarden.catalog import service
from appwarden.console.access import allowed
from appwarden.console.errors import ConsoleError
from appwarden.console.i18n import N_
from appwarden.console.pages.apps import PLATFORMS, VERDICTS
from appwarden.console.rendering import render
from appwarden.console.sessions import context_of
from appwarden.errors import NotFound
from appwarden.vetting.model import Assessment as Document
from appwarden.vetting.model import Permission as AppPermission

router = APIRouter()
Reader = Annotated[Principal, allowed(Permission.read)]

SEVERITIES = {
    "critical": N_("critical"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    "info": N_("info"),
}
MATCHED_BY = {"code": N_("code"), "network": N_("network"), "both": N_("code and network")}
PROTECTIONS = {
    "dangerous": N_("dangerous"),
    "normal": N_("normal"),
    "signature": N_("signature"),
    "privileged": N_("privileged"),
    "custom": N_("declared by the app"),
    "unknown": N_("unknown"),
}
#: The rule categories of the score breakdown.
CATEGORIES = {
    "code": N_("Code"),
    "configuration": N_("Configuration"),
    "network": N_("Network"),
    "permissions": N_("Permissions"),
    "signing": N_("Signing"),
    "trackers": N_("Trackers"),
}
#: Privacy groups (see vetting/permissions.py); an unlisted one shows by its id.
GROUPS = {
    "location": N_("Location"),
    "contacts": N_("Contacts"),
    "accounts": N_("Accounts"),
    "sms": N_("SMS and MMS"),
    "call_log": N_("Call log"),
    "phone": N_("Phone"),
    "camera": N_("Camera"),
    "microphone": N_("Microphone"),
    "storage_media": N_("Storage and media"),
    "calendar": N_("Calendar"),
    "body_sensors": N_("Body sensors"),
    "nearby_devices": N_("Nearby devices"),
    "accessibility": N_("Accessibility"),
    "device_admin": N_("Device administration"),
    "package_install": N_("Installing apps"),
    "package_query": N_("Other apps"),
    "overlay": N_("Drawing over other apps"),
    "notifications": N_("Notifications"),
    "screen_capture": N_("Screen capture"),
    "vpn_network": N_("Network and VPN"),
    "system_settings": N_("System settings"),
    "background": N_("Running in the background"),
    "biometrics": N_("Biometrics"),
    "identifiers": N_("Identifiers"),
    "browsing_history": N_("Browsing history"),
}
NO_GROUP = N_("No privacy group")


class AssessmentNotFound(ConsoleError):
    status = 404
    title = N_("Page not found")
    detail = N_("There is no assessment with this number.")


@dataclass(frozen=True)
class PermissionGroup:
    code: str | None
    label: str
    permissions: list[AppPermission]


def permission_groups(document: Document) -> list[PermissionGroup]:
    """Permissions by privacy group: the groups by name, then those reaching none."""
    grouped: dict[str | None, list[AppPermission]] = {}
    for permission in sorted(document.permissions, key=lambda p: p.name):
        grouped.setdefault(permission.group, []).append(permission)
    groups = [
        PermissionGroup(code, GROUPS.get(code, code), items)
        for code, items in sorted((k, v) for k, v in grouped.items() if k is not None)
    ]
    if None in grouped:
        groups.append(PermissionGroup(None, NO_GROUP, grouped[None]))
    return groups


@router.get("/assessments/{assessment_id}")
def assessment_page(request: Request, principal: Reader, assessment_id: int) -> Response:
    context = context_of(request)
    with context.reading() as session:
        try:
            row = service.get_assessment(session, assessment_id=assessment_id)
        except NotFound:
            raise AssessmentNotFound from None
        app = service.get_app(session, app_id=row.app_id)
        app_name, uploaded_by, uploaded_at = app.name, row.uploaded_by, row.created_at
        document = Document.model_validate(row.document)
    return render(
        request,
        "assessment.html",
        principal=principal,
        assessment_id=assessment_id,
        twin=f"GET /api/v1/assessments/{assessment_id}",
        report_twin=f"GET /api/v1/assessments/{assessment_id}/report.html",
        app_name=app_name,
        uploaded_by=uploaded_by,
        uploaded_at=uploaded_at.strftime("%Y-%m-%d %H:%M UTC"),
        doc=document,
        groups=permission_groups(document),
        findings=sorted(document.findings, key=lambda f: (-f.points, -f.weight, f.rule_id)),
        platforms=PLATFORMS,
        verdicts=VERDICTS,
        severities=SEVERITIES,
        matched_by=MATCHED_BY,
        protections=PROTECTIONS,
        categories=CATEGORIES,
        chart=request.app.state.console_assets.url("chart"),
        may_draft=allows(principal.role, Permission.propose),
    )
