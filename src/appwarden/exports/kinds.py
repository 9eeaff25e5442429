"""The export kinds and their builders."""

from __future__ import annotations

from collections.abc import Callable

from appwarden.errors import Invalid
from appwarden.exports.android import build_policy
from appwarden.exports.apple import build_profile
from appwarden.exports.intune import build_batch
from appwarden.exports.model import Export, ScopeLists
from appwarden.exports.network import build_domains, build_hosts, build_rpz

BUILDERS: dict[str, Callable[[ScopeLists], Export]] = {
    "mobileconfig": build_profile,
    "amapi": build_policy,
    "intune": build_batch,
    "rpz": build_rpz,
    "hosts": build_hosts,
    "domains": build_domains,
}
KINDS = tuple(BUILDERS)


def builder(kind: str) -> Callable[[ScopeLists], Export]:
    try:
        return BUILDERS[kind]
    except KeyError:
        raise Invalid(f"unknown export kind {kind!r}; expected one of {', '.join(KINDS)}") from None
