"""Pull Intune's managed devices and their detected apps through Microsoft Graph.

Authentication is the OAuth 2.0 client-credentials grant of the Microsoft identity
platform: one form POST of the application's id and secret for a token with the
``{graph}/.default`` scope. It is written here on the project's HTTP client rather than
through MSAL because that grant is a single request, and the client gives every MDM call
the same cap, throttling policy and error messages (:mod:`.upstream`).

The devices come from ``GET /deviceManagement/managedDevices``, following
``@odata.nextLink``; each phone's apps from
``GET /deviceManagement/managedDevices/{id}?$expand=detectedApps``. The result is the same
document an operator would export and import by hand, read by
:mod:`appwarden.inventories.intune`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from appwarden.errors import UpstreamFailed
from appwarden.inventories.intune import PLATFORMS
from appwarden.inventories.pull.sources import IntuneSource, secret
from appwarden.inventories.pull.upstream import Upstream, same_origin

#: The properties read of each device (the import needs no others).
SELECT = (
    "id,deviceName,operatingSystem,managedDeviceOwnerType,isSupervised,"
    "userPrincipalName,lastSyncDateTime"
)
#: Most pages followed: a loop of next-page links ends here, with an error.
MAX_PAGES = 10_000
#: A token is renewed when it has less than this left (seconds).
RENEW_BEFORE_S = 120


class _Token:
    def __init__(self, source: IntuneSource, upstream: Upstream, clock: Callable[[], float]):
        self.source, self.upstream, self.clock = source, upstream, clock
        self.value, self.expires = "", 0.0

    def header(self) -> dict[str, str]:
        if self.clock() > self.expires - RENEW_BEFORE_S:
            self._renew()
        return {"Authorization": f"Bearer {self.value}", "Accept": "application/json"}

    def _renew(self) -> None:
        source = self.source
        authority = str(source.authority).rstrip("/")
        answer = self.upstream.json(
            "POST",
            f"{authority}/{quote(source.tenant_id, safe='')}/oauth2/v2.0/token",
            form={
                "grant_type": "client_credentials",
                "client_id": source.client_id,
                "client_secret": secret(source.client_secret_file, "client secret"),
                "scope": f"{str(source.graph).rstrip('/')}/.default",
            },
        )
        token, lifetime = answer.get("access_token"), answer.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise UpstreamFailed("Microsoft identity platform: the token answer has no token")
        if not isinstance(lifetime, int | str) or not str(lifetime).isdigit():
            raise UpstreamFailed("Microsoft identity platform: expires_in is not a number")
        self.value, self.expires = token, self.clock() + int(lifetime)


def _devices(base: str, upstream: Upstream, token: _Token) -> list[dict[str, Any]]:
    url: str | None = f"{base}/deviceManagement/managedDevices?$select={SELECT}"
    devices: list[dict[str, Any]] = []
    seen: set[str] = set()
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise UpstreamFailed(f"Microsoft Graph: the device pages loop (page {len(seen)})")
        seen.add(url)
        page = upstream.json("GET", url, headers=token.header())
        value = page.get("value")
        if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
            raise UpstreamFailed("Microsoft Graph: a managedDevices page has no value list")
        devices.extend(value)
        link = page.get("@odata.nextLink")
        if link is not None and (not isinstance(link, str) or not same_origin(base, link)):
            raise UpstreamFailed("Microsoft Graph: @odata.nextLink leaves the Graph endpoint")
        url = link
    return devices


def fetch(
    source: IntuneSource,
    upstream: Upstream,
    *,
    clock: Callable[[], float] = time.monotonic,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The tenant's managed devices, phones with their ``detectedApps``, as one Graph
    document (``{"value": [...]}``). Devices that are not phones are kept without apps:
    the import lists them as skipped, saying why."""
    base = f"{str(source.graph).rstrip('/')}/{source.graph_version}"
    token = _Token(source, upstream, clock)
    devices = _devices(base, upstream, token)
    for done, device in enumerate(devices, start=1):
        system, key = device.get("operatingSystem"), device.get("id")
        if isinstance(system, str) and system.lower() in PLATFORMS and isinstance(key, str):
            one = upstream.json(
                "GET",
                f"{base}/deviceManagement/managedDevices/{quote(key, safe='')}"
                "?$select=id&$expand=detectedApps",
                headers=token.header(),
            )
            apps = one.get("detectedApps")
            if not isinstance(apps, list):
                raise UpstreamFailed(f"Microsoft Graph: device {key!r} came without detectedApps")
            device["detectedApps"] = apps
        else:
            device.setdefault("detectedApps", [])
        if progress is not None:
            progress(done, len(devices))
    return json.dumps({"value": devices}).encode()
