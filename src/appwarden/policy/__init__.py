"""Compile determinations × device groups × waivers into each device's policy (pure)."""

from appwarden.policy.compile import compile_fleet, compile_policy, policy_inputs_key
from appwarden.policy.model import DeviceInput, DevicePolicy, RuleInput, WaiverInput
from appwarden.policy.precedence import rulebook

__all__ = [
    "DeviceInput",
    "DevicePolicy",
    "RuleInput",
    "WaiverInput",
    "compile_fleet",
    "compile_policy",
    "policy_inputs_key",
    "rulebook",
]
