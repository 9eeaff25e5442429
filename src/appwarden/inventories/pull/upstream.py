"""Calls to an MDM's API, with one policy for all of them: every answer is read up to a cap,
throttling (429, 503 with ``Retry-After``) is waited out a bounded number of times, and
every failure becomes :class:`~appwarden.errors.UpstreamFailed` naming the service, the
call and what came back — never a traceback, never a secret (request bodies, which carry
credentials, are not repeated; nor are URLs' query strings).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from appwarden.errors import UpstreamFailed

#: Longest wait asked by ``Retry-After`` that is honoured; longer asks fail the pull.
MAX_RETRY_AFTER_S = 120.0
#: Times one call is retried after throttling or a transport error.
RETRIES = 4


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _message(body: bytes) -> str:
    """The error an API put in its body (OAuth, Graph, Google, MicroMDM and NanoMDM shapes),
    shortened."""
    try:
        document = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip() or "no details"
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(document.get("error_description"), str):
            return str(document["error_description"])[:300]
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
        if isinstance(document.get("command_error"), str):  # NanoMDM's API
            return str(document["command_error"])[:300]
    return "no details"


def _retry_after(answer: httpx.Response, attempt: int) -> float:
    raw = answer.headers.get("Retry-After", "")
    try:
        wait = float(raw)
    except ValueError:
        wait = float(2**attempt)
    return max(0.0, wait)


class Upstream:
    """One MDM service (``name``, for messages) reached through ``client``."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        name: str,
        max_bytes: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.name, self.max_bytes, self.sleep = client, name, max_bytes, sleep
        self.calls = 0

    def json(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        """The JSON object ``url`` answers with 2xx; anything else raises UpstreamFailed.
        The request carries ``form`` (URL-encoded) or ``content`` (its type in ``headers``),
        if either is given."""
        call = f"{self.name}: {method} {_where(url)}"
        for attempt in range(RETRIES + 1):
            try:
                status, answer, body = self._send(method, url, headers, form, content, call)
            except httpx.TransportError as error:
                if attempt == RETRIES:
                    raise UpstreamFailed(f"{call}: cannot reach it ({error})") from None
                self.sleep(float(2**attempt))
                continue
            if status in (429, 503) and attempt < RETRIES:
                wait = _retry_after(answer, attempt)
                if wait > MAX_RETRY_AFTER_S:
                    raise UpstreamFailed(f"{call}: throttled, asked to wait {wait:.0f} s")
                self.sleep(wait)
                continue
            if status in (401, 403):
                raise UpstreamFailed(
                    f"{call}: refused the credentials ({status}: {_message(body)})", status=status
                )
            if not 200 <= status < 300:
                raise UpstreamFailed(f"{call}: answered {status} ({_message(body)})")
            try:
                document = json.loads(body)
            except ValueError:
                raise UpstreamFailed(f"{call}: the answer is not JSON") from None
            if not isinstance(document, dict):
                raise UpstreamFailed(f"{call}: the answer is not a JSON object")
            return document
        raise UpstreamFailed(f"{call}: still throttled after {RETRIES} retries")

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        content: bytes | None,
        call: str,
    ) -> tuple[int, httpx.Response, bytes]:
        self.calls += 1
        request = self.client.build_request(
            method, url, headers=headers, data=form, content=content
        )
        answer = self.client.send(request, stream=True)
        try:
            declared = answer.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise UpstreamFailed(f"{call}: the answer is larger than {self.max_bytes} bytes")
            chunks, size = [], 0
            for chunk in answer.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise UpstreamFailed(
                        f"{call}: the answer is larger than {self.max_bytes} bytes"
                    )
                chunks.append(chunk)
        finally:
            answer.close()
        return answer.status_code, answer, b"".join(chunks)


def same_origin(base: str, url: str) -> bool:
    """Whether ``url`` (a next-page link an API gave) is on the API's own scheme and host:
    the access token is never sent anywhere else."""
    a, b = urlsplit(base), urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
