"""Every table, imported in one place so migrations and ``create_all`` see them all."""

from appwarden.api.idempotency import IdempotencyRecord
from appwarden.audit.models import AuditEvent
from appwarden.auth.models import ApiToken, SignInFailure, User
from appwarden.catalog.models import (
    App,
    Assessment,
    Blob,
    Publisher,
    PublisherDomain,
    Signer,
    app_signers,
)
from appwarden.compliance.models import (
    ComplianceHistory,
    ComplianceStatus,
    ComplianceWebhook,
    DeviceCompliance,
    DeviceEvent,
    DeviceReport,
    DeviceState,
    InstalledApp,
)
from appwarden.db import Base
from appwarden.decisions.models import Determination, DeterminationEvent, DeterminationEvidence
from appwarden.enforcement.models import (
    DevicePolicyIssue,
    DevicePolicyVersion,
    PolicyChange,
    PolicyDocument,
    PolicyGeneration,
)
from appwarden.fleet.models import Device, DeviceGroup, EnrollmentToken, device_group_members
from appwarden.inventories.models import DeviceInventory
from appwarden.protocol.models import DeviceNonce, EnrollmentCount
from appwarden.waivers.models import Waiver

__all__ = [
    "ComplianceHistory",
    "ComplianceStatus",
    "ComplianceWebhook",
    "DeviceCompliance",
    "DeviceEvent",
    "DeviceReport",
    "DeviceState",
    "InstalledApp",
    "ApiToken",
    "App",
    "Assessment",
    "AuditEvent",
    "Base",
    "Blob",
    "Determination",
    "DeterminationEvent",
    "DeterminationEvidence",
    "Device",
    "DeviceGroup",
    "DeviceInventory",
    "DeviceNonce",
    "DevicePolicyIssue",
    "DevicePolicyVersion",
    "EnrollmentCount",
    "EnrollmentToken",
    "IdempotencyRecord",
    "PolicyChange",
    "PolicyDocument",
    "PolicyGeneration",
    "Publisher",
    "PublisherDomain",
    "SignInFailure",
    "Signer",
    "User",
    "Waiver",
    "app_signers",
    "device_group_members",
]
