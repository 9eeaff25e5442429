"""Network blocks for the domains of the apps banned in a scope: a DNS response policy
zone (RPZ, for BIND, Unbound, Knot, PowerDNS), a hosts file and a plain domain list.

The domains are the banned publishers' registered domains and the endpoints vetting found
in banned apps; shared infrastructure (``policy.md``, "Network") and any endpoint an
allowed app uses are never among them (:func:`appwarden.exports.scope.resolve_scope`).
"""

from __future__ import annotations

from appwarden.exports.model import Export, ScopeLists
from appwarden.exports.naming import one_line, slug

ZONE = "rpz.appwarden."
TTL = 300


def _header(lists: ScopeLists, mark: str) -> list[str]:
    return [
        f"{mark} AppWarden network blocks for {one_line(lists.scope)}",
        f"{mark} generated {lists.generated_at.isoformat()}; {len(lists.domains)} domain(s)",
    ]


def rpz_text(lists: ScopeLists, zone: str = ZONE) -> str:
    """A zone answering NXDOMAIN (``CNAME .``) for each domain and all its subdomains."""
    serial = int(lists.generated_at.timestamp()) % 2**32
    lines = [
        *_header(lists, ";"),
        f"$ORIGIN {zone}",
        f"$TTL {TTL}",
        f"@ IN SOA localhost. hostmaster.localhost. {serial} 3600 600 86400 {TTL}",
        "@ IN NS localhost.",
    ]
    for domain in lists.domains:
        lines += [f"{domain} CNAME .", f"*.{domain} CNAME ."]
    return "\n".join(lines) + "\n"


def hosts_text(lists: ScopeLists) -> str:
    """``0.0.0.0 domain`` lines; a hosts file has no wildcards, so subdomains vetting did
    not see are not covered (the RPZ zone covers them)."""
    lines = _header(lists, "#") + [f"0.0.0.0 {domain}" for domain in lists.domains]
    return "\n".join(lines) + "\n"


def _export(lists: ScopeLists, kind: str, suffix: str, media: str, text: str) -> Export:
    warnings = list(lists.warnings)
    if kind == "hosts":
        warnings.append("a hosts file has no wildcards: subdomains are blocked only in rpz")
    return Export(
        kind=kind,
        scope=lists.scope,
        filename=f"appwarden-{slug(lists.scope)}{suffix}",
        media_type=media,
        content=text.encode("ascii"),
        warnings=tuple(warnings),
    )


def build_rpz(lists: ScopeLists) -> Export:
    return _export(lists, "rpz", ".rpz.zone", "text/dns", rpz_text(lists))


def build_hosts(lists: ScopeLists) -> Export:
    return _export(lists, "hosts", ".hosts", "text/plain", hosts_text(lists))


def build_domains(lists: ScopeLists) -> Export:
    text = "".join(f"{domain}\n" for domain in lists.domains)
    return _export(lists, "domains", "-domains.txt", "text/plain", text)
