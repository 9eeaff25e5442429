"""Time exodus-core's tracker detection, warm, inside its own virtual environment.

Run by ``vet_vs_peers.py`` with ``bench/.venv-exodus/bin/python`` (exodus-core 1.3.15 pins
androguard 4.1.1, so it cannot share the project's environment)::

    python _exodus_timer.py --snapshot exodus_trackers.json --runs 5 FILE...

For each file it runs ``StaticAnalysis(path).detect_trackers()`` once untimed (warm-up), then
``--runs`` timed runs, and prints one JSON document on stdout::

    {"exodus_core": "1.3.15", "androguard": "4.1.1",
     "results": {"FILE": {"ok": true, "seconds": 0.12, "runs": [...], "trackers": [...]},
                 "BAD": {"ok": false, "error": "..."}}}

The network download in ``StaticAnalysis.load_trackers_signatures`` is replaced by the
local snapshot (same shape as the API's answer). The snapshot is parsed into exodus's own
namedtuples once, before any timing, exactly as upstream does; each timed run still
compiles the signatures per ``StaticAnalysis`` instance as upstream does (``re`` caches the
compiled patterns after the warm-up).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import namedtuple
from importlib.metadata import version
from pathlib import Path
from typing import Any


def load_snapshot(path: Path) -> list[Any]:
    """Parse the snapshot the way ``load_trackers_signatures`` parses the API's answer."""
    data = json.loads(path.read_text(encoding="utf-8"))
    signatures: list[Any] = []
    for key in data["trackers"]:
        tracker = data["trackers"][key]
        signatures.append(namedtuple("tracker", tracker.keys())(*tracker.values()))
    return signatures


def patch_exodus(signatures: list[Any]) -> Any:
    """Make exodus-core read the snapshot instead of the network; return StaticAnalysis."""
    from exodus_core.analysis.static_analysis import StaticAnalysis

    def load_trackers_signatures(self: Any) -> None:
        self.signatures = list(signatures)
        self._compile_signatures()

    StaticAnalysis.load_trackers_signatures = load_trackers_signatures
    return StaticAnalysis


def quiet_androguard() -> None:
    """Silence androguard's loguru output so that logging is not part of the timing."""
    from loguru import logger

    logger.disable("androguard")


def time_file(static_analysis: Any, path: str, runs: int) -> dict[str, Any]:
    def detect() -> tuple[Any, list[Any]]:
        analysis = static_analysis(path)
        return analysis, list(analysis.detect_trackers())

    analysis, trackers = detect()  # warm-up, untimed
    if not analysis.apk.is_valid_APK():
        # e.g. CertChain.apk: no AndroidManifest.xml and no dex, so nothing was analysed
        return {"ok": False, "error": "androguard 4.1.1 found no AndroidManifest.xml (not an APK)"}
    timings: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        detect()
        timings.append(time.perf_counter() - start)
    return {
        "ok": True,
        "seconds": statistics.median(timings),
        "runs": timings,
        "trackers": sorted({str(tracker.name) for tracker in trackers}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)

    static_analysis = patch_exodus(load_snapshot(args.snapshot))
    quiet_androguard()

    results: dict[str, dict[str, Any]] = {}
    for path in args.files:
        try:
            results[path] = time_file(static_analysis, path, args.runs)
        except (Exception, SystemExit) as exc:  # exodus calls sys.exit() without dexdump
            results[path] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        print(f"exodus: {Path(path).name} done", file=sys.stderr, flush=True)

    json.dump(
        {
            "exodus_core": version("exodus-core"),
            "androguard": version("androguard"),
            "python": sys.version.split()[0],
            "results": results,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
