"""``appwarden vet``: assess app files and folders of them."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from appwarden.cli.output import render, write_reports
from appwarden.cli.runner import Outcome, collect_inputs, default_jobs, iter_assessments, vet_all
from appwarden.cli.summary import print_summary
from appwarden.config import get_settings
from appwarden.vetting.assess import Vetter
from appwarden.vetting.scoring import VerdictThresholds
from appwarden.vetting.trackers import (
    DefinitionsError,
    TrackerDefinitions,
    load_definitions_file,
    load_installed,
)

EXIT_FAIL_VERDICT = 1
EXIT_UNREADABLE = 2


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"
    md = "md"


class FailOn(StrEnum):
    never = "never"
    warn = "warn"
    fail = "fail"


def _definitions(trackers: Path | None, err: Console) -> TrackerDefinitions:
    settings = get_settings()
    try:
        if trackers is not None:
            return load_definitions_file(trackers)
        return load_installed(settings.trackers_dir)
    except DefinitionsError as error:
        typer.echo(f"appwarden: error: {error}", err=True)
        raise typer.Exit(EXIT_UNREADABLE) from None


def _run(files: list[Path], vetter: Vetter, jobs: int, err: Console) -> list[Outcome]:
    if not (err.is_terminal and len(files) > 1):
        return vet_all(files, vetter, jobs=jobs)
    columns = (
        TextColumn("vetting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("", total=len(files))
        return vet_all(
            files,
            vetter,
            jobs=jobs,
            on_done=lambda o: progress.update(task, advance=1, description=o.path.name),
        )


def _emit(
    outcomes: list[Outcome], fmt: OutputFormat, out: Path | None, console: Console, quiet: bool
) -> None:
    results = list(iter_assessments(outcomes))
    if out is not None:
        failures = [(o.path.name, o.error) for o in outcomes if o.error]
        for path in write_reports(out, results, fmt.value, failures):
            if not quiet:
                console.print(f"wrote {path}", markup=False, highlight=False)
        return
    for _path, assessment in results:
        if fmt is OutputFormat.json:
            sys.stdout.write(assessment.model_dump_json() + "\n")
        elif fmt is OutputFormat.text:
            print_summary(console, assessment)
        else:
            sys.stdout.write(render(assessment, fmt.value) + "\n")  # type: ignore[arg-type]


def vet(
    paths: Annotated[list[Path], typer.Argument(help="APK, XAPK, APKS or IPA files, or folders.")],
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.text,
    out: Annotated[
        Path | None, typer.Option(help="Write one report per app into this folder.")
    ] = None,
    trackers: Annotated[
        Path | None, typer.Option(help="Use only this tracker list (AppWarden or Exodus format).")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Exit 1 if any verdict reaches this level.")
    ] = FailOn.never,
    warn_at: Annotated[int | None, typer.Option(help="Score at which the verdict is warn.")] = None,
    fail_at: Annotated[int | None, typer.Option(help="Score at which the verdict is fail.")] = None,
    jobs: Annotated[int, typer.Option(help="Worker processes for several files.")] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not list files written.")
    ] = False,
) -> None:
    """Assess apps: identity, signers, permissions, trackers, findings, score and verdict.

    Exit status: 0 all vetted; 1 a verdict reached --fail-on; 2 an input could not be read.
    """
    console = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    settings = get_settings()
    if fmt in (OutputFormat.html, OutputFormat.md) and out is None and len(paths) > 1:
        typer.echo(
            f"appwarden: error: --format {fmt.value} with several inputs needs --out DIR", err=True
        )
        raise typer.Exit(EXIT_UNREADABLE)
    thresholds = VerdictThresholds(
        warn_at=settings.warn_at if warn_at is None else warn_at,
        fail_at=settings.fail_at if fail_at is None else fail_at,
    )
    if thresholds.warn_at > thresholds.fail_at:
        typer.echo("appwarden: error: --warn-at must not exceed --fail-at", err=True)
        raise typer.Exit(EXIT_UNREADABLE)
    vetter = Vetter(
        _definitions(trackers, err), limits=settings.archive_limits, thresholds=thresholds
    )
    files, missing = collect_inputs(paths)
    outcomes = missing + _run(files, vetter, jobs or default_jobs(), err)
    for outcome in outcomes:
        if outcome.error:
            typer.echo(f"appwarden: error: {outcome.error}", err=True)
    _emit(outcomes, fmt, out, console if fmt is OutputFormat.text else err, quiet)
    if not files and not missing:
        typer.echo("appwarden: error: no .apk, .apks, .xapk or .ipa files found", err=True)
    if any(o.error for o in outcomes) or not files:
        raise typer.Exit(EXIT_UNREADABLE)
    levels = {"warn": ("warn", "fail"), "fail": ("fail",), "never": ()}[fail_on.value]
    if any(a.verdict in levels for _p, a in iter_assessments(outcomes)):
        raise typer.Exit(EXIT_FAIL_VERDICT)
