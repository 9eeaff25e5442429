"""The limit: a server on the same ASGI stack (FastAPI + uvicorn, same worker count) that
answers the device protocol's enrollment, long-polls and state reports with no signatures
and no database, so the propagation benchmark can say how far the real server is from
what the stack itself allows. The tests of the agent use it as their fake server too.

Run: ``python bench/_limit_server.py --port 8100 --workers 1 [--trigger FILE]``. A ban is
set with ``POST /limit/ban {"app_id": ...}`` (one worker) or by writing the app id to the
trigger file (every worker reads it every 100 ms, as SQLite workers read one row).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from appwarden import allocator, collector
from appwarden.config import Settings
from appwarden.openfiles import raise_open_files
from appwarden.policy.compile import compile_policy
from appwarden.policy.model import DeviceInput, RuleInput


def inventory_hash(apps: list[dict[str, Any]]) -> str:
    lines = sorted(f"{a['app_id']}\t{a.get('signer') or ''}\n" for a in apps)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass
class LimitState:
    """Everything the server knows, in memory (one copy per worker)."""

    banned: tuple[str, ...] = ()
    version: int = 1
    body: dict[str, Any] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reports: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    accepted: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    enrolled: int = 0
    fail_next_state: int = 0  # tests: drop the answer of the next N reports after applying them

    def __post_init__(self) -> None:
        self.compile()

    def compile(self) -> None:
        rules = [
            RuleInput(id=i + 1, action="ban", target_kind="app", target_value=app, scope=["*"])
            for i, app in enumerate(self.banned)
        ]
        device = DeviceInput(device_id="any", platform="android", ownership="corporate")
        policy = compile_policy(device, rules, [], now=datetime.now(UTC))
        self.body = {"version": self.version, "etag": policy.etag, "policy": policy.document()}

    def ban(self, app_id: str) -> None:
        if app_id in self.banned:
            return
        self.banned = (*self.banned, app_id)
        self.version += 1
        self.compile()
        self.changed.set()
        self.changed = asyncio.Event()


def _etag_matches(header: str | None, etag: str) -> bool:
    return bool(header) and etag in {
        t.strip().removeprefix("W/").strip('"') for t in str(header).split(",")
    }


async def _park(request: Request, changed: asyncio.Event, wait: int) -> None:
    """Hold a long-poll until the policy changes, ``wait`` seconds pass or the client goes."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(gone())]
    try:
        await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


def create_app(state: LimitState | None = None, trigger: Path | None = None) -> FastAPI:
    state = state or LimitState()

    async def watch() -> None:
        while trigger is not None:
            with contextlib.suppress(OSError):
                for app_id in trigger.read_text().split():
                    state.ban(app_id)
            await asyncio.sleep(0.1)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(watch())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)
    app.state.limit = state

    @app.post("/v1/enroll", status_code=201)
    async def enroll(request: Request) -> dict[str, str]:
        await request.body()
        state.enrolled += 1
        return {"device_id": "d_" + secrets.token_hex(10)}

    @app.get("/v1/policy")
    async def policy(request: Request, wait: int = 0) -> Response:
        sent = request.headers.get("if-none-match")
        if wait and _etag_matches(sent, state.body["etag"]):
            await _park(request, state.changed, wait)
        headers = {"ETag": f'"{state.body["etag"]}"', "Cache-Control": "no-cache"}
        if _etag_matches(sent, state.body["etag"]):
            return Response(status_code=304, headers=headers)
        return JSONResponse(state.body, headers=headers)

    @app.post("/v1/state")
    async def report(request: Request) -> Response:
        device = request.headers.get("x-appwarden-device", "")
        body = json.loads(await request.body())
        state.reports.append((device, str(body["report_id"]), body))
        key = (device, str(body["report_id"]))
        if key not in state.accepted:
            inventory = body.get("inventory")
            if inventory and inventory["kind"] == "full":
                state.hashes[device] = inventory_hash(inventory["apps"])
            state.accepted[key] = {
                "report_id": body["report_id"],
                "inventory_hash": state.hashes.get(device, ""),
                "policy_version": state.version,
            }
        if state.fail_next_state > 0:
            state.fail_next_state -= 1
            raise ConnectionAbortedError("the answer is lost on the way back")
        return JSONResponse(state.accepted[key])

    @app.post("/limit/ban")
    async def ban(request: Request) -> dict[str, int]:
        state.ban(str((await request.json())["app_id"]))
        return {"version": state.version}

    return app


def main() -> None:
    from appwarden import serving
    from appwarden.cli.server import BACKLOG, WORKER_HEALTHCHECK_S

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--trigger", type=Path)
    args = parser.parse_args()
    # The same memory allocator as `appwarden serve` (APPWARDEN_ALLOCATOR): part of the stack.
    allocator.ensure(Settings().allocator)
    raise_open_files()  # as `appwarden serve` does; its workers inherit the limit
    if args.trigger:
        os.environ["LIMIT_TRIGGER"] = str(args.trigger)
    # The same supervisor, health-check time, listening sockets and backlog as
    # `appwarden serve`: part of the stack.
    serving.run(
        "bench._limit_server:factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        backlog=BACKLOG,
    )


def factory() -> FastAPI:
    # The same collector thresholds as each `appwarden serve` process (appwarden.asgi).
    collector.tune(Settings().gc_thresholds)
    trigger = os.environ.get("LIMIT_TRIGGER")
    return create_app(trigger=Path(trigger) if trigger else None)


if __name__ == "__main__":
    main()
