"""File in, :class:`~appwarden.vetting.model.Assessment` out. Pure: no database, no network.

A :class:`Vetter` holds what is costly to prepare (compiled tracker definitions, rules)
and vets any number of files with it; :func:`assess_file` is the one-call form.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from appwarden import __version__
from appwarden.vetting.android import AndroidFacts, read_apk
from appwarden.vetting.bundle import read_bundle
from appwarden.vetting.checks import CHECKS, Facts
from appwarden.vetting.errors import UnreadableFile, UnsupportedInput
from appwarden.vetting.ios import IosFacts, read_ipa
from appwarden.vetting.limitations import limitations_for
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.model import (
    AndroidDetails,
    Assessment,
    DefinitionsInfo,
    FileInfo,
    FileKind,
)
from appwarden.vetting.network import collect_network
from appwarden.vetting.rules import RuleSet, load_rules
from appwarden.vetting.scoring import VerdictThresholds, score_findings
from appwarden.vetting.trackers import TrackerDefinitions, TrackerMatcher, load_curated

SUFFIXES: dict[str, FileKind] = {".apk": "apk", ".apks": "apks", ".xapk": "xapk", ".ipa": "ipa"}


def kind_of(path: Path) -> FileKind:
    """The input kind, from the file name; raise :class:`UnsupportedInput` otherwise."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedInput(
            f"{path.name}: not an app file (expected .apk, .apks, .xapk or .ipa)"
        )
    return kind


_MATCHERS: dict[str, TrackerMatcher] = {}


def _matcher(definitions: TrackerDefinitions) -> TrackerMatcher:
    """Compile each set of definitions once per process (keyed by their content digest)."""
    matcher = _MATCHERS.get(definitions.sha256)
    if matcher is None:
        if len(_MATCHERS) >= 4:
            _MATCHERS.clear()
        matcher = _MATCHERS[definitions.sha256] = TrackerMatcher(definitions)
    return matcher


class Vetter:
    """Vets files against one set of tracker definitions, rules, limits and thresholds."""

    def __init__(
        self,
        definitions: TrackerDefinitions | None = None,
        *,
        limits: ArchiveLimits | None = None,
        thresholds: VerdictThresholds | None = None,
        rules: RuleSet | None = None,
    ) -> None:
        self.definitions = definitions if definitions is not None else load_curated()
        self.matcher = _matcher(self.definitions)
        self.limits = limits or ArchiveLimits()
        self.thresholds = thresholds or VerdictThresholds()
        self.rules = rules or load_rules()
        self._definitions_info = DefinitionsInfo(
            name=self.definitions.name,
            count=len(self.definitions.trackers),
            sha256=self.definitions.sha256,
        )

    def assess_file(self, path: Path) -> Assessment:
        kind = kind_of(path)
        try:
            size = path.stat().st_size
            if size > self.limits.max_file_bytes:
                raise UnreadableFile(
                    f"{path.name}: {size} bytes is over the limit of {self.limits.max_file_bytes}"
                )
            data = path.read_bytes()
        except OSError as err:
            raise UnreadableFile(f"{path.name}: cannot be read ({err.strerror})") from None
        return self.assess_bytes(data, name=path.name, kind=kind)

    def assess_bytes(self, data: bytes, *, name: str, kind: FileKind) -> Assessment:
        file = FileInfo(
            name=name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), kind=kind
        )
        if kind == "ipa":
            return self._assess_ios(file, read_ipa(data, limits=self.limits))
        if kind == "apk":
            return self._assess_android(file, read_apk(data, limits=self.limits), [])
        facts, splits = read_bundle(data, limits=self.limits, what=kind.upper())
        return self._assess_android(file, facts, splits)

    def _assess_android(self, file: FileInfo, apk: AndroidFacts, splits: list[str]) -> Assessment:
        network = collect_network(apk.code.string_blobs)
        trackers = self.matcher.match(classes=apk.code.classes, domains=network.domains)
        details = AndroidDetails(
            flags=apk.flags,
            components=apk.components,
            native_libraries=apk.native_libraries,
            nested_code=apk.nested_code,
            dex_files=apk.code.dex_files,
            class_count=len(apk.code.classes),
            splits=splits,
        )
        facts = Facts(
            platform="android",
            app=apk.app,
            signers=apk.signers,
            permissions=apk.permissions,
            trackers=trackers,
            network=network,
            android=details,
        )
        return self._assessment(file, facts, apk.warnings)

    def _assess_ios(self, file: FileInfo, ipa: IosFacts) -> Assessment:
        network = collect_network([ipa.binary] if ipa.binary else [])
        trackers = self.matcher.match(
            classes=[], domains=network.domains, frameworks=ipa.details.frameworks
        )
        facts = Facts(
            platform="ios",
            app=ipa.app,
            signers=ipa.signers,
            permissions=[],
            trackers=trackers,
            network=network,
            ios=ipa.details,
        )
        return self._assessment(file, facts, ipa.warnings)

    def _assessment(self, file: FileInfo, facts: Facts, warnings: list[str]) -> Assessment:
        triggered = [
            (rule, evidence)
            for rule in self.rules.rules
            if facts.platform in rule.platforms and (evidence := CHECKS[rule.id](facts))
        ]
        findings, score, verdict = score_findings(triggered, self.rules, self.thresholds)
        return Assessment(
            tool=f"appwarden {__version__}",
            file=file,
            app=facts.app,
            signers=facts.signers,
            permissions=facts.permissions,
            trackers=facts.trackers,
            findings=findings,
            score=score,
            verdict=verdict,
            network=facts.network,
            android=facts.android,
            ios=facts.ios,
            definitions=self._definitions_info,
            warnings=warnings,
            limitations=limitations_for(facts.platform),
        )


def assess_file(
    path: Path,
    *,
    definitions: TrackerDefinitions | None = None,
    limits: ArchiveLimits | None = None,
    thresholds: VerdictThresholds | None = None,
) -> Assessment:
    """Vet one file. Raises a :class:`~appwarden.vetting.errors.VettingError` if it cannot."""
    return Vetter(definitions, limits=limits, thresholds=thresholds).assess_file(path)
