"""The compliance webhook: signed, sent after the commit, retried after a failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from appwarden.compliance import webhook
from appwarden.compliance.models import ComplianceWebhook
from appwarden.db import make_sessionmaker
from tests.compliance.support import APP_TARGET, TIKTOK, Phone
from tests.decisions.support import actors, ok, reach, seed_catalog
from tests.server import Env, running_env

SECRET = "webhook-test-secret"


class Receiver:
    """A local HTTP server that answers 500 ``failures`` times, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                failing = receiver.failures > 0
                receiver.failures -= failing
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=1)
    yield running
    running.close()


@pytest.fixture
def hooked(database_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[Env]:
    with running_env(
        database_url,
        tmp_path / "data",
        compliance_webhook_url=receiver.url,
        compliance_webhook_secret=SECRET,
        reconcile=False,  # deliveries only from what each test does (see conftest.py)
    ) as running:
        yield running


def _pending(env: Env) -> list[ComplianceWebhook]:
    with env.session() as session:
        return list(
            session.scalars(
                select(ComplianceWebhook).where(ComplianceWebhook.delivered_at.is_(None))
            )
        )


def test_a_failed_delivery_is_retried_and_every_body_is_signed(
    hooked: Env, receiver: Receiver
) -> None:
    env = hooked
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    ok(phone.report({TIKTOK: None}))  # first verdict: not compliant; the receiver fails
    assert len(receiver.received) == 1
    (queued,) = _pending(env)
    assert queued.attempts == 1 and queued.last_error == "HTTP 500"

    sessions = make_sessionmaker(env.engine)
    assert webhook.deliver_due(sessions, env.settings, env.clock) == 0  # not due yet
    env.clock.advance(timedelta(seconds=30))
    assert webhook.deliver_due(sessions, env.settings, env.clock) == 1
    assert _pending(env) == []
    ok(phone.report({}))  # now compliant: a second change, delivered at once
    assert len(receiver.received) == 3

    bodies = []
    for headers, body in receiver.received:
        assert webhook.verify(SECRET.encode(), body, headers[webhook.SIGNATURE_HEADER])
        assert not webhook.verify(b"another secret", body, headers[webhook.SIGNATURE_HEADER])
        bodies.append(json.loads(body))
    assert bodies[0] == bodies[1]  # the retry sends the same delivery
    assert [b["compliant"] for b in bodies[1:]] == [False, True]
    assert bodies[1]["device_id"] == phone.id and bodies[1]["determinations"] == {
        "1": "non_compliant"
    }
    assert [h[webhook.DELIVERY_HEADER] for h, _ in receiver.received] == ["1", "1", "2"]


def test_a_report_without_a_verdict_change_sends_nothing(hooked: Env, receiver: Receiver) -> None:
    env = hooked
    receiver.failures = 0
    who = actors(env)
    phone = Phone(env, who)
    ok(phone.report({}))
    ok(phone.report({"org.notes": None}))
    assert len(receiver.received) == 1 and json.loads(receiver.received[0][1])["compliant"]


def test_a_device_going_silent_is_sent_when_a_read_notices(hooked: Env, receiver: Receiver) -> None:
    env = hooked
    receiver.failures = 0
    who, catalog = actors(env), seed_catalog(env)
    phone = Phone(env, who)
    reach(env, who, catalog, "in_force_interim", target=APP_TARGET)
    ok(phone.report({}))
    assert [json.loads(b)["compliant"] for _, b in receiver.received] == [True]
    env.clock.advance(timedelta(hours=24))
    path = f"/api/v1/devices/{phone.id}/compliance"
    device = ok(env.client.get(path, headers=env.headers(who.aude)))
    assert device["compliant"] is False
    assert device["determinations"][0]["status"] == "unreachable"
    last = json.loads(receiver.received[-1][1])
    assert (last["compliant"], last["determinations"]) == (False, {"1": "unreachable"})
