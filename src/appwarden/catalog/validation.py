"""Checks on what people type into the catalog: country codes, domains, app ids.

They live in one place so the API, the CLI and the services refuse the same things with
the same words, and so a ban on ``TikTok.com.`` and one on ``tiktok.com`` are one ban.
"""

from __future__ import annotations

import re

from appwarden.errors import Invalid

#: ISO 3166-1 alpha-2 codes officially assigned (from tzdata's iso3166.tab).
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
    NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_APP_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$")


def jurisdiction(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code, upper-cased; anything else is refused."""
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise Invalid(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, RU, US)")
    return code


def domain(value: str) -> str:
    """A host name, lower-cased, without a trailing dot, internationalised names in
    their ASCII (punycode) form; at least two labels, the last not all digits."""
    text = value.strip().rstrip(".").lower()
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid(f"{value!r} is not a valid host name") from None
    labels = ascii_name.split(".")
    if (
        len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise Invalid(f"{value!r} is not a valid host name (like example.com)")
    return ascii_name


def app_id(value: str) -> str:
    """An Android package name or iOS bundle id, as the platform writes it."""
    if not _APP_ID.match(value):
        raise Invalid(f"{value!r} is not a package name or bundle id (like com.example.app)")
    return value


def name(value: str, *, what: str) -> str:
    """A display name: surrounding space removed, 1 to 200 characters."""
    text = " ".join(value.split())
    if not 1 <= len(text) <= 200:
        raise Invalid(f"the {what} name must have 1 to 200 characters")
    return text
