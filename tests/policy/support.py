"""Small builders for policy inputs: literals in, so each test shows only what matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from appwarden.policy import DeviceInput, RuleInput, WaiverInput

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
APP = "com.example.chat"


def rule(id: int = 1, action: str = "ban", **fields: Any) -> RuleInput:
    fields.setdefault("target_kind", "app")
    if fields["target_kind"] != "publisher":
        fields.setdefault("target_value", APP)
    fields.setdefault("scope", ["*"])
    fields.setdefault("effective_at", NOW - DAY)
    return RuleInput(id=id, action=action, **fields)


def publisher_rule(id: int = 1, action: str = "ban", **fields: Any) -> RuleInput:
    fields.setdefault("publisher_ids", [7, 8])
    fields.setdefault("publisher_domains", ["bytedance.com", "tiktokv.com"])
    fields.setdefault("publisher_app_ids", ["com.zhiliaoapp.musically", "com.lemon.lvoverseas"])
    return rule(id, action, target_kind="publisher", **fields)


def device(device_id: str = "d-1", **fields: Any) -> DeviceInput:
    fields.setdefault("platform", "android")
    fields.setdefault("ownership", "corporate")
    fields.setdefault("user", "alice")
    fields.setdefault("groups", ["staff"])
    return DeviceInput(device_id=device_id, **fields)


def waiver(id: int = 1, determination_id: int = 1, **fields: Any) -> WaiverInput:
    fields.setdefault("expires_at", NOW + 30 * DAY)
    return WaiverInput(id=id, determination_id=determination_id, **fields)
