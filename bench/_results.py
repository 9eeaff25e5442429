"""Benchmark results: one tool's figures per file, and how they are printed."""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

LIMIT_FILE = "instapaper.apk"
LIMIT_SECONDS = 0.100
#: Files at least this large are summarised apart: on tiny APKs process start-up and
#: manifest parsing dominate every tool's time.
LARGE_BYTES = 100_000

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


@dataclass
class Measure:
    """One tool's figures on one file: median seconds of the timed runs, or an error."""

    seconds: float | None = None
    runs: list[float] = field(default_factory=list)
    trackers: list[str] | None = None
    error: str | None = None


@dataclass
class FileResult:
    """All tools' figures on one file; a tool that could not run at all has no entry."""

    path: str
    size: int
    tools: dict[str, Measure] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.path).name

    def seconds(self, tool: str) -> float | None:
        measure = self.tools.get(tool)
        return measure.seconds if measure is not None else None

    def ratio(self, tool: str) -> float | None:
        peer, ours = self.seconds(tool), self.seconds("appwarden")
        return peer / ours if peer is not None and ours else None

    def trackers_agree(self) -> bool | None:
        theirs, ours = self.tools.get("exodus"), self.tools.get("appwarden")
        if theirs is None or ours is None or theirs.trackers is None or ours.trackers is None:
            return None
        return set(theirs.trackers) == set(ours.trackers)


# --- report --------------------------------------------------------------------------------


def cell(result: FileResult, tool: str) -> str:
    measure = result.tools.get(tool)
    if measure is None:
        return "[dim]n/a[/]"
    if measure.seconds is None:
        return "[red]fail[/]"
    value = measure.seconds * 1000
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def times(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:,.1f}x"


def agreement(result: FileResult) -> str:
    agree = result.trackers_agree()
    if agree is None:
        return "—"
    count = len(result.tools["exodus"].trackers or [])
    return f"[green]yes[/] ({count})" if agree else "[red]no[/]"


def size(num_bytes: int) -> str:
    if num_bytes >= 100_000:
        return f"{num_bytes / 1_000_000:.2f} MB"
    return f"{num_bytes / 1000:.1f} kB"


def results_table(results: list[FileResult], runs: int, cli_runs: int) -> Table:
    table = Table(
        title=f"Warm median of {runs} runs, imports excluded; CLI: wall time, median of {cli_runs}"
    )
    table.add_column("app", no_wrap=True, min_width=max(len(r.name) for r in results))
    headers = ("size", "exodus ms", "androguard ms", "appwarden ms", "exodus/aw")
    for header in (*headers, "androguard/aw", "CLI wall ms", "code trackers agree"):
        table.add_column(header, justify="right")
    for result in results:
        table.add_row(
            result.name,
            size(result.size),
            cell(result, "exodus"),
            cell(result, "androguard"),
            cell(result, "appwarden"),
            times(result.ratio("exodus")),
            times(result.ratio("androguard")),
            cell(result, "cli"),
            agreement(result),
        )
    return table


def median_ratio(results: list[FileResult], tool: str) -> float | None:
    ratios = [r for r in (result.ratio(tool) for result in results) if r is not None]
    return statistics.median(ratios) if ratios else None


def limit_line(results: list[FileResult]) -> str:
    match = next((r for r in results if r.name == LIMIT_FILE), None)
    if match is None:
        return f"{LIMIT_FILE} was not among the files measured: no comparison with the limit."
    actual = match.seconds("appwarden")
    if actual is None:
        return f"{LIMIT_FILE}: appwarden was not measured, so no comparison with the limit."
    verdict = "[green]within[/]" if actual <= LIMIT_SECONDS else "[red]over[/]"
    cli_note = f"; CLI wall time {cell(match, 'cli')} ms" if match.seconds("cli") else ""
    return (
        f"{LIMIT_FILE} ({size(match.size)}): appwarden {cell(match, 'appwarden')} ms "
        f"vs the {LIMIT_SECONDS * 1000:.0f} ms limit → limit/actual = "
        f"{LIMIT_SECONDS / actual:.2f}x ({verdict} the limit){cli_note}"
    )


def print_problems(results: list[FileResult], unavailable: dict[str, str]) -> None:
    if unavailable:
        console.print("\n[bold red]Not measured at all:[/]")
        for tool, reason in unavailable.items():
            console.print(f"  {tool}: {reason}")
    failures = [(r.name, tool, m.error) for r in results for tool, m in r.tools.items() if m.error]
    if failures:
        console.print("\n[bold]Skipped (the tool failed on the file):[/]")
        for name, tool, error in failures:
            console.print(f"  {name}: {tool}: {error}")
    differing = [r for r in results if r.trackers_agree() is False]
    if differing:
        console.print("\n[bold]Code-matched tracker sets that differ:[/]")
    for result in differing:
        theirs = set(result.tools["exodus"].trackers or [])
        ours = set(result.tools["appwarden"].trackers or [])
        console.print(
            f"  {result.name}: only exodus: {sorted(theirs - ours) or '-'}; "
            f"only appwarden: {sorted(ours - theirs) or '-'}"
        )


def print_report(
    results: list[FileResult], args: argparse.Namespace, unavailable: dict[str, str]
) -> dict[str, Any]:
    console.print(results_table(results, args.runs, args.cli_runs))
    summary = {
        "median_ratio_exodus_over_appwarden": median_ratio(results, "exodus"),
        "median_ratio_androguard_over_appwarden": median_ratio(results, "androguard"),
    }
    large = [r for r in results if r.size >= LARGE_BYTES]
    summary["median_ratio_exodus_over_appwarden_large"] = median_ratio(large, "exodus")
    console.print(
        f"Median ratio exodus/appwarden: {times(summary['median_ratio_exodus_over_appwarden'])}; "
        f"androguard/appwarden: {times(summary['median_ratio_androguard_over_appwarden'])} "
        "(over the files both measured)"
    )
    console.print(
        f"Median ratio exodus/appwarden over the {len(large)} files of "
        f"{LARGE_BYTES // 1000} kB or more: "
        f"{times(summary['median_ratio_exodus_over_appwarden_large'])}"
    )
    console.print(limit_line(results))
    print_problems(results, unavailable)
    return summary
