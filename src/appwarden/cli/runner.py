"""Vetting many files: inputs from paths and folders, both cores, results in input order."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from appwarden.vetting.assess import SUFFIXES, Vetter
from appwarden.vetting.errors import VettingError
from appwarden.vetting.limits import ArchiveLimits
from appwarden.vetting.model import Assessment
from appwarden.vetting.scoring import VerdictThresholds
from appwarden.vetting.trackers import TrackerDefinitions


@dataclass(frozen=True)
class Outcome:
    path: Path
    assessment: Assessment | None = None
    error: str | None = None


def collect_inputs(paths: list[Path]) -> tuple[list[Path], list[Outcome]]:
    """App files named or found in folders (recursively, sorted); missing paths as errors."""
    found: list[Path] = []
    missing: list[Outcome] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            )
        elif path.exists():
            found.append(path)
        else:
            missing.append(Outcome(path, error=f"{path}: no such file or folder"))
    return found, missing


_worker_vetter: Vetter | None = None


def _init_worker(
    definitions: TrackerDefinitions, limits: ArchiveLimits, thresholds: VerdictThresholds
) -> None:
    global _worker_vetter
    _worker_vetter = Vetter(definitions, limits=limits, thresholds=thresholds)


def _vet_one(vetter: Vetter, path: Path) -> Outcome:
    try:
        return Outcome(path, assessment=vetter.assess_file(path))
    except VettingError as err:
        message = " ".join(str(err).split())  # one line, whatever a parser put in it
        return Outcome(path, error=message if path.name in message else f"{path.name}: {message}")


def _vet_in_worker(path: Path) -> Outcome:
    assert _worker_vetter is not None  # noqa: S101  (set by the pool initializer)
    return _vet_one(_worker_vetter, path)


def vet_all(
    files: list[Path],
    vetter: Vetter,
    *,
    jobs: int,
    on_done: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Vet every file; with several files and jobs > 1, in a pool of processes."""
    if jobs <= 1 or len(files) <= 1:
        outcomes = []
        for path in files:
            outcomes.append(_vet_one(vetter, path))
            on_done(outcomes[-1])
        return outcomes
    results: dict[Path, Outcome] = {}
    initargs = (vetter.definitions, vetter.limits, vetter.thresholds)
    workers = min(jobs, len(files))
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=initargs) as pool:
        futures = {pool.submit(_vet_in_worker, path): path for path in files}
        for future in as_completed(futures):
            outcome = future.result()
            results[futures[future]] = outcome
            on_done(outcome)
    return [results[path] for path in files]


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def iter_assessments(outcomes: list[Outcome]) -> Iterator[tuple[Path, Assessment]]:
    for outcome in outcomes:
        if outcome.assessment is not None:
            yield outcome.path, outcome.assessment
