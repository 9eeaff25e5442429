"""A fake of the MDM services AppWarden pulls from, on a real socket: the Microsoft
identity platform's token endpoint and Microsoft Graph's managed devices, Google's OAuth
token endpoint and the Android Management API's device list.

It checks what a real service checks — the client secret, the service account's JWT
signature, audience and scope, the bearer token on every call — and serves the sample
documents (tests/inventories/samples) split into pages. Tests change ``FakeMdm`` fields to
make it fail in one way at a time.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.inventories.test_documents import sample
from tests.sim.servers import serving

TENANT, CLIENT_ID, CLIENT_SECRET = "contoso.example", "app-4d2f", "s3cret-value"
ENTERPRISE = "enterprises/LC01abcd23"
EMAIL = "appwarden@project.iam.gserviceaccount.example"


def _intune_devices() -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = json.loads(sample("intune_managed_devices.json"))["value"]
    return devices


def _amapi_devices() -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = json.loads(sample("amapi_devices_list.json"))["devices"]
    return devices


@dataclass
class FakeMdm:
    """What the fake serves, and the failures a test switches on."""

    url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    intune: list[dict[str, Any]] = field(default_factory=_intune_devices)
    amapi: list[dict[str, Any]] = field(default_factory=_amapi_devices)
    page_size: int = 1
    tokens: set[str] = field(default_factory=set)
    #: Answers to give before the real one, per path prefix: (status, headers, body).
    queued: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    #: A next-page link to give instead of the real one (Graph).
    next_link: str | None = None
    #: A page token to give instead of the real one (AMAPI).
    page_token: str | None = None
    calls: list[str] = field(default_factory=list)

    def service_account(self, folder: Path, *, token_uri: str | None = None) -> Path:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": "project",
            "private_key_id": "k1",
            "private_key": pem,
            "client_email": EMAIL,
            "token_uri": token_uri or f"{self.url}/google/token",
        }
        path = folder / "service-account.json"
        path.write_text(json.dumps(info))
        return path

    def client_secret(self, folder: Path, value: str = CLIENT_SECRET) -> Path:
        path = folder / "client-secret"
        path.write_text(value + "\n")
        return path

    def sources(self, folder: Path, *, every_minutes: int = 0, group: str | None = None) -> Path:
        """A sources file with one source of each kind pointing here."""
        secret, account = self.client_secret(folder), self.service_account(folder)
        grouped = f'group = "{group}"\n' if group else ""
        text = f"""
[[source]]
name = "intune"
kind = "intune"
every_minutes = {every_minutes}
{grouped}tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
client_secret_file = "{secret}"
authority = "{self.url}/entra"
graph = "{self.url}/graph"

[[source]]
name = "android"
kind = "amapi"
every_minutes = {every_minutes}
{grouped}enterprise = "{ENTERPRISE}"
service_account_file = "{account}"
api = "{self.url}/amapi"
"""
        path = folder / "sources.toml"
        path.write_text(text)
        return path

    # -- the services ------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/entra/{tenant}/oauth2/v2.0/token", self.entra_token, methods=["POST"]),
                Route("/graph/{version}/deviceManagement/managedDevices", self.graph_list),
                Route("/graph/{version}/deviceManagement/managedDevices/{id}", self.graph_one),
                Route("/google/token", self.google_token, methods=["POST"]),
                Route("/amapi/v1/enterprises/{enterprise}/devices", self.amapi_list),
            ]
        )

    def _queued(self, request: Request) -> Response | None:
        self.calls.append(f"{request.method} {request.url.path}")
        for prefix, answers in self.queued.items():
            if request.url.path.startswith(prefix) and answers:
                status, headers, body = answers.pop(0)
                return Response(body, status_code=status, headers=headers)
        return None

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def _token(self) -> JSONResponse:
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    async def entra_token(self, request: Request) -> Response:
        if (queued := self._queued(request)) is not None:
            return queued
        form = parse_qs((await request.body()).decode())
        expected = {
            "grant_type": ["client_credentials"],
            "client_id": [CLIENT_ID],
            "client_secret": [CLIENT_SECRET],
            "scope": [f"{self.url}/graph/.default"],
        }
        if request.path_params["tenant"] != TENANT or form != expected:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
                status_code=401,
            )
        return self._token()

    async def graph_list(self, request: Request) -> Response:
        if (queued := self._queued(request)) is not None:
            return queued
        if not self._authorized(request):
            return JSONResponse({"error": {"code": "InvalidAuthenticationToken"}}, 401)
        start = int(request.query_params.get("$skiptoken", "0"))
        listed = [
            {k: v for k, v in d.items() if k != "detectedApps"}
            for d in self.intune[start : start + self.page_size]
        ]
        page: dict[str, Any] = {"value": listed}
        if start + self.page_size < len(self.intune):
            base = f"{self.url}{request.url.path}?$select=id&$skiptoken={start + self.page_size}"
            page["@odata.nextLink"] = self.next_link or base
        return JSONResponse(page)

    async def graph_one(self, request: Request) -> Response:
        if (queued := self._queued(request)) is not None:
            return queued
        if not self._authorized(request):
            return JSONResponse({"error": {"code": "InvalidAuthenticationToken"}}, 401)
        if request.query_params.get("$expand") != "detectedApps":
            return JSONResponse({"id": request.path_params["id"]})
        for device in self.intune:
            if device["id"] == request.path_params["id"]:
                return JSONResponse({"id": device["id"], "detectedApps": device["detectedApps"]})
        return JSONResponse({"error": {"code": "ResourceNotFound", "message": "no"}}, 404)

    async def google_token(self, request: Request) -> Response:
        if (queued := self._queued(request)) is not None:
            return queued
        form = parse_qs((await request.body()).decode())
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        try:
            claims = jwt.decode(
                form["assertion"][0],
                certs={"k1": public.decode()},
                audience=f"{self.url}/google/token",
            )
        except (ValueError, KeyError) as error:
            return JSONResponse({"error": "invalid_grant", "error_description": str(error)}, 400)
        if claims.get("iss") != EMAIL or "androidmanagement" not in claims.get("scope", ""):
            return JSONResponse({"error": "invalid_scope"}, 400)
        return self._token()

    async def amapi_list(self, request: Request) -> Response:
        if (queued := self._queued(request)) is not None:
            return queued
        if not self._authorized(request):
            return JSONResponse(
                {"error": {"code": 401, "message": "Request had invalid credentials."}}, 401
            )
        if f"enterprises/{request.path_params['enterprise']}" != ENTERPRISE:
            return JSONResponse({"error": {"code": 404, "message": "no such enterprise"}}, 404)
        start = int(request.query_params.get("pageToken", "0"))
        size = min(int(request.query_params.get("pageSize", "100")), self.page_size)
        page: dict[str, Any] = {"devices": self.amapi[start : start + size]}
        if start + size < len(self.amapi):
            page["nextPageToken"] = self.page_token or str(start + size)
        return JSONResponse(page)


@contextmanager
def running() -> Iterator[FakeMdm]:
    """The fake MDM on 127.0.0.1 until the block ends."""
    mdm = FakeMdm()
    with serving(mdm.app()) as url:
        mdm.url = url
        yield mdm
