"""Policies for agent tests, compiled by the real compiler from literal inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from appwarden.policy import DeviceInput, RuleInput, WaiverInput, compile_policy
from appwarden.sim.policy import CachedPolicy
from tests.policy.support import NOW

SIGNER = "ab" * 32


def cached(
    rules: Sequence[RuleInput],
    waivers: Sequence[WaiverInput] = (),
    *,
    version: int = 1,
    now: datetime = NOW,
    **device: Any,
) -> CachedPolicy:
    """The policy a device with ``device`` attributes gets from ``rules`` at ``now``."""
    device.setdefault("platform", "android")
    device.setdefault("ownership", "corporate")
    target = DeviceInput(device_id="d-1", user="alice", groups=["staff"], **device)
    policy = compile_policy(target, rules, waivers, now=now)
    body = {"version": version, "etag": policy.etag, "policy": policy.document()}
    return CachedPolicy.from_response(body)
