"""Why a service refused, in the page's language.

Services say why in English (their messages are also the REST API's problem details). The
console matches each known message and shows its translation from the catalogue, with the
message's values (numbers, dates, names) kept and its codes (statuses, actions) in words.
A message this table does not know is shown under a translated heading for its kind of
error, marked as English, so a reader always learns both that and why it was refused.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass

from appwarden.console import labels
from appwarden.console.i18n import N_
from appwarden.console.nav import ROLE_LABELS
from appwarden.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    SeparationOfDuties,
)

_DATE = r"(?P<date>\d{4}-\d\d-\d\d(?: \d\d:\d\d UTC)?|\(not set\))"

#: (pattern of a service's message, its message id). First match wins.
KNOWN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), m)
    for p, m in [
        (r"^(?P<actor>.+) drafted or proposed determination (?P<number>\d+) and may not also "
         r"(?P<action>\w+) it; another approver must decide$",
         N_("%(actor)s drafted or proposed determination %(number)s and may not also decide it "
            "(%(action)s): another approver must decide.")),
        (r"^(?P<actor>.+) requested waiver (?P<number>\d+) and may not approve it; another "
         r"approver must decide$",
         N_("%(actor)s requested waiver %(number)s and may not approve it: another approver "
            "must decide.")),
        (r"^the (?P<role>\w+) role may not (?P<permission>\w+)$",
         N_("Your role (%(role)s) may not do this.")),
        (r"^cite at least one assessment as evidence before proposing$",
         N_("Cite at least one assessment as evidence before proposing.")),
        (rf"^the review date {_DATE} has passed$",
         N_("The review date (%(date)s) has passed.")),
        (rf"^the end date {_DATE} has passed$", N_("The end date (%(date)s) has passed.")),
        (r"^give a note: the reason to (?P<action>[\w ]+)$",
         N_("Give a note: the reason for this action (%(action)s).")),
        (rf"^the vendor may reply until {_DATE}; decide after the reply deadline",
         N_("The vendor may reply until %(date)s: decide after the reply deadline, or approve "
            "now as an interim measure if it is urgent.")),
        (rf"^the vendor replied on {_DATE}; read the reply and say so",
         N_("The vendor replied on %(date)s: read the reply and tick the box that says you "
            "considered it.")),
        (r"^determination (?P<number>\d+) is not an interim measure$",
         N_("Determination %(number)s is not an interim measure.")),
        (rf"^the notice was already sent on {_DATE}$",
         N_("The vendor notice was already sent on %(date)s.")),
        (r"^send the vendor notice first", N_("Send the vendor notice first.")),
        (r"^cannot (?P<action>\w+) a determination that is (?P<status>\w+);",
         N_("This action (%(action)s) is not possible while the determination is %(status)s.")),
        (r"^no notice is open for a reply",
         N_("No vendor notice is open for a reply on this determination.")),
        (r"^a reply was already recorded on (?P<date>[\d-]+)$",
         N_("A reply was already recorded on %(date)s.")),
        (r"^received_at is in the future$", N_("The date of receipt is in the future.")),
        (r"^received_at is before the notice was sent$",
         N_("The date of receipt is before the notice was sent.")),
        (r"^waivers are for determinations in force; determination (?P<number>\d+) is "
         r"(?P<status>\w+)$",
         N_("Waivers are for determinations in force; determination %(number)s is %(status)s.")),
        (r"^expires_at must be in the future$", N_("The end date must be in the future.")),
        (r"^review_at must be in the future$", N_("The review date must be in the future.")),
        (r"^a waiver lasts at most (?P<days>\d+) days",
         N_("A waiver lasts at most %(days)s days.")),
        (r"^only a requested waiver can be approved; waiver (?P<number>\d+) is (?P<state>\w+)$",
         N_("Only a requested waiver can be approved; waiver %(number)s is %(state)s.")),
        (r"^waiver (?P<number>\d+) is already (?P<state>\w+)$",
         N_("Waiver %(number)s is already %(state)s.")),
        (r"^no waiver (?P<number>\d+)$", N_("There is no waiver %(number)s.")),
    ]
]  # fmt: skip

#: A heading for a message the table does not know, by the kind of error.
KINDS: list[tuple[type[DomainError], str]] = [
    (SeparationOfDuties, N_("Separation of duties: another person must do this.")),
    (Forbidden, N_("Your role may not do this.")),
    (NotFound, N_("Something this action names does not exist.")),
    (Conflict, N_("This is not possible in the current state.")),
    (Invalid, N_("A value in the form cannot be used.")),
]


@dataclass(frozen=True)
class Refusal:
    """What a page says: ``text`` in its language, and the service's own words (English)
    when no translation matched (else None)."""

    text: str
    original: str | None = None


def _words(name: str, value: str, translate: gettext.NullTranslations) -> str:
    """Codes in a message (a status, an action, a waiver state) in the page's words."""
    tables: dict[str, dict[str, str]] = {
        "status": labels.STATUSES, "action": labels.TRANSITIONS, "state": labels.WAIVER_STATES,
        "role": {role.value: label for role, label in ROLE_LABELS.items()},
    }  # fmt: skip
    table = tables.get(name, {})
    key = value.replace(" ", "_")
    return translate.gettext(table[key]) if key in table else value


def explain(error: DomainError, translate: gettext.NullTranslations) -> Refusal:
    """The refusal of ``error`` in the language of ``translate``."""
    for pattern, message in KNOWN:
        match = pattern.search(error.detail)
        if match:
            values = {k: _words(k, v, translate) for k, v in match.groupdict().items()}
            return Refusal(translate.gettext(message) % values)
    for kind, heading in KINDS:
        if isinstance(error, kind):
            return Refusal(translate.gettext(heading), original=error.detail)
    return Refusal(translate.gettext(N_("The request could not be handled.")), error.detail)
