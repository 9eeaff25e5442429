"""Writing vetting results: to the terminal, or one file per app under ``--out``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from appwarden.cli.summary import summary_text
from appwarden.reports import render_html, render_index_html, render_markdown
from appwarden.vetting.model import Assessment

Format = Literal["text", "json", "html", "md"]
EXTENSIONS: dict[str, str] = {"text": "txt", "json": "json", "html": "html", "md": "md"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def render(assessment: Assessment, fmt: Format) -> str:
    if fmt == "json":
        return assessment.model_dump_json()
    if fmt == "html":
        return render_html(assessment)
    if fmt == "md":
        return render_markdown(assessment)
    return summary_text(assessment)


def report_names(paths: list[Path], extension: str) -> list[str]:
    """One safe, distinct file name per input: its stem, made safe, numbered if repeated."""
    names: list[str] = []
    used: set[str] = set()
    for path in paths:
        stem = _UNSAFE.sub("_", path.stem).strip("._") or "app"
        name, number = f"{stem}.{extension}", 2
        while name in used or name == f"index.{extension}":
            name, number = f"{stem}-{number}.{extension}", number + 1
        used.add(name)
        names.append(name)
    return names


def write_reports(
    out: Path,
    results: list[tuple[Path, Assessment]],
    fmt: Format,
    failures: list[tuple[str, str]] | None = None,
) -> list[Path]:
    """Write each report (and an index for HTML) under ``out``; return what was written.

    Names come from the input file names only, never from anything inside an archive,
    and every path is checked to stay under ``out``.
    """
    out.mkdir(parents=True, exist_ok=True)
    root = out.resolve()
    names = report_names([path for path, _ in results], EXTENSIONS[fmt])
    written: list[Path] = []
    for name, (_path, assessment) in zip(names, results, strict=True):
        target = (root / name).resolve()
        if target.parent != root:
            raise ValueError(f"refusing to write outside {root}: {name}")
        target.write_text(render(assessment, fmt), encoding="utf-8")
        written.append(target)
    if fmt == "html":
        index = root / "index.html"
        entries = [(name, a) for name, (_p, a) in zip(names, results, strict=True)]
        index.write_text(render_index_html(entries, failures), encoding="utf-8")
        written.append(index)
    return written
