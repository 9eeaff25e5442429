"""Matching tracker signatures against class names, host names and iOS frameworks.

Code signatures are nearly all package prefixes joined by ``|``. One regex per signature
means one pass over every class name per tracker (exodus-core's way: seconds on a large
app), and one giant alternation is slower still in Python's backtracking engine. Here the
literal alternatives go into one Aho-Corasick automaton (pyahocorasick), which finds every
occurrence of every signature in a single pass over all class names joined into one text.
A ``.`` at either end of an alternative means "any one character" (Exodus's regex
semantics), so it becomes a length condition checked on each hit; ``.`` inside an
alternative matches the package separator. Alternatives that use other regex syntax are
searched with ``re`` in the slash-separated form Exodus uses.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field

import ahocorasick

from appwarden.vetting.model import MatchedBy, TrackerEvidence, TrackerMatch
from appwarden.vetting.trackers.definitions import TrackerDefinition, TrackerDefinitions

_TOKEN = re.compile(r"\\.|.", re.DOTALL)
_PLAIN = re.compile(r"[A-Za-z0-9_\-]")
_ESCAPABLE = frozenset(".$-_/")
_ESCAPED_DOMAIN = re.compile(r"^(?:[A-Za-z0-9\-]+(?:\\\.|\.))+[A-Za-z0-9\-]+$")
_MIN_SIGNATURE = 4  # Exodus ignores signatures of three characters or fewer.
_EVIDENCE_CLASSES = 20


def _as_literal(alternative: str) -> tuple[str, int, int] | None:
    """``(core, lead, trail)`` if the alternative is a literal with optional ``.`` wildcards
    at its ends; None if it needs a real regular expression."""
    tokens = _TOKEN.findall(alternative)
    lead = trail = 0
    while tokens and tokens[0] == ".":
        tokens.pop(0)
        lead += 1
    while tokens and tokens[-1] == ".":
        tokens.pop()
        trail += 1
    core: list[str] = []
    for token in tokens:
        if len(token) == 2 and token[1] in _ESCAPABLE:
            core.append(token[1])
        elif token == "." or _PLAIN.match(token):  # noqa: S105 (a regex token, not a secret)
            core.append(token)  # an inner "." stands for the package separator
        else:
            return None
    return "".join(core), lead, trail


@dataclass
class _Hits:
    classes: set[int] = field(default_factory=set)
    domains: set[str] = field(default_factory=set)
    frameworks: set[str] = field(default_factory=set)


class TrackerMatcher:
    """Compiled once per set of definitions; ``match`` is then cheap per app."""

    def __init__(self, definitions: TrackerDefinitions) -> None:
        self.definitions = definitions
        self._trackers: tuple[TrackerDefinition, ...] = definitions.trackers
        self._automaton = ahocorasick.Automaton()
        self._class_regexes: list[tuple[int, re.Pattern[str]]] = []
        self._domain_suffixes: dict[str, list[int]] = defaultdict(list)
        self._domain_regexes: list[tuple[int, re.Pattern[str]]] = []
        self._frameworks: dict[str, list[int]] = defaultdict(list)
        words: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for index, tracker in enumerate(self._trackers):
            self._compile_code(index, tracker, words)
            self._compile_network(index, tracker)
            for framework in tracker.ios_frameworks:
                self._frameworks[framework.casefold()].append(index)
        for word, payload in words.items():
            self._automaton.add_word(word, (len(word), tuple(payload)))
        self._has_words = bool(words)
        if words:
            self._automaton.make_automaton()

    def _compile_code(
        self, index: int, tracker: TrackerDefinition, words: dict[str, list[tuple[int, int, int]]]
    ) -> None:
        for signature in tracker.code_signatures:
            if len(signature) < _MIN_SIGNATURE:
                continue
            literals = [_as_literal(alt) for alt in signature.split("|")]
            if any(literal is None for literal in literals):
                self._class_regexes.append((index, re.compile(signature)))
                continue
            for literal in literals:
                if literal is not None and literal[0]:
                    core, lead, trail = literal
                    words[core].append((index, lead, trail))

    def _compile_network(self, index: int, tracker: TrackerDefinition) -> None:
        for signature in tracker.network_signatures:
            for alternative in signature.split("|"):
                alternative = alternative.strip()
                if not alternative:
                    continue
                if _ESCAPED_DOMAIN.match(alternative):
                    domain = alternative.replace("\\.", ".").lower().lstrip(".")
                    self._domain_suffixes[domain].append(index)
                else:
                    self._domain_regexes.append((index, re.compile(alternative, re.IGNORECASE)))

    def _match_classes(self, classes: list[str], hits: dict[int, _Hits]) -> None:
        if not classes:
            return
        if self._has_words:
            text = "\n".join(classes)
            starts = [0] * len(classes)
            position = 0
            for i, name in enumerate(classes):
                starts[i] = position
                position += len(name) + 1
            for end, (length, payload) in self._automaton.iter(text):
                start = end - length + 1
                which = bisect_right(starts, start) - 1
                name_start = starts[which]
                name_end = name_start + len(classes[which])
                for tracker, lead, trail in payload:
                    if start - lead >= name_start and end + trail < name_end:
                        hits.setdefault(tracker, _Hits()).classes.add(which)
        if self._class_regexes:
            slashed = [name.replace(".", "/") for name in classes]
            for tracker, pattern in self._class_regexes:
                for which, name in enumerate(slashed):
                    if pattern.search(name):
                        hits.setdefault(tracker, _Hits()).classes.add(which)

    def _match_domains(self, domains: list[str], hits: dict[int, _Hits]) -> None:
        for domain in domains:
            labels = domain.lower().split(".")
            for i in range(len(labels) - 1):
                for tracker in self._domain_suffixes.get(".".join(labels[i:]), ()):
                    hits.setdefault(tracker, _Hits()).domains.add(domain)
            for tracker, pattern in self._domain_regexes:
                if pattern.search(domain):
                    hits.setdefault(tracker, _Hits()).domains.add(domain)

    def match(
        self,
        *,
        classes: list[str],
        domains: list[str],
        frameworks: list[str] = (),  # type: ignore[assignment]
    ) -> list[TrackerMatch]:
        """Trackers found, each with the class names, hosts or frameworks that matched."""
        hits: dict[int, _Hits] = {}
        self._match_classes(classes, hits)
        self._match_domains(domains, hits)
        for framework in frameworks:
            for tracker in self._frameworks.get(framework.casefold(), ()):
                hits.setdefault(tracker, _Hits()).frameworks.add(framework)
        results = [self._result(index, hit, classes) for index, hit in hits.items()]
        return sorted(results, key=lambda m: m.name.casefold())

    def _result(self, index: int, hit: _Hits, classes: list[str]) -> TrackerMatch:
        tracker = self._trackers[index]
        by_code = bool(hit.classes or hit.frameworks)
        matched_by: MatchedBy = (
            "both" if by_code and hit.domains else "code" if by_code else "network"
        )
        names = sorted(classes[i] for i in hit.classes)
        return TrackerMatch(
            id=tracker.id,
            name=tracker.name,
            categories=list(tracker.categories),
            website=tracker.website,
            matched_by=matched_by,
            evidence=TrackerEvidence(
                classes=names[:_EVIDENCE_CLASSES],
                class_count=len(names),
                domains=sorted(hit.domains),
                frameworks=sorted(hit.frameworks),
            ),
        )
