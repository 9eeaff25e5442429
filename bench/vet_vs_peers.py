"""Benchmark AppWarden's vetting against exodus-core and androguard on the same files.

Usage (from the repository root)::

    .venv/bin/python bench/vet_vs_peers.py [FILE ...] [--runs N] [--cli-runs N] [--json OUT]

With no FILE, every ``*.apk`` in ``../shared/fixtures/apps`` is measured. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rich.console import Console

from _results import FileResult, Measure, console, print_report  # noqa: I001 (bench/ is the script folder)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SHARED = REPO.parent / "shared"
DEFAULT_APPS = SHARED / "fixtures" / "apps"
DEFAULT_SNAPSHOT = SHARED / "data" / "exodus_trackers.json"
EXODUS_VERSION = "1.3.15"
EXODUS_VENV = BENCH / ".venv-exodus"
EXODUS_MARKER = EXODUS_VENV / f".exodus-core-{EXODUS_VERSION}-installed"
EXODUS_TIMER = BENCH / "_exodus_timer.py"
APPWARDEN_CLI = REPO / ".venv" / "bin" / "appwarden"
CODE_MATCHES = {"code", "both"}

progress = Console(stderr=True, highlight=False)


class ToolUnavailable(Exception):
    """A tool cannot run at all on this machine (not one file's failure)."""


# --- machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "androguard": package_version("androguard"),
        "appwarden": package_version("appwarden"),
    }


def print_machine(info: dict[str, Any]) -> None:
    console.print(
        f"[bold]Machine:[/] {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
        f"Python {info['python']}, {info['platform']}"
    )


# --- timing --------------------------------------------------------------------------------


def time_warm(action: Callable[[], Any], runs: int) -> tuple[Any, list[float]]:
    """Run once untimed (warm-up), then ``runs`` timed runs; return warm-up result, timings."""
    result = action()
    timings: list[float] = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return result, timings


def measure(
    action: Callable[[], Any],
    runs: int,
    inspect: Callable[[Any], list[str] | None] | None = None,
) -> Measure:
    """Time ``action`` warm; ``inspect`` reads trackers from its result or raises if unusable."""
    try:
        result, timings = time_warm(action, runs)
        found = inspect(result) if inspect is not None else None
    except Exception as exc:  # a tool failing on a file is reported, not fatal
        return Measure(error=f"{type(exc).__name__}: {exc}".strip())
    return Measure(seconds=statistics.median(timings), runs=timings, trackers=found)


# --- exodus-core (own virtual environment, child process) ----------------------------------


