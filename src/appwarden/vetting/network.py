"""Host names and URLs found in an app's code strings."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from appwarden.vetting.model import Network

_MAX_URLS = 500

# Top-level domains accepted for a bare string (one that is not part of a URL). Java and
# Kotlin code is full of reverse-DNS names (com.example.app) and file names (index.html),
# so a bare string counts as a host only if it ends in one of these and does not start
# like a package name.
_BARE_TLDS = frozenset(
    "com net org io co app dev info biz tv cn ru de fr uk jp kr eu xyz ly gl ai cloud".split()
)
_URL_BODY = re.compile(rb"[A-Za-z0-9.\-]+(?::\d{1,5})?(?:/[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*)?")
_SCHEMES = (b"https", b"http", b"wss", b"ws")
_HOST = re.compile(rb"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,12}")
# A string that ends in ".tld" followed by its NUL: the only places a bare host can end.
# Starting with a literal "." lets the regex engine skip ahead quickly.
_TLD_END = re.compile(rb"\.(?:" + b"|".join(sorted(t.encode() for t in _BARE_TLDS)) + rb")\x00")
_PACKAGE_ROOTS = frozenset(
    "com org net io android androidx java javax kotlin kotlinx dalvik de fr uk cn ru jp kr "
    "br it es nl ch se pl in me co app dev info".split()
)
# Hosts that appear in code as names, not endpoints: XML namespaces and documentation.
_NOT_ENDPOINTS = frozenset(
    {
        "localhost",
        "example.com",
        "example.org",
        "example.net",
        "schemas.android.com",
        "www.w3.org",
        "ns.adobe.com",
        "xmlpull.org",
        "schemas.xmlsoap.org",
        "xml.org",
        "www.apple.com/dtds",
        "purl.org",
    }
)


def find_urls(blob: bytes) -> list[str]:
    """URLs (http, https, ws, wss) in a blob of NUL-separated strings or a binary."""
    urls: list[str] = []
    position = blob.find(b"://")
    while position >= 0:
        for scheme in _SCHEMES:
            if blob.endswith(scheme, 0, position):
                body = _URL_BODY.match(blob, position + 3)
                if body:
                    urls.append((scheme + blob[position : body.end()]).decode("ascii"))
                break
        position = blob.find(b"://", position + 3)
    return urls


def find_bare_hosts(string_data: bytes) -> list[str]:
    """DEX strings that are exactly a host name (``graph.facebook.com``).

    Each DEX string is its ULEB128 length, its bytes and a NUL. Host names are short, so
    their length is one byte; a candidate is accepted only if that byte agrees.
    """
    hosts: list[str] = []
    for match in _TLD_END.finditer(string_data):
        end = match.end() - 1
        previous_nul = string_data.rfind(b"\x00", max(0, end - 130), end)
        begin = previous_nul + 2  # skip the NUL and the one-byte length
        if begin < 1 or begin >= end or string_data[begin - 1] != end - begin:
            continue
        candidate = string_data[begin:end]
        if _HOST.fullmatch(candidate):
            hosts.append(candidate.decode("ascii"))
    return hosts


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_of(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or not _plausible(host):
        return None
    return host.lower()


def _plausible(host: str) -> bool:
    """A host with a registrable name: ``a.b``, not ``.b``, ``a.`` or a version ``1.2.dev``."""
    if _is_ip(host):
        return True
    labels = host.split(".")
    return (
        len(labels) >= 2
        and all(labels)
        and not labels[0].startswith("-")
        and any(c.isalpha() for c in labels[-2])
    )


def _bare_host_ok(host: str) -> bool:
    labels = host.split(".")
    return labels[-1] in _BARE_TLDS and labels[0] not in _PACKAGE_ROOTS and _plausible(host)


def collect_network(blobs: Iterable[bytes]) -> Network:
    """URLs and host names in NUL-separated string data (DEX) or binaries (Mach-O)."""
    urls: set[str] = set()
    hosts: set[str] = set()
    for blob in blobs:
        for url in find_urls(blob):
            host = _host_of(url)
            if host is None:
                continue
            urls.add(url)
            hosts.add(host)
        hosts.update(h for h in find_bare_hosts(blob) if _bare_host_ok(h))
    hosts = {h for h in hosts if h not in _NOT_ENDPOINTS and not h.endswith(".local")}
    domains = sorted(h for h in hosts if not _is_ip(h)) + sorted(h for h in hosts if _is_ip(h))
    ordered = sorted(urls)
    return Network(
        domains=domains, urls=ordered[:_MAX_URLS], urls_truncated=len(ordered) > _MAX_URLS
    )
