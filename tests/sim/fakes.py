"""The fake server (the benchmark's limit server, in process) and a transport that can
drop off the network, for agent tests."""

from __future__ import annotations

import httpx

from appwarden.clock import Clock
from appwarden.sim.agent import Agent, AgentConfig
from appwarden.sim.client import DeviceClient, HttpxHttp
from appwarden.sim.inventory import InstalledApp
from appwarden.sim.packages import SimulatedPackageManager
from bench._limit_server import LimitState, create_app


class Flaky(httpx.AsyncBaseTransport):
    """Passes requests to the app, unless ``down``; an answer the app drops is a read error."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False
        self.requests: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("the network is down", request=request)
        self.requests.append(f"{request.method} {request.url.raw_path.decode()}")
        try:
            return await self.inner.handle_async_request(request)
        except ConnectionAbortedError as error:
            raise httpx.ReadError(str(error), request=request) from error


def fake_server() -> tuple[LimitState, Flaky, HttpxHttp]:
    state = LimitState()
    flaky = Flaky(httpx.ASGITransport(app=create_app(state)))
    return state, flaky, HttpxHttp(httpx.AsyncClient(transport=flaky, base_url="http://fake"))


def agent_on(http: HttpxHttp, clock: Clock, *apps: str, **config: object) -> Agent:
    packages = SimulatedPackageManager(InstalledApp(a) for a in apps)
    return Agent(
        DeviceClient(http, clock),
        packages,
        clock=clock,
        config=AgentConfig(**config),  # type: ignore[arg-type]
    )
