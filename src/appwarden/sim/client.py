"""The device side of protocol v1 over HTTP: enrollment and signed requests with httpx."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from appwarden.clock import Clock
from appwarden.protocol.v1.signing import signed_headers

#: Network trouble worth retrying with backoff (the server is away, slow or overloaded).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    httpx.TransportError,
    aiohttp.ClientError,
    TimeoutError,
    ConnectionError,
)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http(Protocol):
    """What the device client needs of HTTP: one request, its whole answer."""

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer: ...

    async def aclose(self) -> None: ...


class HttpxHttp:
    """httpx under the client (the tests drive ASGI apps in process with it)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer:
        response = await self.client.request(
            method, target, headers=headers, content=body or None, timeout=timeout
        )
        return Answer(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self.client.aclose()


class AiohttpHttp:
    """aiohttp under the client: about six times less CPU per request than httpx, which
    decides how many agents one simulator process can drive (see docs/agent.md)."""

    def __init__(self, base_url: str, *, local_address: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.local_address = local_address
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0,
                local_addr=(self.local_address, 0) if self.local_address else None,
                keepalive_timeout=600,
            )
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    async def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> Answer:
        session = self._open()
        async with session.request(
            method,
            self.base_url + target,
            headers=headers,
            data=body or None,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            content = await response.read()
            return Answer(response.status, response.headers, content)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_http(base_url: str, *, local_address: str | None = None) -> Http:
    """The HTTP client of one process's agents (they share its connection pool)."""
    return AiohttpHttp(base_url, local_address=local_address)


@dataclass(frozen=True)
class Identity:
    """Who the device is: its id and its Ed25519 private key."""

    device_id: str
    key: Ed25519PrivateKey

    @classmethod
    def generate_key(cls) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.generate()

    def document(self) -> dict[str, str]:
        raw = self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return {"device_id": self.device_id, "private_key": base64.b64encode(raw).decode()}

    @classmethod
    def from_document(cls, raw: dict[str, Any]) -> Identity:
        key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(str(raw["private_key"])))
        return cls(str(raw["device_id"]), key)


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


class ProtocolError(Exception):
    """The server refused a request (a 4xx or 5xx other than the ones the agent handles)."""

    def __init__(self, answer: Answer) -> None:
        self.status = answer.status
        try:
            body = answer.json()
        except ValueError:
            body = {}
        text = answer.body[:200].decode("utf-8", "replace")
        self.type = str(body.get("type", "")) if isinstance(body, dict) else ""
        self.detail = str(body.get("detail", text)) if isinstance(body, dict) else text
        super().__init__(f"{self.status} {self.type}: {self.detail}")


@dataclass(frozen=True)
class PolicyAnswer:
    """``body`` is the policy response, or None for 304 (unchanged)."""

    body: dict[str, Any] | None
    etag: str | None


class DeviceClient:
    """Signed protocol v1 requests for one device over a (shared) HTTP client."""

    def __init__(
        self, http: Http, clock: Clock, *, timeout: float = 30.0, report_timeout: float = 120.0
    ) -> None:
        self.http = http
        self.clock = clock
        self.timeout = timeout
        #: A report waits longer: the server records it even if the device gives up, and
        #: under a fleet-wide burst a retry only joins the same queue again.
        self.report_timeout = report_timeout

    async def _post(self, target: str, raw: bytes, headers: dict[str, str]) -> Answer:
        headers["Content-Type"] = "application/json"
        return await self.http.request("POST", target, headers, raw, self.timeout)

    async def enroll(
        self, token: str, attributes: dict[str, Any], key: Ed25519PrivateKey
    ) -> Identity:
        body = {"token": token, "public_key": public_key_b64(key), **attributes}
        answer = await self._post("/v1/enroll", json.dumps(body).encode(), {})
        if answer.status != 201:
            raise ProtocolError(answer)
        return Identity(str(answer.json()["device_id"]), key)

    def _headers(self, identity: Identity, method: str, target: str, body: bytes) -> dict[str, str]:
        return signed_headers(
            identity.key,
            device_id=identity.device_id,
            method=method,
            target=target,
            body=body,
            timestamp=int(self.clock.now().timestamp()),
        )

    async def policy(self, identity: Identity, etag: str | None, wait: int = 0) -> PolicyAnswer:
        """``GET /v1/policy`` (long-polling ``wait`` seconds when ``etag`` is current)."""
        target = f"/v1/policy?wait={wait}" if wait else "/v1/policy"
        headers = self._headers(identity, "GET", target, b"")
        if etag:
            headers["If-None-Match"] = f'"{etag}"'
        answer = await self.http.request("GET", target, headers, b"", wait + self.timeout)
        if answer.status == 304:
            return PolicyAnswer(None, etag)
        if answer.status != 200:
            raise ProtocolError(answer)
        body: dict[str, Any] = answer.json()
        return PolicyAnswer(body, str(body["etag"]))

    async def report(self, identity: Identity, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/state``; a retry sends the same body (same report id), newly signed."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = self._headers(identity, "POST", "/v1/state", raw)
        headers["Content-Type"] = "application/json"
        answer = await self.http.request("POST", "/v1/state", headers, raw, self.report_timeout)
        if answer.status != 200:
            raise ProtocolError(answer)
        accepted: dict[str, Any] = answer.json()
        return accepted

    async def install_check(
        self, identity: Identity, app_id: str, signer: str | None
    ) -> dict[str, Any]:
        raw = json.dumps({"app_id": app_id, "signer": signer}, separators=(",", ":")).encode()
        target = "/v1/install-check"
        answer = await self._post(target, raw, self._headers(identity, "POST", target, raw))
        if answer.status != 200:
            raise ProtocolError(answer)
        decided: dict[str, Any] = answer.json()
        return decided
