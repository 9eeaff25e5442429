"""The terminal summary of an assessment (``appwarden vet --format text``)."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from appwarden.vetting.model import Assessment

_VERDICT_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red"}
_SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


def _heading(a: Assessment) -> Text:
    text = Text()
    text.append(a.app.label or a.app.id, style="bold")
    text.append(f"  {a.app.id} {a.app.version_name or ''} ({a.app.version_code or '?'})  ")
    text.append(a.verdict.upper(), style=_VERDICT_STYLE[a.verdict])
    text.append(f"  score {a.score.total}/100 grade {a.score.grade}")
    return text


def _identity(a: Assessment) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_row("file", f"{a.file.name} ({a.file.size:,} bytes, {a.file.kind})")
    table.add_row("sha256", a.file.sha256)
    for signer in a.signers:
        flags = " DEBUG CERTIFICATE" if signer.debug else ""
        table.add_row(
            f"signer {'/'.join(signer.schemes)}", Text(f"{signer.subject}{flags}\n{signer.sha256}")
        )
    if not a.signers:
        table.add_row("signer", Text("none (unsigned)", style="red"))
    if a.app.platform == "android":
        dangerous = sum(1 for p in a.permissions if p.protection == "dangerous")
        table.add_row("permissions", f"{len(a.permissions)} requested, {dangerous} dangerous")
    trackers = ", ".join(f"{t.name} [{t.matched_by}]" for t in a.trackers) or "none found"
    table.add_row("trackers", Text(trackers))
    table.add_row("hosts", f"{len(a.network.domains)} found in code")
    return table


def _findings(a: Assessment) -> Table:
    table = Table(show_edge=False, pad_edge=False, expand=False)
    table.add_column("severity")
    table.add_column("points", justify="right")
    table.add_column("rule")
    table.add_column("finding and evidence", overflow="fold")
    for finding in a.findings:
        shown = finding.evidence[:3]
        more = len(finding.evidence) - len(shown)
        evidence = "; ".join(shown) + (f"; … {more} more" if more else "")
        table.add_row(
            Text(finding.severity, style=_SEVERITY_STYLE[finding.severity]),
            str(finding.points),
            finding.rule_id,
            Text(f"{finding.title}\n", style="bold") + Text(evidence, style="dim"),
        )
    return table


def _breakdown(a: Assessment) -> Text:
    parts = [f"{c.category} {c.points}/{c.cap}" for c in a.score.breakdown if c.points]
    return Text("score = " + (" + ".join(parts) or "0") + f" = {a.score.total}")


def print_summary(console: Console, a: Assessment) -> None:
    """One panel per app: identity, signer, trackers, findings with evidence, score sum."""
    parts: list[Table | Text] = [_identity(a)]
    if a.findings:
        parts.append(_findings(a))
    parts.append(_breakdown(a))
    for warning in a.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts.append(Text("Static analysis only: see the report's limitations.", style="dim italic"))
    console.print(Panel(Group(*parts), title=_heading(a), title_align="left"))


def summary_text(a: Assessment) -> str:
    """The same summary as plain text, for ``--format text --out DIR``."""
    console = Console(file=io.StringIO(), width=110, color_system=None, record=True)
    print_summary(console, a)
    return console.export_text()
