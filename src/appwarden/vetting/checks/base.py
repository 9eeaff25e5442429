"""The facts checks read, the registry they join, and helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appwarden.vetting.model import (
    AndroidDetails,
    AppInfo,
    IosDetails,
    Network,
    Permission,
    Platform,
    Signer,
    TrackerMatch,
)


@dataclass(frozen=True)
class Facts:
    platform: Platform
    app: AppInfo
    signers: list[Signer]
    permissions: list[Permission]
    trackers: list[TrackerMatch]
    network: Network
    android: AndroidDetails | None = None
    ios: IosDetails | None = None


Check = Callable[[Facts], list[str]]
CHECKS: dict[str, Check] = {}


def check(rule_id: str) -> Callable[[Check], Check]:
    def register(function: Check) -> Check:
        CHECKS[rule_id] = function
        return function

    return register


def _permissions_in(facts: Facts, *groups: str) -> list[str]:
    return [p.name for p in facts.permissions if p.group in groups]
