"""docs/protocol.md's JSON examples are valid against the schemas the server uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from appwarden.api.problems import Problem
from appwarden.compliance.wire import (
    DeltaInventory,
    InstallCheck,
    InstallDecision,
    StateAccepted,
    StateReport,
)
from appwarden.protocol.v1.schemas import (
    DeviceRecord,
    EnrollRequest,
    EnrollResponse,
    PolicyResponse,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SCHEMAS: dict[str, type[BaseModel]] = {
    "EnrollRequest": EnrollRequest,
    "EnrollResponse": EnrollResponse,
    "DeviceRecord": DeviceRecord,
    "PolicyResponse": PolicyResponse,
    "StateReport": StateReport,
    "DeltaInventory": DeltaInventory,
    "StateAccepted": StateAccepted,
    "InstallCheck": InstallCheck,
    "InstallDecision": InstallDecision,
    "Problem": Problem,
}
_EXAMPLE = re.compile(r"<!-- example: (\w+) -->\s*```json\n(.*?)```", re.DOTALL)


def test_every_example_is_valid_and_every_schema_shown() -> None:
    examples = _EXAMPLE.findall(DOC.read_text(encoding="utf-8"))
    assert {name for name, _ in examples} == set(SCHEMAS)
    for name, text in examples:
        SCHEMAS[name].model_validate(json.loads(text), strict=False)
