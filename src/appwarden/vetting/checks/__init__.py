"""Detections behind the rules in ``data/rules.toml``: facts in, evidence out.

Each check returns the exact evidence that triggers its rule (an empty list means the
rule does not apply). Checks read only :class:`Facts`; they never touch the file.
"""

from __future__ import annotations

# Each submodule registers its checks in CHECKS when it is imported (the @check
# decorator), so they must all be imported here even though nothing is used from them.
from appwarden.vetting.checks import configuration, content, permissions, signing  # noqa: F401
from appwarden.vetting.checks.base import CHECKS, Facts

__all__ = ["CHECKS", "Facts"]
