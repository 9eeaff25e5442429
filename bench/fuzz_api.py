"""Fuzz the REST API and the device protocol with schemathesis, as each role.

Usage (from the repository root)::

    .venv/bin/python bench/fuzz_api.py [--examples 50] [--seed 0] [--database URL]
                                       [--json out.json]

Builds the app on a fresh SQLite file (or ``--database``, migrated first), creates one user
per role with an API token, seeds one object of each kind (publisher, app, group,
enrollment token, device, determination, waiver) so that generated ids sometimes name a
real row, then sends ``--examples`` generated cases of every operation in the app's OpenAPI
document as every role, in-process. Every response must be no 5xx and conform to the
document (status, content type, body schema). Prints cases and statuses per role and each
distinct finding; exits 1 if there is one. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.testclient import TestClient

from appwarden import migrate
from appwarden.app import create_app
from appwarden.auth import service as auth
from appwarden.auth.roles import Role
from appwarden.clock import FixedClock
from appwarden.config import Settings
from appwarden.db import make_engine, make_sessionmaker

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _api_fuzzing import Run, fuzz  # noqa: E402

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throwaway database)


@contextmanager
def running_app(database_url: str, data_dir: Path) -> Iterator[tuple[TestClient, Settings]]:
    """The app on ``database_url`` (migrated), lifespan running, clock fixed."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(data_dir=data_dir, database_url=database_url, audit_key="fuzz-audit-key")
    app = create_app(settings, clock=FixedClock(START))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, settings
    finally:
        app.state.context.engine.dispose()


def role_tokens(client: TestClient) -> dict[str, Callable[[bool], str]]:
    """One user per role; each role's callable gives its token, a new one on request."""
    context = client.app.state.context  # type: ignore[attr-defined]
    sessions = make_sessionmaker(context.engine)
    ids: dict[str, int] = {}
    with sessions() as session, session.begin():
        for role in Role:
            user, _ = auth.create_user(
                session,
                clock=context.clock,
                username=f"fuzz-{role.value}",
                display_name=f"Fuzz {role.value}",
                role=role,
                password=PASSWORD,
            )
            ids[role.value] = user.id

    def issuer(role: str) -> Callable[[bool], str]:
        current: list[str] = []

        def token(renew: bool) -> str:
            if renew or not current:
                with sessions() as session, session.begin():
                    user = session.get(auth.User, ids[role])
                    assert user is not None
                    _, clear = auth.issue_token(
                        session, clock=context.clock, user=user, name="fuzz", days=30
                    )
                current[:] = [clear]
            return current[0]

        return token

    return {role.value: issuer(role.value) for role in Role}


def seed(client: TestClient, tokens: dict[str, Callable[[bool], str]]) -> dict[str, Any]:
    """One object of each kind, so generated ids sometimes hit a real row."""

    def as_(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role](False)}"}

    made: dict[str, Any] = {}
    publisher = client.post(
        "/api/v1/publishers",
        json={"name": "Fuzz Corp", "jurisdiction": "CA"},
        headers=as_("analyst"),
    )
    made["publisher"] = publisher.status_code
    app = client.post(
        "/api/v1/apps",
        json={"platform": "android", "app_id": "com.example.fuzz", "name": "Fuzz"},
        headers=as_("analyst"),
    )
    made["app"] = app.status_code
    group = client.post("/api/v1/groups", json={"name": "fuzzers"}, headers=as_("operator"))
    made["group"] = group.status_code
    if group.status_code == 201:
        enrollment = client.post(
            "/api/v1/enrollment-tokens",
            json={"group_id": group.json()["id"], "max_uses": 5},
            headers=as_("operator"),
        )
        made["enrollment_token"] = enrollment.status_code
        if enrollment.status_code == 201:
            key = Ed25519PrivateKey.generate().public_key()
            raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
            device = client.post(
                "/v1/enroll",
                json={
                    "token": enrollment.json()["token"],
                    "platform": "android",
                    "ownership": "corporate",
                    "public_key": base64.b64encode(raw).decode(),
                },
            )
            made["device"] = device.status_code
    if publisher.status_code == 201:
        determination = client.post(
            "/api/v1/determinations",
            json={
                "title": "Fuzz Corp apps",
                "target": {"kind": "publisher", "publisher_id": publisher.json()["id"]},
                "action": "ban",
                "scope": ["*"],
                "authority": "Chief Information Officer",
                "instrument": "Fuzz directive",
                "rationale": "fuzzing",
                "evidence": [],
                "review_at": "2027-01-22T09:00:00Z",
                "expires_at": "2027-02-21T09:00:00Z",
            },
            headers=as_("analyst"),
        )
        made["determination"] = determination.status_code
    return made


def report(run: Run, seconds: float, examples: int, seed_value: int) -> dict[str, Any]:
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "examples_per_operation": examples,
        "seed": seed_value,
        "seconds": round(seconds, 1),
        "roles": {
            role: {
                "operations": stats.operations,
                "cases": stats.cases,
                "findings": stats.findings,
                "token_renewals": stats.token_renewals,
                "statuses": dict(sorted(stats.statuses.items())),
            }
            for role, stats in run.roles.items()
        },
        "findings": [vars(finding) for finding in run.findings.values()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="cases per operation and role")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or f"sqlite:///{folder}/fuzz.db"
        with running_app(database, Path(folder) / "data") as (client, _settings):
            tokens = role_tokens(client)
            seeded = seed(client, tokens)
            started = time.perf_counter()
            run = fuzz(client=client, tokens=tokens, examples=args.examples, seed=args.seed)
            seconds = time.perf_counter() - started
    figures = report(run, seconds, args.examples, args.seed) | {"seeded": seeded}
    print(f"{'role':<10} {'operations':>10} {'cases':>7} {'findings':>8}  statuses")
    for role, stats in figures["roles"].items():
        statuses = " ".join(f"{code}:{n}" for code, n in stats["statuses"].items())
        print(
            f"{role:<10} {stats['operations']:>10} {stats['cases']:>7} "
            f"{stats['findings']:>8}  {statuses}"
        )
    print(f"total cases {run.cases} in {seconds:.1f} s; seeded {seeded}")
    for finding in run.findings.values():
        print(f"\nFINDING {finding.operation} as {finding.role}: {finding.check} x{finding.count}")
        print(f"  {finding.message}")
        print(f"  e.g. {finding.example}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 1 if run.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
