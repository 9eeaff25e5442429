"""The device side of protocol v1 over HTTP: enrollment and signed requests with httpx."""

from __future__ import annotations

import base64
import json
import ssl
from dataclasses import dataclass
from typing import Any

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

#: Network trouble worth retrying with backoff (the server is away or overloaded).
NETWORK_ERRORS: tuple[type[BaseException], ...] = (httpx.TransportError,)
_SSL: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of a process: loading CA files per client is slow."""
    global _SSL
    if _SSL is None:
        _SSL = ssl.create_default_context()
    return _SSL


def make_http(
    base_url: str,
    *,
    connections: int = 64,
    local_address: str | None = None,
    timeout: float = 30.0,
) -> httpx.AsyncClient:
    """An HTTP client for ``connections`` agents (each holds at most one request)."""
    transport = httpx.AsyncHTTPTransport(
        verify=shared_ssl_context(),
        local_address=local_address,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        retries=0,
    )
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)


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

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        self.type = str(body.get("type", "")) if isinstance(body, dict) else ""
        self.detail = str(body.get("detail", response.text[:200])) if isinstance(body, dict) else ""
        super().__init__(f"{self.status} {self.type}: {self.detail}")


@dataclass(frozen=True)
class PolicyAnswer:
    """``body`` is the policy response, or None for 304 (unchanged)."""

    body: dict[str, Any] | None
    etag: str | None


class DeviceClient:
    """Signed protocol v1 requests for one device over a (shared) httpx client."""

    def __init__(self, http: httpx.AsyncClient, clock: Clock) -> None:
        self.http = http
        self.clock = clock

    async def enroll(
        self, token: str, attributes: dict[str, Any], key: Ed25519PrivateKey
    ) -> Identity:
        body = {"token": token, "public_key": public_key_b64(key), **attributes}
        response = await self.http.post("/v1/enroll", json=body)
        if response.status_code != 201:
            raise ProtocolError(response)
        return Identity(str(response.json()["device_id"]), key)

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
        timeout = httpx.Timeout(30.0, read=wait + 30.0)
        response = await self.http.get(target, headers=headers, timeout=timeout)
        if response.status_code == 304:
            return PolicyAnswer(None, etag)
        if response.status_code != 200:
            raise ProtocolError(response)
        body: dict[str, Any] = response.json()
        return PolicyAnswer(body, str(body["etag"]))

    async def report(self, identity: Identity, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/state``; a retry sends the same body (same report id), newly signed."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        headers = self._headers(identity, "POST", "/v1/state", raw)
        headers["Content-Type"] = "application/json"
        response = await self.http.post("/v1/state", content=raw, headers=headers)
        if response.status_code != 200:
            raise ProtocolError(response)
        accepted: dict[str, Any] = response.json()
        return accepted

    async def install_check(
        self, identity: Identity, app_id: str, signer: str | None
    ) -> dict[str, Any]:
        raw = json.dumps({"app_id": app_id, "signer": signer}, separators=(",", ":")).encode()
        headers = self._headers(identity, "POST", "/v1/install-check", raw)
        headers["Content-Type"] = "application/json"
        response = await self.http.post("/v1/install-check", content=raw, headers=headers)
        if response.status_code != 200:
            raise ProtocolError(response)
        decided: dict[str, Any] = response.json()
        return decided
