"""Pull an enterprise's devices and their application reports through the Android
Management API.

Authentication is a Google Cloud service account: a JWT assertion signed with the
account's key (google-auth signs it) is exchanged at the key file's ``token_uri`` for a
token with the ``androidmanagement`` scope (the JWT-bearer grant). The exchange and the
API calls go through the project's HTTP client (:mod:`.upstream`), so they share its cap,
throttling policy and error messages.

The devices come from ``GET /v1/{enterprise}/devices``, page by page through
``nextPageToken``. The result is the list of pages an operator would import by hand, read
by :mod:`appwarden.inventories.amapi`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from google.auth import crypt, jwt

from appwarden.errors import Invalid, UpstreamFailed
from appwarden.inventories.pull.sources import AmapiSource, secret
from appwarden.inventories.pull.upstream import Upstream

SCOPE = "https://www.googleapis.com/auth/androidmanagement"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Most pages followed: a loop of page tokens ends here, with an error.
MAX_PAGES = 10_000
#: Lifetime asked for the assertion (Google accepts at most an hour).
ASSERTION_S = 3600


def _key(source: AmapiSource) -> dict[str, Any]:
    where = source.service_account_file
    raw = secret(where, "service account key")
    try:
        info = json.loads(raw)
    except ValueError:
        raise Invalid(
            f"the service account key {source.service_account_file} is not JSON"
        ) from None
    if not isinstance(info, dict):
        raise Invalid(f"the service account key {source.service_account_file} is not an object")
    for field in ("client_email", "private_key", "token_uri"):
        if not isinstance(info.get(field), str) or not info[field]:
            raise Invalid(f"the service account key {source.service_account_file} has no {field}")
    return info


def token(source: AmapiSource, upstream: Upstream, *, now: Callable[[], float]) -> str:
    """An access token for the service account of ``source``."""
    info = _key(source)
    try:
        signer = crypt.RSASigner.from_service_account_info(info)  # type: ignore[no-untyped-call]
    except (ValueError, TypeError):
        raise Invalid(
            f"the service account key {source.service_account_file}: private_key is not a "
            "PEM RSA key"
        ) from None
    issued = int(now())
    claims = {
        "iss": info["client_email"],
        "scope": SCOPE,
        "aud": info["token_uri"],
        "iat": issued,
        "exp": issued + ASSERTION_S,
    }
    assertion = jwt.encode(signer, claims).decode()  # type: ignore[no-untyped-call]
    answer = upstream.json(
        "POST", info["token_uri"], form={"grant_type": GRANT, "assertion": assertion}
    )
    value = answer.get("access_token")
    if not isinstance(value, str) or not value:
        raise UpstreamFailed("Google OAuth: the token answer has no access_token")
    return value


def fetch(
    source: AmapiSource,
    upstream: Upstream,
    *,
    now: Callable[[], float] = time.time,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Every page of the enterprise's device list, as a JSON list of the pages."""
    headers = {"Authorization": f"Bearer {token(source, upstream, now=now)}"}
    base = f"{str(source.api).rstrip('/')}/v1/{source.enterprise}/devices"
    pages: list[dict[str, Any]] = []
    tokens: set[str] = set()
    next_token: str | None = None
    devices = 0
    while True:
        query = {"pageSize": str(source.page_size)}
        if next_token is not None:
            query["pageToken"] = next_token
        page = upstream.json("GET", f"{base}?{urlencode(query)}", headers=headers)
        listed = page.get("devices", [])
        if not isinstance(listed, list):
            raise UpstreamFailed("Android Management API: devices is not a list")
        pages.append(page)
        devices += len(listed)
        if progress is not None:
            progress(devices, 0)
        next_token = page.get("nextPageToken") or None
        if next_token is None:
            break
        if not isinstance(next_token, str) or next_token in tokens or len(pages) >= MAX_PAGES:
            raise UpstreamFailed(
                f"Android Management API: the device pages loop (page {len(pages)})"
            )
        tokens.add(next_token)
    return json.dumps(pages).encode()
