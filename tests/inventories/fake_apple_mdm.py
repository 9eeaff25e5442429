"""A fake of the Apple MDM servers AppWarden asks for inventories, on a real socket:
MicroMDM's API (``GET /v1/devices``, ``POST /v1/commands``) under ``/micro`` and NanoMDM's
(``PUT /v1/enqueue/{ids}``) under ``/nano``.

Each checks what the real server checks — HTTP Basic with its user name (``micromdm``,
``nanomdm``) and the API key, a command it can read (MicroMDM's JSON, NanoMDM's XML
property list) — and records the commands queued, per device. Tests change ``FakeAppleMdm``
fields to make it fail in one way at a time. :func:`event` makes the webhook events these
servers post (MicroMDM's format, NanoMDM's too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import plistlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.inventories.test_documents import sample
from tests.inventories.test_imports import MORNING
from tests.sim.servers import serving

API_KEY, WEBHOOK_SECRET = "mdm-api-key-1", "hook-secret-2"
#: The devices of the sample answers (tests/inventories/samples/apple_installed_apps.plist).
UDID = "00008110-001A2B3C4D5E6F70"
ENROLLMENT_ID = "FA3B9C1D-7E42-4E60-8D11-0123456789AB"


def _micromdm_devices() -> list[dict[str, Any]]:
    return [
        {"udid": UDID, "serial_number": "F2LX", "enrolled": True},
        {"udid": "0000-NOT-ENROLLED", "serial_number": "F2LY"},  # DEP, never enrolled
        {"serial_number": "F2LZ"},  # assigned in DEP, no UDID yet
    ]


def answers() -> list[dict[str, Any]]:
    """The sample's device answers, one dictionary each (as devices send them)."""
    found: list[dict[str, Any]] = plistlib.loads(sample("apple_installed_apps.plist"))
    return found


def event(
    answer: dict[str, Any] | bytes | None,
    *,
    topic: str = "mdm.Connect",
    status: str = "Acknowledged",
    created_at: str | None = None,
) -> bytes:
    """A MicroMDM webhook event carrying ``answer`` (a property list, or raw bytes)."""
    raw = plistlib.dumps(answer) if isinstance(answer, dict) else answer
    acknowledge = {
        "udid": UDID,
        "status": status,
        "command_uuid": "6C1F3E0A-0001",
        "url_params": None,
        "raw_payload": base64.b64encode(raw).decode() if raw is not None else None,
    }
    body = {
        "topic": topic,
        "event_id": "e-1",
        "created_at": created_at or MORNING.isoformat().replace("+00:00", ".123456789Z"),
        "acknowledge_event": acknowledge,
    }
    return json.dumps(body, indent="\t").encode()


def signature(body: bytes, secret: str) -> str:
    """``X-Hmac-Signature`` of ``body``: base64 HMAC-SHA256 keyed with ``secret``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class FakeAppleMdm:
    """What the fake serves, and the failures a test switches on."""

    url: str = ""
    devices: list[dict[str, Any]] = field(default_factory=_micromdm_devices)
    #: Commands queued: (device id, request type, command uuid).
    queued: list[tuple[str, str, str]] = field(default_factory=list)
    #: NanoMDM: enrollment ids it refuses to queue for (a 207 answer).
    unknown: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def sources(self, folder: Path, *, group: str | None = None, devices: str = "") -> Path:
        """A sources file with a MicroMDM and a NanoMDM source pointing here."""
        key, hook, listed = folder / "mdm-api-key", folder / "webhook-secret", folder / "devices"
        key.write_text(API_KEY + "\n")
        hook.write_text(WEBHOOK_SECRET + "\n")
        listed.write_text(devices)
        grouped = f'group = "{group}"\n' if group else ""
        text = f"""
[[source]]
name = "micro"
kind = "apple-mdm"
flavor = "micromdm"
{grouped}supervised = true
server = "{self.url}/micro"
api_key_file = "{key}"
webhook_secret_file = "{hook}"

[[source]]
name = "nano"
kind = "apple-mdm"
flavor = "nanomdm"
{grouped}server = "{self.url}/nano"
api_key_file = "{key}"
webhook_secret_file = "{hook}"
devices_file = "{listed}"
"""
        path = folder / "sources.toml"
        path.write_text(text)
        return path

    # -- the services ------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/micro/v1/devices", self.micro_devices),
                Route("/micro/v1/commands", self.micro_command, methods=["POST"]),
                Route("/nano/v1/enqueue/{ids}", self.nano_enqueue, methods=["PUT"]),
            ]
        )

    def _authorized(self, request: Request, user: str) -> bool:
        self.calls.append(f"{request.method} {request.url.path}")
        expected = base64.b64encode(f"{user}:{API_KEY}".encode()).decode()
        return request.headers.get("Authorization", "") == f"Basic {expected}"

    async def micro_devices(self, request: Request) -> Response:
        if not self._authorized(request, "micromdm"):
            return Response("Unauthorized\n", status_code=401)
        return JSONResponse({"devices": self.devices})

    async def micro_command(self, request: Request) -> Response:
        if not self._authorized(request, "micromdm"):
            return Response("Unauthorized\n", status_code=401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "decoding command request"}, 400)
        udid, kind = body.get("udid"), body.get("request_type")
        if not udid or not kind:
            return JSONResponse({"error": "request must contain UDID of the device"}, 400)
        command_uuid = str(uuid.uuid4())
        self.queued.append((udid, kind, command_uuid))
        payload = {"command_uuid": command_uuid, "command": {"request_type": kind}}
        return JSONResponse({"payload": payload}, status_code=201)

    async def nano_enqueue(self, request: Request) -> Response:
        if not self._authorized(request, "nanomdm"):
            return Response("Unauthorized\n", status_code=401)
        try:
            command = plistlib.loads(await request.body(), fmt=plistlib.FMT_XML)
            kind, command_uuid = command["Command"]["RequestType"], command["CommandUUID"]
        except (plistlib.InvalidFileException, ValueError, KeyError, TypeError):
            return Response(status_code=500)
        ids = request.path_params["ids"].split(",")
        status: dict[str, Any] = {}
        for one in ids:
            if one in self.unknown:
                status[one] = {"command_error": f"enrollment {one} not found"}
            else:
                self.queued.append((one, kind, command_uuid))
                status[one] = {"push_result": str(uuid.uuid4())}
        result = {"status": status, "command_uuid": command_uuid, "request_type": kind}
        return JSONResponse(result, status_code=207 if self.unknown & set(ids) else 200)


@contextmanager
def running() -> Iterator[FakeAppleMdm]:
    """The fake Apple MDM servers on 127.0.0.1 until the block ends."""
    mdm = FakeAppleMdm()
    with serving(mdm.app()) as url:
        mdm.url = url
        yield mdm
