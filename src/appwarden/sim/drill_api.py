"""The REST calls of a drill, each as the person whose role allows it: a device group and
an enrollment token (operator), evidence and a proposed ban (analyst), its approval as an
interim measure (approver) and, to start a drill again, its rescission."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from appwarden.fleet.schemas import MAX_TOKEN_USES

API = "/api/v1"


class DrillError(Exception):
    pass


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in (expected or (200,)):
        raise DrillError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()


@dataclass(frozen=True)
class Tokens:
    operator: str
    analyst: str
    approver: str


class DrillApi:
    def __init__(self, http: httpx.AsyncClient, tokens: Tokens) -> None:
        self.http = http
        self.tokens = tokens

    def _as(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(12)}

    async def group(self, name: str) -> int:
        """The id of the group ``name``, created if missing."""
        headers = self._as(self.tokens.operator)
        listing = _ok(await self.http.get(f"{API}/groups", params={"limit": 500}, headers=headers))
        for group in listing.get("items", listing) if isinstance(listing, dict) else listing:
            if group["name"] == name:
                return int(group["id"])
        body = {"name": name, "description": "Devices of the propagation drill."}
        return int(
            _ok(await self.http.post(f"{API}/groups", json=body, headers=headers), 201)["id"]
        )

    async def enrollment_token(self, group_id: int, uses: int) -> str:
        body = {
            "group_id": group_id,
            "max_uses": max(1, min(uses, MAX_TOKEN_USES)),
            "expires_in_hours": 24,
        }
        headers = self._as(self.tokens.operator)
        issued = _ok(
            await self.http.post(f"{API}/enrollment-tokens", json=body, headers=headers), 201
        )
        return str(issued["token"])

    async def evidence(self, app_id: str, upload: Path | None) -> int:
        """An assessment to cite: ``upload`` vetted now, else the latest of ``app_id``."""
        headers = self._as(self.tokens.analyst)
        if upload is not None:
            with upload.open("rb") as stream:
                files = {"file": (upload.name, stream, "application/octet-stream")}
                done = _ok(
                    await self.http.post(
                        f"{API}/apps/upload", files=files, headers=headers, timeout=300
                    ),
                    201,
                )
            return int(done["assessment"]["id"] if "assessment" in done else done["assessment_id"])
        apps = _ok(await self.http.get(f"{API}/apps", params={"q": app_id}, headers=headers))
        for app in apps.get("items", []):
            latest = app.get("latest_assessment")
            if latest:
                return int(latest["id"])
            detail = _ok(await self.http.get(f"{API}/apps/{app['id']}", headers=headers))
            if detail.get("latest_assessment"):
                return int(detail["latest_assessment"]["id"])
        raise DrillError(
            f"no assessment of {app_id} to cite as evidence: pass --evidence FILE (an app "
            "file the analyst uploads and the server vets)"
        )

    async def propose_ban(self, app_id: str, group: str, evidence: int) -> int:
        now = datetime.now(UTC)
        body = {
            "title": f"Drill: ban {app_id}",
            "target": {"kind": "app", "app_id": app_id},
            "action": "ban",
            "scope": [group],
            "authority": "Propagation drill",
            "instrument": "Drill of the enforcement path; rescinded after the drill",
            "rationale": "Measures how fast a ban reaches the fleet.",
            "evidence": [evidence],
            "review_at": (now + timedelta(days=30)).isoformat(),
            "expires_at": (now + timedelta(days=31)).isoformat(),
        }
        headers = self._as(self.tokens.analyst)
        created = _ok(
            await self.http.post(f"{API}/determinations", json=body, headers=headers), 201
        )
        number = int(created["id"])
        _ok(
            await self.http.post(f"{API}/determinations/{number}/propose", json={}, headers=headers)
        )
        return number

    async def approve_interim(self, number: int) -> None:
        body = {"note": "Propagation drill: in force at once."}
        headers = self._as(self.tokens.approver)
        path = f"{API}/determinations/{number}/approve-interim"
        _ok(await self.http.post(path, json=body, headers=headers))

    async def rescind(self, number: int) -> None:
        headers = self._as(self.tokens.approver)
        path = f"{API}/determinations/{number}/rescind"
        response = await self.http.post(path, json={"note": "End of the drill."}, headers=headers)
        if response.status_code not in (200, 404, 409):
            _ok(response)

    async def compliance(self, number: int) -> dict[str, Any] | None:
        """The server's compliance view of the ban, where the server has one."""
        headers = {"Authorization": f"Bearer {self.tokens.operator}"}
        try:
            response = await self.http.get(
                f"{API}/determinations/{number}/compliance", headers=headers, timeout=10
            )
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body
