"""Words for the domain's codes on pages: statuses, actions, compliance, in the catalogue.

Each value is a message id, translated where it is shown (``_(label)`` in templates)."""

from __future__ import annotations

from typing import Any

from appwarden.console.i18n import N_

#: A determination's status (the effective one).
STATUSES = {
    "draft": N_("draft"),
    "proposed": N_("proposed"),
    "notice": N_("vendor notified"),
    "in_force": N_("in force"),
    "rejected": N_("rejected"),
    "rescinded": N_("rescinded"),
    "expired": N_("expired"),
}

#: What a determination does to its target.
ACTIONS = {
    "ban": N_("ban (remove and block)"),
    "block": N_("block new installs"),
    "allow": N_("allow"),
    "monitor": N_("monitor"),
}

#: The lifecycle's actions, as their buttons say them.
TRANSITIONS = {
    "propose": N_("Propose"),
    "send_notice": N_("Send the vendor notice"),
    "approve": N_("Approve"),
    "approve_interim": N_("Approve now, as an interim measure"),
    "reject": N_("Reject"),
    "confirm": N_("Confirm the interim measure"),
    "renew": N_("Renew"),
    "rescind": N_("Rescind"),
    "expire": N_("Expired by its end date"),
    "create": N_("Drafted"),
    "update": N_("Draft edited"),
    "reply": N_("Vendor reply recorded"),
}

#: A device's compliance with one determination.
COMPLIANCE = {
    "compliant": N_("compliant"),
    "non_compliant": N_("not compliant (app present)"),
    "pending": N_("pending (no report yet)"),
    "exempt": N_("exempt (waiver)"),
    "unreachable": N_("unreachable"),
    "cannot_enforce": N_("cannot enforce"),
}

#: A waiver's state now.
WAIVER_STATES = {
    "requested": N_("requested"),
    "active": N_("active"),
    "revoked": N_("revoked"),
    "expired": N_("expired"),
}

#: What a determination targets.
TARGET_KINDS = {
    "app": N_("app"),
    "pattern": N_("app id pattern"),
    "publisher": N_("publisher and affiliates"),
    "signer": N_("signer certificate"),
}


def target_value(target: dict[str, Any]) -> str:
    """The target's value as data (an app id, a pattern, a publisher's name, a hash)."""
    kind = target.get("kind")
    if kind == "publisher":
        return str(target.get("publisher") or target.get("publisher_id"))
    key = {"app": "app_id", "pattern": "pattern", "signer": "sha256"}.get(str(kind), "")
    return str(target.get(key, ""))


def when(moment: Any) -> str:
    """A time as pages show it (UTC), or an empty string."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


#: A device's platform, ownership, state and overall verdict.
PLATFORMS = {"android": N_("Android"), "ios": N_("iOS")}
OWNERSHIPS = {
    "corporate": N_("corporate"),
    "byod": N_("personal (BYOD)"),
    "contractor": N_("contractor"),
}
DEVICE_STATES = {"active": N_("active"), "lost": N_("lost"), "retired": N_("retired")}
#: Where a device's state comes from: the agent, or another MDM's imported inventory.
SOURCES = {
    "agent": N_("AppWarden agent"),
    "intune": N_("Microsoft Intune"),
    "amapi": N_("Android Management API"),
    "apple-mdm": N_("Apple MDM"),
}
VERDICTS = {
    "compliant": N_("compliant"),
    "non_compliant": N_("not compliant"),
    "unreachable": N_("unreachable"),
    "unjudged": N_("not judged yet"),
}
#: What a device reported doing.
EVENT_KINDS = {
    "removed": N_("removed"),
    "install_blocked": N_("blocked an install"),
    "user_notified": N_("notified its user"),
}


def event_kind(kind: str) -> str:
    """A device event's words, or its code for a kind this console does not know."""
    return EVENT_KINDS.get(kind, kind)


#: Why a waiver may be granted: the closed list.
WAIVER_REASONS = {
    "law_enforcement": N_("law enforcement"),
    "national_security": N_("national security"),
    "security_research": N_("security research"),
    "official_communications": N_("official communications"),
}