def ensure_exodus_venv() -> Path:
    """Create bench/.venv-exodus with exodus-core pinned, once; return its python."""
    if shutil.which("dexdump") is None:
        raise ToolUnavailable(
            "Debian's dexdump is not installed; exodus-core needs it. "
            "Install it with: sudo apt-get update && sudo apt-get install -y dexdump"
        )
    python = EXODUS_VENV / "bin" / "python"
    if EXODUS_MARKER.exists() and python.exists():
        return python
    progress.print(f"Creating {EXODUS_VENV} with exodus-core=={EXODUS_VERSION} ...")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(EXODUS_VENV)], check=True)
        subprocess.run([*pip, f"exodus-core=={EXODUS_VERSION}"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ToolUnavailable(f"could not create {EXODUS_VENV}: {exc}") from exc
    EXODUS_MARKER.write_text(f"exodus-core=={EXODUS_VERSION}\n", encoding="utf-8")
    return python


def run_exodus(files: list[Path], snapshot: Path, runs: int) -> tuple[dict[str, Measure], str]:
    """Time exodus-core in its own venv; return per-file measures and exodus-core's version."""
    python = ensure_exodus_venv()
    progress.print(f"measuring exodus-core on {len(files)} file(s) ...")
    command = [str(python), str(EXODUS_TIMER), "--snapshot", str(snapshot), "--runs", str(runs)]
    done = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, check=False)
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ToolUnavailable(
            f"exodus timer exited {done.returncode}: {done.stderr.strip()[-500:]}"
        ) from exc
    measures: dict[str, Measure] = {}
    for path in files:
        raw = answer["results"].get(str(path), {"ok": False, "error": "no result"})
        if raw["ok"]:
            measures[str(path)] = Measure(
                seconds=raw["seconds"], runs=raw["runs"], trackers=raw["trackers"]
            )
        else:
            measures[str(path)] = Measure(error=raw["error"])
    return measures, f"{answer['exodus_core']} (androguard {answer['androguard']})"


# --- androguard and appwarden (this venv, in process) ---------------------------------------


def quiet_androguard() -> None:
    """Silence androguard's loguru output so that logging is not part of the timing."""
    from loguru import logger

    logger.disable("androguard")


def analyze_apk(path: Path) -> Any:
    from androguard.misc import AnalyzeAPK

    return AnalyzeAPK(str(path))


def androguard_checked(analysis: Any) -> None:
    """Refuse a run where androguard analysed nothing (no manifest: not an APK)."""
    apk = analysis[0]
    if not apk.is_valid_APK():
        raise ValueError("androguard found no AndroidManifest.xml (not an APK)")


def load_appwarden(snapshot: Path) -> Callable[[Path], Any]:
    """Return ``assess_file`` bound to the exodus snapshot's definitions."""
    try:
        from appwarden.vetting.assess import assess_file
        from appwarden.vetting.trackers import load_definitions_file
    except ImportError as exc:
        raise ToolUnavailable(
            f"cannot import appwarden's assess_file ({exc}); "
            "install the project into .venv with: .venv/bin/pip install -e ."
        ) from exc
    try:
        definitions = load_definitions_file(snapshot)
    except Exception as exc:
        raise ToolUnavailable(f"appwarden could not load {snapshot}: {exc}") from exc
    return partial(assess_file, definitions=definitions)


def plain(value: Any) -> str:
    """An enum's value, or the value itself as text."""
    return str(getattr(value, "value", value))


def code_trackers(assessment: Any) -> list[str]:
    """Names of the trackers appwarden matched in code (not only by network signature)."""
    trackers = assessment.trackers
    return sorted({str(t.name) for t in trackers if plain(t.matched_by) in CODE_MATCHES})


# --- appwarden CLI (wall time, imports included) --------------------------------------------


def appwarden_cli() -> Path:
    found = shutil.which("appwarden")
    cli = APPWARDEN_CLI if APPWARDEN_CLI.exists() else Path(found) if found else None
    if cli is None:
        raise ToolUnavailable(f"{APPWARDEN_CLI} not found; install the project into .venv")
    probe = subprocess.run([str(cli), "vet", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise ToolUnavailable(f"`appwarden vet --help` exited {probe.returncode}: {last}")
    return cli


def vet_with_cli(cli: Path, path: Path) -> None:
    done = subprocess.run(
        [str(cli), "vet", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {done.returncode}, no JSON on stdout: {last}") from exc


# --- run -----------------------------------------------------------------------------------


def not_measured(unavailable: dict[str, str], tool: str, exc: ToolUnavailable) -> None:
    """Record a tool that cannot run at all, and say so at once (the run may be long)."""
    unavailable[tool] = str(exc)
    progress.print(f"[bold red]{tool} will not be measured:[/] {exc}")


def measure_in_process(
    results: list[FileResult], args: argparse.Namespace, unavailable: dict[str, str]
) -> None:
    quiet_androguard()
    try:
        assess: Callable[[Path], Any] | None = load_appwarden(args.snapshot)
    except ToolUnavailable as exc:
        assess = None
        not_measured(unavailable, "appwarden", exc)
    try:
        cli: Path | None = appwarden_cli()
    except ToolUnavailable as exc:
        cli = None
        not_measured(unavailable, "cli", exc)
    for result in results:
        path = Path(result.path)
        progress.print(f"measuring {result.name} ...")
        result.tools["androguard"] = measure(
            partial(analyze_apk, path), args.runs, androguard_checked
        )
        if assess is not None:
            result.tools["appwarden"] = measure(partial(assess, path), args.runs, code_trackers)
        if cli is not None:
            result.tools["cli"] = measure(partial(vet_with_cli, cli, path), args.cli_runs)


def measure_all(
    files: list[Path], args: argparse.Namespace
) -> tuple[list[FileResult], dict[str, str], dict[str, str]]:
    """Measure every tool on every file; return results, tool versions, unavailable tools."""
    results = [FileResult(path=str(path), size=path.stat().st_size) for path in files]
    versions = {"androguard": package_version("androguard") or "?"}
    unavailable: dict[str, str] = {}
    try:
        exodus, versions["exodus-core"] = run_exodus(files, args.snapshot, args.runs)
        for result in results:
            result.tools["exodus"] = exodus[result.path]
    except ToolUnavailable as exc:
        not_measured(unavailable, "exodus", exc)
    measure_in_process(results, args, unavailable)
    versions["appwarden"] = package_version("appwarden") or "?"
    return results, versions, unavailable


def raw_figures(
    info: dict[str, Any], args: argparse.Namespace, results: list[FileResult]
) -> dict[str, Any]:
    return {
        "machine": info,
        "settings": {"runs": args.runs, "cli_runs": args.cli_runs, "snapshot": str(args.snapshot)},
        "files": [{"name": result.name, **asdict(result)} for result in results],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time AppWarden's vetting against exodus-core and androguard."
    )
    parser.add_argument(
        "files", nargs="*", type=Path, help=f"APK/IPA files (default: every .apk in {DEFAULT_APPS})"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per file (default 3)")
    parser.add_argument("--cli-runs", type=int, default=3, help="timed CLI runs (default 3)")
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT, help="tracker list")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the raw figures to OUT")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.cli_runs < 1:
        parser.error("--runs and --cli-runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = [path.resolve() for path in (args.files or sorted(DEFAULT_APPS.glob("*.apk")))]
    missing = [str(path) for path in files if not path.is_file()]
    if not files or missing:
        console.print(f"[bold red]No such file:[/] {', '.join(missing) or DEFAULT_APPS / '*.apk'}")
        return 2
    if not args.snapshot.is_file():
        console.print(f"[bold red]Tracker snapshot not found:[/] {args.snapshot}")
        return 2
    info = machine_info()
    print_machine(info)
    results, versions, unavailable = measure_all(files, args)
    info["versions"] = versions
    console.print(", ".join(f"{tool} {ver}" for tool, ver in versions.items()) + "\n")
    summary = print_report(results, args, unavailable)
    if args.json:
        raw = {**raw_figures(info, args, results), "unavailable": unavailable, "summary": summary}
        args.json.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
        console.print(f"\nRaw figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
