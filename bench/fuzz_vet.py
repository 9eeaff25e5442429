"""Fuzz the vetting parsers with damaged copies of the fixture APKs and IPAs.

Usage (from the repository root)::

    .venv/bin/python bench/fuzz_vet.py [--seconds 600] [--seed 0] [--kinds flip,axml,...]
                                       [--jobs 2] [--timeout 10] [--memory-mb 1024]

Hypothesis draws (fixture, mutation) pairs for each mutation kind in turn (the time is
shared evenly between the kinds); every input is vetted by ``Vetter.assess_file`` in a
child process under RLIMIT_AS and a per-file time limit (see ``_fuzz_worker.py``). Every
input must end in an assessment (that serialises to JSON) or a ``VettingError`` with a
one-line message. Anything else is a finding: a traceback, a hang, a memory blow-up or a
dead child. Each finding's input is saved with its mutation (JSON, replayable with
``_mutations.apply``) under ``--crashes`` (git-ignored). See bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_APPS = REPO.parent / "shared" / "fixtures" / "apps"
DEFAULT_CRASHES = BENCH / "fuzz-crashes"
SAVED_PER_FINDING = 3
FINDINGS = ("exception", "bad_message", "memory", "hang", "died")


@dataclass
class KindStats:
    inputs: int = 0
    distinct: int = 0
    skipped: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    slowest: float = 0.0


@dataclass
class Finding:
    outcome: str
    error: str
    where: str
    count: int = 0
    saved: list[str] = field(default_factory=list)
    example: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    crashes: Path
    stats: dict[str, KindStats] = field(default_factory=lambda: defaultdict(KindStats))
    errors: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    seen: set[bytes] = field(default_factory=set)

    def record(self, job: Any, result: dict[str, Any]) -> None:
        stats = self.stats[job.kind]
        stats.outcomes[result["outcome"]] += 1
        stats.slowest = max(stats.slowest, float(result.get("seconds", 0.0)))
        if result["outcome"] == "error":
            self.errors[result["error"]] += 1
        if result["outcome"] not in FINDINGS:
            return
        key = (result["outcome"], result.get("error", "?"), result.get("where", "?"))
        finding = self.findings.setdefault(key, Finding(*key))
        finding.count += 1
        if len(finding.saved) < SAVED_PER_FINDING:
            saved = self._save(job, result)
            if saved not in finding.saved:
                finding.saved.append(saved)
            finding.example = finding.example or {
                "fixture": job.fixture,
                "mutation": job.mutation.as_json(),
                **result,
            }

    def _save(self, job: Any, result: dict[str, Any]) -> str:
        """Save the input and its record; the input's file name (the same for the same bytes)."""
        self.crashes.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(job.data).hexdigest()[:12]
        stem = f"{result['outcome']}-{job.kind}-{Path(job.fixture).stem}-{digest}"
        (self.crashes / f"{stem}{job.suffix}").write_bytes(job.data)
        record = {"fixture": job.fixture, "mutation": job.mutation.as_json(), **result}
        (self.crashes / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
        return f"{stem}{job.suffix}"


class _TimeUp(Exception):  # noqa: N818 (a signal to stop, not an error)
    """The kind's share of the time is over."""


def fuzz_kind(
    kind: str, seconds: float, seed: int, fixtures: dict[str, bytes], pool: Any, run: Run
) -> None:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    from _fuzz_inputs import inputs
    from _fuzz_worker import Job
    from _mutations import apply

    stats = run.stats[kind]
    started = time.monotonic()
    end = started + seconds

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @hypothesis_seed(seed)
    @given(inputs(fixtures, kind))
    def drive(case: tuple[str, Any]) -> None:
        if time.monotonic() >= end:
            raise _TimeUp
        name, mutation = case
        try:
            data = apply(fixtures[name], mutation)
        except Exception:
            stats.skipped += 1  # the edit does not fit this fixture
            return
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if digest not in run.seen:
            run.seen.add(digest)
            stats.distinct += 1
        stats.inputs += 1
        pool.submit(Job(kind, name, mutation, data, Path(name).suffix))

    try:
        drive()
    except _TimeUp:
        pass
    pool.drain()
    stats.seconds += time.monotonic() - started


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def report(run: Run, args: argparse.Namespace, wall: float, restarts: int) -> dict[str, Any]:
    total = sum(s.inputs for s in run.stats.values())
    info = machine()
    print(f"\nmachine: {info['cpu']}, {info['cores']} cores, Python {info['python']}")
    print(
        f"settings: seconds={args.seconds} seed={args.seed} jobs={args.jobs} "
        f"timeout={args.timeout}s memory={args.memory_mb} MiB"
    )
    header = (
        f"{'kind':<12}{'inputs':>8}{'distinct':>9}{'assessed':>9}{'refused':>9}"
        f"{'findings':>9}{'inputs/s':>9}{'slowest s':>10}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for kind, s in run.stats.items():
        found = sum(s.outcomes[o] for o in FINDINGS)
        rate = s.inputs / s.seconds if s.seconds else 0.0
        print(
            f"{kind:<12}{s.inputs:>8}{s.distinct:>9}{s.outcomes['assessment']:>9}"
            f"{s.outcomes['error']:>9}{found:>9}{rate:>9.1f}{s.slowest:>10.2f}"
        )
    found = sum(f.count for f in run.findings.values())
    print("-" * len(header))
    print(
        f"{'total':<12}{total:>8}{len(run.seen):>9}"
        f"{sum(s.outcomes['assessment'] for s in run.stats.values()):>9}"
        f"{sum(s.outcomes['error'] for s in run.stats.values()):>9}{found:>9}"
        f"{total / wall if wall else 0:>9.1f}"
    )
    print(
        f"\nwall time {wall:.0f} s, {total / wall if wall else 0:.1f} inputs/s; "
        f"children restarted {restarts} times; largest child RSS "
        f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024} MiB"
    )
    skipped = sum(s.skipped for s in run.stats.values())
    print(f"mutations that did not fit their fixture (not vetted): {skipped}")
    print("documented errors: " + ", ".join(f"{k} {v}" for k, v in run.errors.most_common()))
    print(f"\nfindings: {len(run.findings)} distinct, {found} inputs")
    for f in run.findings.values():
        print(f"  {f.count:>5}  {f.outcome} {f.error} at {f.where}")
        for saved in f.saved:
            print(f"         {run.crashes / saved}")
    return {
        "machine": info,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "wall_seconds": wall,
        "inputs": total,
        "distinct": len(run.seen),
        "rate": total / wall if wall else 0.0,
        "restarts": restarts,
        "kinds": {
            k: {
                **{f: v for f, v in vars(s).items() if f != "outcomes"},
                "outcomes": dict(s.outcomes),
            }
            for k, s in run.stats.items()
        },
        "errors": dict(run.errors),
        "findings": [vars(f) for f in run.findings.values()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="total, shared by the kinds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default="", help="comma-separated; all by default")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--memory-mb", type=int, default=1024, help="RLIMIT_AS of a child")
    parser.add_argument("--apps", type=Path, default=DEFAULT_APPS)
    parser.add_argument("--crashes", type=Path, default=DEFAULT_CRASHES)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stack-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from _fuzz_worker import serve

        serve(args.memory_mb, args.stack_file, max(0.5, args.timeout * 0.8))
        return 0

    from _fuzz_worker import Pool
    from _mutations import KINDS

    kinds = [k for k in args.kinds.split(",") if k] or list(KINDS)
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")
    fixtures = {
        p.name: p.read_bytes() for p in sorted(args.apps.glob("*")) if p.suffix in (".apk", ".ipa")
    }
    if not fixtures:
        parser.error(f"no .apk or .ipa files in {args.apps}")
    run = Run(args.crashes)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-vet-") as folder:
        pool = Pool(
            Path(__file__).resolve(),
            Path(folder),
            args.jobs,
            args.timeout,
            args.memory_mb,
            run.record,
        )
        for number, kind in enumerate(kinds):
            print(f"fuzzing {kind} for {args.seconds / len(kinds):.0f} s", file=sys.stderr)
            fuzz_kind(kind, args.seconds / len(kinds), args.seed + number, fixtures, pool, run)
        pool.close()
    figures = report(run, args, time.monotonic() - started, pool.restarts)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 1 if run.findings else 0


if __name__ == "__main__":
    sys.exit(main())
