"""Tracker definitions are data: the curated list shipped here, and Exodus-format lists.

Two file shapes are read:

* ``appwarden-trackers/1`` — this project's own (``vetting/data/trackers.json``), with
  package prefixes, domains and iOS framework names; documented in docs/trackers.md.
* Exodus Privacy's list — ``{"trackers": {"<id>": {"name", "code_signature",
  "network_signature", "website", "categories", ...}}}`` — whose signatures are regular
  expressions (nearly all ``|``-joined package prefixes).

Internally every code signature follows Exodus's rule: a regular expression searched in
each class name, where an unescaped ``.`` matches any character. The curated file writes
plain package prefixes (``"code_signature_syntax": "literal"``, the default), which are
escaped on loading so that their dots mean dots; imported lists are stored with
``"code_signature_syntax": "regex"``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

CURATED_FORMAT = "appwarden-trackers/1"
_MAX_DEFINITIONS_BYTES = 50 * 1024 * 1024


class DefinitionsError(ValueError):
    """A definitions file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class TrackerDefinition:
    id: str
    name: str
    categories: tuple[str, ...] = ()
    website: str | None = None
    publisher: str | None = None
    jurisdiction: str | None = None
    code_signatures: tuple[str, ...] = ()
    network_signatures: tuple[str, ...] = ()
    ios_frameworks: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TrackerDefinitions:
    name: str
    trackers: tuple[TrackerDefinition, ...]
    sources: tuple[str, ...] = field(default=())

    @cached_property
    def sha256(self) -> str:
        """Digest of the definitions' content, recorded in every assessment that used them."""
        canonical = json.dumps([asdict(t) for t in self.trackers], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def merged_with(self, other: TrackerDefinitions) -> TrackerDefinitions:
        """Add ``other``; a tracker of the same name (case-insensitive) gains its signatures."""
        by_name = {t.name.casefold(): t for t in self.trackers}
        order = [t.name.casefold() for t in self.trackers]
        for tracker in other.trackers:
            key = tracker.name.casefold()
            if key in by_name:
                old = by_name[key]
                by_name[key] = TrackerDefinition(
                    **{
                        **asdict(old),
                        "code_signatures": _union(old.code_signatures, tracker.code_signatures),
                        "network_signatures": _union(
                            old.network_signatures, tracker.network_signatures
                        ),
                        "ios_frameworks": _union(old.ios_frameworks, tracker.ios_frameworks),
                        "categories": _union(old.categories, tracker.categories),
                    }
                )
            else:
                by_name[key] = tracker
                order.append(key)
        return TrackerDefinitions(
            name=f"{self.name} + {other.name}",
            trackers=tuple(by_name[key] for key in order),
            sources=self.sources + other.sources,
        )


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return a + tuple(x for x in b if x not in a)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v)
    raise DefinitionsError(f"{where}: expected a string or a list of strings")


