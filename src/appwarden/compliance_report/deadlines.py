"""Whether a removal deadline was met: per device and per determination. Pure.

A device is judged against the deadline when it was in the determination's scope at the
deadline and neither exempt nor cannot_enforce then: it met the deadline if its status at
the deadline (its last status change at or before it) was ``compliant``, and missed it
otherwise (non_compliant, pending or unreachable). A determination met its deadline when
no device missed it. Before the deadline nothing is due.
"""

from __future__ import annotations

from datetime import datetime

from appwarden.compliance_report.schemas import Deadline, DeviceDeadline

NOT_COUNTED = frozenset({"exempt", "cannot_enforce"})


def device_deadline(
    deadline: datetime | None, as_of: datetime, *, in_scope: bool, status_then: str | None
) -> DeviceDeadline:
    if deadline is None:
        return "none"
    if as_of < deadline:
        return "not_due"
    if not in_scope or status_then is None:
        return "after_deadline"  # came into scope after the deadline
    if status_then in NOT_COUNTED:
        return "not_counted"
    return "met" if status_then == "compliant" else "missed"


def overall(deadline: datetime | None, as_of: datetime, *, missed: int) -> Deadline:
    if deadline is None:
        return "none"
    if as_of < deadline:
        return "not_due"
    return "missed" if missed else "met"
