"""A fleet whose compliance changes at known times: the scene every report test reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import httpx

from tests.compliance.support import APP_TARGET, TIKTOK, Phone
from tests.decisions.support import Actors, actors, iso, ok, post, reach, seed_catalog
from tests.server import START, Env

DEADLINE = START + timedelta(hours=2)


@dataclass
class Scene:
    who: Actors
    number: int
    one: Phone  # holds TikTok, removes it before the deadline
    two: Phone  # holds TikTok past the deadline
    three: Phone  # waived (law enforcement)
    waiver_id: int
    waiver_expires: datetime
    before: datetime  # one and two non-compliant, one not yet removed
    removed_at: datetime


def scene(env: Env, **draft: object) -> Scene:
    who, catalog = actors(env), seed_catalog(env)
    one, two, three = Phone(env, who), Phone(env, who), Phone(env, who)
    number = reach(
        env, who, catalog, "in_force_interim", target=APP_TARGET,
        removal_deadline=iso(DEADLINE), **draft,
    )  # fmt: skip
    expires = env.clock.now() + timedelta(days=30)
    body = {
        "devices": [three.id],
        "reason": "law_enforcement",
        "justification": "Undercover investigation needs the app on this phone.",
        "mitigations": ["no government data on the device"],
        "expires_at": iso(expires),
    }
    waiver = ok(post(env, who.olu, f"/determinations/{number}/waivers", body), 201)
    ok(post(env, who.bea, f"/waivers/{waiver['id']}/approve", {"note": "checked"}))
    for phone in (one, two, three):
        ok(phone.report({TIKTOK: None}))
    env.clock.advance(timedelta(minutes=10))
    before = env.clock.now()
    env.clock.advance(timedelta(minutes=10))
    ok(one.report({}))
    removed_at = env.clock.now()
    env.clock.set(DEADLINE + timedelta(hours=1))
    ok(two.report({TIKTOK: None}))
    return Scene(who, number, one, two, three, int(waiver["id"]), expires, before, removed_at)


def report(env: Env, token: str, **query: object) -> httpx.Response:
    params = urlencode({k: v for k, v in query.items() if v is not None})
    return env.client.get(f"/api/v1/reports/compliance?{params}", headers=env.headers(token))