def _check_regex(pattern: str, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as err:
        raise DefinitionsError(
            f"{where}: signature {pattern!r} is not a valid pattern: {err}"
        ) from None


def escape_literal(signature: str) -> str:
    """A literal package prefix as a pattern: its dots and dollars mean themselves."""
    return signature.replace(".", r"\.").replace("$", r"\$")


def _from_curated(document: dict[str, Any], source: str) -> TrackerDefinitions:
    syntax = document.get("code_signature_syntax", "literal")
    if syntax not in ("literal", "regex"):
        raise DefinitionsError(f"{source}: code_signature_syntax must be 'literal' or 'regex'")
    items = document.get("trackers")
    if not isinstance(items, list):
        raise DefinitionsError(f"{source}: 'trackers' must be a list")
    trackers = []
    seen: set[str] = set()
    for number, item in enumerate(items, 1):
        where = f"{source}: tracker #{number}"
        if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
            raise DefinitionsError(f"{where}: needs an 'id' and a 'name'")
        if item["id"] in seen:
            raise DefinitionsError(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        tracker = TrackerDefinition(
            id=str(item["id"]),
            name=str(item["name"]),
            categories=_strings(item.get("categories"), where),
            website=item.get("website") or None,
            publisher=item.get("publisher") or None,
            jurisdiction=item.get("jurisdiction") or None,
            code_signatures=tuple(
                escape_literal(sig) if syntax == "literal" else sig
                for sig in _strings(item.get("code_signatures"), where)
            ),
            network_signatures=_strings(item.get("network_signatures"), where),
            ios_frameworks=_strings(item.get("ios_frameworks"), where),
            description=str(item.get("description") or ""),
        )
        for pattern in tracker.code_signatures:
            _check_regex(pattern, where)
        trackers.append(tracker)
    return TrackerDefinitions(
        name=str(document.get("name") or source), trackers=tuple(trackers), sources=(source,)
    )


def _from_exodus(document: dict[str, Any], source: str) -> TrackerDefinitions:
    items = document["trackers"]
    values = items.values() if isinstance(items, dict) else items
    trackers: list[TrackerDefinition] = []
    for item in values:
        if not isinstance(item, dict) or "name" not in item or "code_signature" not in item:
            raise DefinitionsError(
                f"{source}: an Exodus tracker needs 'name' and 'code_signature' "
                f"(got {str(item)[:80]!r})"
            )
        where = f"{source}: tracker {item.get('id', '?')} ({item['name']})"
        code = _strings(item.get("code_signature"), where)
        network = _strings(item.get("network_signature"), where)
        for pattern in code + network:
            _check_regex(pattern, where)
        trackers.append(
            TrackerDefinition(
                id=f"exodus-{item.get('id', len(trackers) + 1)}",
                name=str(item["name"]),
                categories=tuple(c.lower() for c in _strings(item.get("categories"), where)),
                website=item.get("website") or None,
                code_signatures=code,
                network_signatures=network,
                description=str(item.get("description") or "")[:2000],
            )
        )
    return TrackerDefinitions(
        name=f"Exodus list ({Path(source).name})", trackers=tuple(trackers), sources=(source,)
    )


def parse_definitions(text: str, source: str) -> TrackerDefinitions:
    """Parse either shape; raise :class:`DefinitionsError` with the reason."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise DefinitionsError(f"{source}: not JSON ({err.msg} at line {err.lineno})") from None
    if not isinstance(document, dict):
        raise DefinitionsError(f"{source}: expected a JSON object")
    if document.get("format") == CURATED_FORMAT:
        return _from_curated(document, source)
    if "trackers" in document and isinstance(document["trackers"], dict | list):
        return _from_exodus(document, source)
    raise DefinitionsError(
        f"{source}: neither an {CURATED_FORMAT} file nor an Exodus list (no 'trackers')"
    )


def load_definitions_file(path: Path) -> TrackerDefinitions:
    """Read a definitions file of either shape."""
    try:
        if path.stat().st_size > _MAX_DEFINITIONS_BYTES:
            raise DefinitionsError(f"{path}: larger than {_MAX_DEFINITIONS_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DefinitionsError(f"{path}: cannot be read ({err.strerror})") from None
    except UnicodeDecodeError:
        raise DefinitionsError(f"{path}: not UTF-8 text") from None
    return parse_definitions(text, str(path))


def to_document(definitions: TrackerDefinitions) -> str:
    """Serialise definitions in this project's own format (how imports are stored)."""
    trackers = []
    for tracker in definitions.trackers:
        item: dict[str, Any] = {"id": tracker.id, "name": tracker.name}
        for key, value in asdict(tracker).items():
            if key not in item and value not in (None, "", ()):
                item[key] = list(value) if isinstance(value, tuple) else value
        trackers.append(item)
    document = {
        "format": CURATED_FORMAT,
        "name": definitions.name,
        "code_signature_syntax": "regex",
        "trackers": trackers,
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def load_curated() -> TrackerDefinitions:
    """The definitions shipped with AppWarden."""
    text = (
        resources.files("appwarden.vetting")
        .joinpath("data/trackers.json")
        .read_text(encoding="utf-8")
    )
    return parse_definitions(text, "curated")


def load_installed(folder: Path) -> TrackerDefinitions:
    """The curated list plus every list imported into ``folder`` (sorted by file name)."""
    definitions = load_curated()
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            definitions = definitions.merged_with(load_definitions_file(path))
    return definitions
