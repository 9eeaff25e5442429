"""Ask an Apple MDM server's devices for their apps, through the server's API (MicroMDM,
or NanoMDM, which has MicroMDM's webhook but its own API).

Apple's MDM protocol runs between a device and its MDM server: the server can only queue
a command, which the device answers at its next check-in. So a pull of an ``apple-mdm``
source *requests* the inventories — it enqueues the ``InstalledApplicationList`` command
for each device — and the answers arrive later through the server's webhook
(:mod:`appwarden.inventories.pull.webhook`), each imported as a file would be.

- MicroMDM: the devices come from ``GET {server}/v1/devices`` (the enrolled ones, by
  ``udid``), and each gets ``POST {server}/v1/commands`` with
  ``{"udid": …, "request_type": "InstalledApplicationList"}``; HTTP Basic ``micromdm``
  and the API key.
- NanoMDM has no device list: the devices are those of ``devices_file`` and those already
  imported from an Apple MDM (not retired); ``PUT {server}/v1/enqueue/{id,id,…}`` carries
  the command as an XML property list; HTTP Basic ``nanomdm`` and the API key.

Both push the devices (APNs) when the command is queued, so they check in soon.
"""

from __future__ import annotations

import base64
import json
import plistlib
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from appwarden.errors import Invalid, UpstreamFailed
from appwarden.inventories.pull.sources import AppleMdmSource, secret, text_file
from appwarden.inventories.pull.upstream import Upstream

COMMAND = "InstalledApplicationList"
#: An enrollment id as NanoMDM and MicroMDM use them: a UDID, an enrollment id, or a
#: user channel's ``UDID:user``; never a comma or slash (they are joined in a URL path).
ENROLLMENT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,300}$")
#: Enrollments named in one NanoMDM enqueue call (its URL carries them all).
PER_CALL = 50
#: Most lines read from ``devices_file``.
MAX_DEVICES = 100_000
_Progress = Callable[[int, int], None] | None


def _basic(user: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


def listed(source: AppleMdmSource) -> list[str]:
    """The ids of ``devices_file`` (none if unset): one a line; blank lines and lines
    starting with ``#`` are skipped; a line that is not an id refuses the whole file."""
    if source.devices_file is None:
        return []
    where = source.devices_file
    lines = text_file(where, "devices").splitlines()
    ids: list[str] = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if not ENROLLMENT_ID.match(text):
            raise Invalid(f"the devices file {where}, line {number}: {text[:60]!r} is not an id")
        ids.append(text)
    if len(ids) > MAX_DEVICES:
        raise Invalid(f"the devices file {where} names more than {MAX_DEVICES} devices")
    return ids


def _micromdm_devices(base: str, upstream: Upstream, auth: str) -> list[str]:
    answer = upstream.json("GET", f"{base}/v1/devices", headers={"Authorization": auth})
    devices = answer.get("devices")
    if devices is None:  # MicroMDM leaves the list out when it has no device
        return []
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        raise UpstreamFailed("MicroMDM: the device list has no devices list")
    return [
        d["udid"]
        for d in devices
        if d.get("enrolled") is True and isinstance(d.get("udid"), str) and d["udid"]
    ]


def _micromdm(base: str, upstream: Upstream, auth: str, ids: list[str], progress: _Progress) -> int:
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    for done, udid in enumerate(ids, start=1):
        body = {"udid": udid, "request_type": COMMAND}
        answer = upstream.json(
            "POST", f"{base}/v1/commands", headers=headers, content=json.dumps(body).encode()
        )
        payload = answer.get("payload")
        # ``command_uuid`` (MicroMDM 1.x); its first releases answered ``CommandUUID``.
        if not isinstance(payload, dict) or not (
            payload.get("command_uuid") or payload.get("CommandUUID")
        ):
            raise UpstreamFailed(f"MicroMDM: the command for {udid} was not queued")
        if progress is not None:
            progress(done, len(ids))
    return len(ids)


def _nanomdm(base: str, upstream: Upstream, auth: str, ids: list[str], progress: _Progress) -> int:
    headers = {"Authorization": auth, "Content-Type": "application/xml"}
    done = 0
    for start in range(0, len(ids), PER_CALL):
        part = ids[start : start + PER_CALL]
        command = {"Command": {"RequestType": COMMAND}, "CommandUUID": str(uuid.uuid4())}
        answer = upstream.json(
            "PUT",
            f"{base}/v1/enqueue/{','.join(quote(i, safe='') for i in part)}",
            headers=headers,
            content=plistlib.dumps(command, fmt=plistlib.FMT_XML),
        )
        _check_enqueued(answer, part)
        done += len(part)
        if progress is not None:
            progress(done, len(ids))
    return done


def _check_enqueued(answer: dict[str, Any], part: list[str]) -> None:
    """NanoMDM answers 207 when some enrollments were not queued: each says why."""
    if isinstance(answer.get("command_error"), str) and answer["command_error"]:
        raise UpstreamFailed(f"NanoMDM: the command was not queued ({answer['command_error']})")
    status = answer.get("status") or {}
    if not isinstance(status, dict):
        raise UpstreamFailed("NanoMDM: the enqueue answer's status is not an object")
    for enrollment, outcome in status.items():
        if isinstance(outcome, dict) and outcome.get("command_error"):
            raise UpstreamFailed(
                f"NanoMDM: the command was not queued for {str(enrollment)[:100]} "
                f"({str(outcome['command_error'])[:200]})"
            )


def request(
    source: AppleMdmSource,
    upstream: Upstream,
    *,
    known: Iterable[str] = (),
    progress: _Progress = None,
) -> int:
    """Enqueue ``InstalledApplicationList`` for the source's devices; how many were asked.
    ``known`` are the ids of devices already imported from an Apple MDM (for NanoMDM)."""
    key = secret(source.api_key_file, "API key")
    base = str(source.server).rstrip("/")
    extra = listed(source)
    if source.flavor == "micromdm":
        auth = _basic("micromdm", key)
        ids = list(dict.fromkeys([*_micromdm_devices(base, upstream, auth), *extra]))
        return _micromdm(base, upstream, auth, ids, progress)
    ids = list(dict.fromkeys([*extra, *(i for i in known if ENROLLMENT_ID.match(i))]))
    if not ids:
        raise Invalid(
            f"{source.name}: NanoMDM cannot list its devices and none is known: name them in "
            "devices_file (one UDID or enrollment id a line)"
        )
    return _nanomdm(base, upstream, _basic("nanomdm", key), ids, progress)
