"""Checks on what the app contains: trackers, network endpoints and embedded code."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from appwarden.vetting.checks.base import Facts, check

_ADVERTISING = {"advertising", "advertisement", "ads"}
_ANALYTICS = {"analytics", "attribution", "profiling", "identification"}
_LOCATION = {"location"}

# ---------------------------------------------------------------- trackers


def _trackers_in(facts: Facts, categories: set[str], exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    return [
        f"{t.name} ({t.matched_by})"
        for t in facts.trackers
        if set(t.categories) & categories and not set(t.categories) & exclude
    ]


@check("AW-TRK-001")
def _advertising(facts: Facts) -> list[str]:
    return _trackers_in(facts, _ADVERTISING)


@check("AW-TRK-002")
def _analytics(facts: Facts) -> list[str]:
    return _trackers_in(facts, _ANALYTICS, exclude=_ADVERTISING | _LOCATION)


@check("AW-TRK-003")
def _location_trackers(facts: Facts) -> list[str]:
    return _trackers_in(facts, _LOCATION, exclude=_ADVERTISING)


@check("AW-TRK-004")
def _other_trackers(facts: Facts) -> list[str]:
    counted = _ADVERTISING | _ANALYTICS | _LOCATION
    return [f"{t.name} ({t.matched_by})" for t in facts.trackers if not set(t.categories) & counted]


@check("AW-TRK-005")
def _ios_privacy_tracking(facts: Facts) -> list[str]:
    manifest = (facts.ios.privacy_manifest if facts.ios else None) or {}
    evidence = ["NSPrivacyTracking = true"] if manifest.get("NSPrivacyTracking") is True else []
    domains = manifest.get("NSPrivacyTrackingDomains")
    if isinstance(domains, list):
        evidence += [f"tracking domain {d}" for d in domains if isinstance(d, str)]
    return evidence


# ---------------------------------------------------------------- network


def _public_ip(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_global


@check("AW-NET-001")
def _http_endpoints(facts: Facts) -> list[str]:
    hosts: set[str] = set()
    for url in facts.network.urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme in ("http", "ws") and host and not ipaddress_is_local(host):
            hosts.add(host)
    return sorted(hosts)


def ipaddress_is_local(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return not address.is_global


@check("AW-NET-002")
def _literal_ips(facts: Facts) -> list[str]:
    return [d for d in facts.network.domains if _public_ip(d)]


# ---------------------------------------------------------------- code


@check("AW-CODE-001")
def _nested_code(facts: Facts) -> list[str]:
    if not facts.android:
        return []
    return [f"{n.path} ({n.kind}, {n.size} bytes)" for n in facts.android.nested_code]


@check("AW-CODE-002")
def _native(facts: Facts) -> list[str]:
    return list(facts.android.native_libraries) if facts.android else []
