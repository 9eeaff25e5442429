"""Two apps on one database, as two server processes: a ban approved through one wakes a
device long-polling the other, by polling the generation row or by PostgreSQL NOTIFY."""

from __future__ import annotations

import pytest

from appwarden.protocol.v1.wakeups import Distributor, mode_for
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.enforcement.conftest import MakeEnv
from tests.enforcement.polling import Poll, signed_get, until_parked
from tests.enforcement.test_policy_endpoint import APP_TARGET, TIKTOK, Phone


@pytest.mark.parametrize("wakeups", ["poll", "notify"])
def test_a_ban_through_one_app_wakes_a_long_poll_on_another(
    make_env: MakeEnv, wakeups: str
) -> None:
    a = make_env(wakeups="local")
    b = make_env(wakeups=wakeups, reconcile=False)  # B only learns through the database
    distributor: Distributor = b.client.app.state.distributor  # type: ignore[attr-defined]
    if mode_for(distributor.context) == "notify":
        assert distributor.listening.wait(20), "LISTEN never started"
    who, catalog = actors(a), seed_catalog(a)
    phone = Phone(a, who, "government-issued")
    phone.env = b
    first = ok(signed_get(phone, "/v1/policy"))
    poll = Poll(phone, first["etag"], 120)
    poll.start()
    until_parked(b, 1)
    reach(a, who, catalog, "in_force", target=APP_TARGET)
    body = ok(poll.result())  # 200: woken by the change (a timeout would be a 304)
    assert body["policy"]["banned"] == [TIKTOK]
