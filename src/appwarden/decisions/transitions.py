"""Moving a determination through its lifecycle, exactly as ``lifecycle.md`` says.

:func:`perform` finds the row for (status, action), checks the acting role, then each
condition the row names (each has a check below, and the tests hold the two in step),
applies the action's effects, and records the change in the timeline and the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from appwarden.decisions import notices
from appwarden.decisions.lifecycle import Status, Transition, lifecycle
from appwarden.decisions.models import Determination
from appwarden.decisions.service import Acting, get, record, settle
from appwarden.errors import Invalid, InvalidTransition, SeparationOfDuties


@dataclass(frozen=True)
class TransitionRequest:
    """What a user sends with an action (every field optional; conditions say which count)."""

    note: str | None = None
    reply_deadline: datetime | None = None
    reply_considered: bool = False
    review_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Check:
    acting: Acting
    determination: Determination
    row: Transition
    request: TransitionRequest
    now: datetime

    def reply_deadline(self) -> datetime:
        days = self.acting.settings.reply_window_days
        return self.request.reply_deadline or self.now + timedelta(days=days)


def _fmt(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "(not set)"


def _evidence(c: Check) -> None:
    if not c.determination.evidence_links:
        raise InvalidTransition("cite at least one assessment as evidence before proposing")


def _dates_ahead(c: Check) -> None:
    d = c.determination
    if d.review_at <= c.now:
        raise InvalidTransition(f"the review date {_fmt(d.review_at)} has passed")
    if d.expires_at is not None and d.expires_at <= c.now:
        raise InvalidTransition(f"the end date {_fmt(d.expires_at)} has passed")


def _reply_deadline_ahead(c: Check) -> None:
    deadline, review = c.reply_deadline(), c.determination.review_at
    if deadline <= c.now:
        raise Invalid("reply_deadline must be in the future")
    if deadline >= review:
        raise Invalid(
            f"the reply deadline {_fmt(deadline)} must fall before the review date {_fmt(review)}"
        )


def _not_proposer(c: Check) -> None:
    d, user = c.determination, c.acting.principal.user_id
    if user is not None and user in (d.created_by_id, d.proposed_by_id):
        raise SeparationOfDuties(
            f"{c.acting.principal.actor} drafted or proposed determination {d.id} and may not "
            f"also {c.row.action} it; another approver must decide"
        )


def _note(c: Check) -> None:
    if not c.request.note:
        raise Invalid(f"give a note: the reason to {c.row.action.replace('_', ' ')}")


def _reply_window_closed(c: Check) -> None:
    deadline = c.determination.reply_deadline
    if deadline is None or c.now < deadline:
        raise InvalidTransition(
            f"the vendor may reply until {_fmt(deadline)}; decide after the reply deadline"
            + (" (or approve_interim if it is urgent)" if c.row.source is Status.notice else "")
        )


def _reply_considered(c: Check) -> None:
    d = c.determination
    if d.reply_text is not None and not c.request.reply_considered:
        raise InvalidTransition(
            f"the vendor replied on {_fmt(d.reply_received_at)}; read the reply and say so "
            "with reply_considered: true"
        )


def _interim(c: Check) -> None:
    if not c.determination.interim:
        raise InvalidTransition(f"determination {c.determination.id} is not an interim measure")


def _no_notice_yet(c: Check) -> None:
    if c.determination.notice_sent_at is not None:
        raise InvalidTransition(
            f"the notice was already sent on {_fmt(c.determination.notice_sent_at)}"
        )


def _notice_sent(c: Check) -> None:
    if c.determination.notice_sent_at is None:
        raise InvalidTransition("send the vendor notice first (send_notice)")


def _new_dates_ahead(c: Check) -> None:
    review, expires = c.request.review_at, c.request.expires_at
    if review is None or review <= c.now:
        raise Invalid("review_at (the next review date) must be in the future")
    if expires is not None and expires < review:
        raise Invalid("expires_at must not be before review_at")
    current = c.determination.expires_at
    if expires is None and current is not None and current < review:
        raise Invalid(f"the end date {_fmt(current)} is before the new review date; move it too")


def _end_date_passed(c: Check) -> None:
    expires = c.determination.expires_at
    if expires is None or c.now < expires:
        raise InvalidTransition("the end date has not passed")


CHECKS: dict[str, Callable[[Check], None]] = {
    "evidence": _evidence,
    "dates_ahead": _dates_ahead,
    "reply_deadline_ahead": _reply_deadline_ahead,
    "not_proposer": _not_proposer,
    "note": _note,
    "reply_window_closed": _reply_window_closed,
    "reply_considered": _reply_considered,
    "interim": _interim,
    "no_notice_yet": _no_notice_yet,
    "notice_sent": _notice_sent,
    "new_dates_ahead": _new_dates_ahead,
    "end_date_passed": _end_date_passed,
}


def _decided(c: Check) -> None:
    d = c.determination
    d.decided_by, d.decided_at = c.acting.principal.actor, c.now


def _put_in_force(c: Check) -> None:
    _decided(c)
    if c.determination.effective_at is None:
        c.determination.effective_at = c.now


def _propose(c: Check) -> None:
    d, principal = c.determination, c.acting.principal
    d.proposed_by_id, d.proposed_by, d.proposed_at = principal.user_id, principal.actor, c.now


def _send_notice(c: Check) -> None:
    d = c.determination
    d.reply_deadline = c.reply_deadline()
    d.notice_sent_at, d.notice_sent_by = c.now, c.acting.principal.actor
    notice = notices.build(c.acting.session, d, now=c.now)
    d.notice_markdown, d.notice_html = notices.markdown(notice), notices.html(notice)


def _approve_interim(c: Check) -> None:
    _put_in_force(c)
    c.determination.interim = True
    days = c.acting.settings.interim_notice_days
    c.determination.notice_due_at = c.now + timedelta(days=days)


def _confirm(c: Check) -> None:
    c.determination.interim = False
    _decided(c)


def _renew(c: Check) -> None:
    assert c.request.review_at is not None  # noqa: S101 (checked by new_dates_ahead)
    c.determination.review_at = c.request.review_at
    if c.request.expires_at is not None:
        c.determination.expires_at = c.request.expires_at


EFFECTS: dict[str, Callable[[Check], None]] = {
    "propose": _propose,
    "send_notice": _send_notice,
    "approve": _put_in_force,
    "approve_interim": _approve_interim,
    "reject": _decided,
    "confirm": _confirm,
    "renew": _renew,
    "rescind": _decided,
}


def perform(
    acting: Acting, determination_id: int, action: str, request: TransitionRequest
) -> Determination:
    """Do ``action`` to the determination, or refuse with the reason (nothing is written)."""
    table = lifecycle()
    if action not in table.actions:
        raise Invalid(f"unknown action {action!r}; actions: {', '.join(table.actions)}")
    acting.require(table.permission_of(action))
    determination = get(acting.session, determination_id, lock=True)
    settle(acting, determination)
    before = Status(determination.status)
    row = table.find(before, action)
    check = Check(acting, determination, row, request, acting.clock.now())
    for name in row.conditions:
        CHECKS[name](check)
    renewed = {"review_at": determination.review_at, "expires_at": determination.expires_at}
    EFFECTS[action](check)
    determination.status = row.target.value
    determination.updated_at = check.now
    details = _details(determination, action, renewed)
    record(acting, determination, action, before=before, after=row.target,
           note=request.note, details=details)  # fmt: skip
    return determination


def _details(
    d: Determination, action: str, previous: dict[str, datetime | None]
) -> dict[str, object] | None:
    if action == "send_notice":
        return {"reply_deadline": _iso(d.reply_deadline)}
    if action == "approve_interim":
        return {"interim": True, "notice_due_at": _iso(d.notice_due_at)}
    if action == "renew":
        return {
            "review_at": {"from": _iso(previous["review_at"]), "to": _iso(d.review_at)},
            "expires_at": {"from": _iso(previous["expires_at"]), "to": _iso(d.expires_at)},
        }
    if action in ("approve", "confirm") and d.reply_text is not None:
        return {"reply_considered": True}
    return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
