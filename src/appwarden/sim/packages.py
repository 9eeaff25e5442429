"""A simulated package manager: the installed apps of one device, and what enforcing a
policy on them does (remove, refuse an install, tell the user), as events to report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from appwarden.sim.inventory import InstalledApp
from appwarden.sim.policy import CachedPolicy

EventKind = Literal["removed", "install_blocked", "user_notified"]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    app_id: str
    rule: int | None
    at: datetime

    def document(self) -> dict[str, Any]:
        at = self.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {"kind": self.kind, "app_id": self.app_id, "rule": self.rule, "at": at}


@dataclass(frozen=True)
class InstallResult:
    allowed: bool
    rule: int | None
    action: str | None
    message: str | None
    events: tuple[Event, ...] = ()


class SimulatedPackageManager:
    """Installed apps by id; :meth:`enforce` and :meth:`install` apply a cached policy."""

    def __init__(self, apps: Iterable[InstalledApp] = ()) -> None:
        self._apps: dict[str, InstalledApp] = {app.app_id: app for app in apps}

    def inventory(self) -> list[InstalledApp]:
        return sorted(self._apps.values())

    def has(self, app_id: str) -> bool:
        return app_id in self._apps

    def enforce(self, policy: CachedPolicy, at: datetime) -> list[Event]:
        """Remove every installed app a ban covers where this device can remove it.

        A ban whose mode is ``cannot_enforce`` or ``detect`` only leaves the app reported
        (the inventory shows it). ``block`` leaves an installed copy; allow-list mode
        refuses new installs of unlisted apps but does not remove existing ones."""
        events: list[Event] = []
        for app in self.inventory():
            verdict = policy.verdict(app.app_id, [app.signer or ""], at)
            if verdict.action != "ban" or not verdict.enforced:
                continue
            del self._apps[app.app_id]
            if verdict.message:
                events.append(Event("user_notified", app.app_id, verdict.rule, at))
            events.append(Event("removed", app.app_id, verdict.rule, at))
        return events

    def check(self, policy: CachedPolicy | None, app: InstalledApp, at: datetime) -> InstallResult:
        """Whether ``app`` may be installed now, decided on the cached policy."""
        if policy is None:
            return InstallResult(True, None, None, None)
        verdict = policy.verdict(app.app_id, [app.signer or ""], at)
        if verdict.action in ("ban", "block") and verdict.enforced:
            return InstallResult(False, verdict.rule, verdict.action, verdict.message)
        listing = policy.allow_list(at)
        if listing is not None and not policy.allows_listed(app.app_id, [app.signer or ""], at):
            message = policy.message(listing.id) or "Only approved apps may be installed."
            return InstallResult(False, listing.id, "allow", message)
        return InstallResult(True, verdict.rule, verdict.action, verdict.message)

    def install(
        self, policy: CachedPolicy | None, app: InstalledApp, at: datetime
    ) -> InstallResult:
        """Install ``app`` unless the policy refuses it (then an ``install_blocked`` event,
        and ``user_notified`` when the policy carries a message)."""
        result = self.check(policy, app, at)
        if result.allowed:
            self._apps[app.app_id] = app
            return result
        events = [Event("install_blocked", app.app_id, result.rule, at)]
        if result.message:
            events.append(Event("user_notified", app.app_id, result.rule, at))
        return InstallResult(False, result.rule, result.action, result.message, tuple(events))

    def add(self, app: InstalledApp) -> None:
        """Put an app on the device outside any policy (it was there before enrollment)."""
        self._apps[app.app_id] = app
