"""An assessment as GitHub-flavoured Markdown: the content of the HTML report, as text.

App-supplied strings are hostile. Every ``{{ … }}`` in the template passes through
:func:`md_escape` (the environment's ``finalize``), so no value can open a table column, a
link, emphasis, a heading, a list or raw HTML. The only output that is not escaped there is
:class:`Md`, which the filters below build from escaped parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from appwarden.reports.html import format_size, format_value, shared_context, yes_no
from appwarden.vetting.model import Assessment

# Characters with inline meaning in GFM (emphasis, code, links, tables, strikethrough,
# math, headings' closing #, entities), escaped with a backslash wherever they occur.
_INLINE = re.compile(r"([\\`*_\[\]|~$!&#])")
# Block markers that only mean something at the start of a line (a list item's content
# starts a line too): bullets, setext underlines, ordered-list numbers.
_BLOCK_START = re.compile(r"^(?:([-+=])|(\d{1,9})([.)])(?=[ \t]|$))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class Md(str):
    """Markdown that is already safe to emit as it is."""

    __slots__ = ()


def md_escape(value: object) -> str:
    """``value`` as Markdown text that renders as that text and nothing else.

    Control characters (line breaks, tabs) become spaces, so a value stays on its line.
    """
    if isinstance(value, Md):
        return value
    if value is None:
        return "—"
    text = _CONTROL.sub(" ", str(value))
    text = _INLINE.sub(r"\\\1", text).replace("<", "&lt;").replace(">", "&gt;")
    text = _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    stripped = text.lstrip(" ")
    return "&#32;" * (len(text) - len(stripped)) + stripped


def bullets(items: Iterable[object], empty: str = "None.") -> Md:
    """A bulleted list, or ``empty`` in italics."""
    lines = [f"- {md_escape(item)}" for item in items]
    return Md("\n".join(lines) if lines else f"_{md_escape(empty)}_")


def table(
    rows: Iterable[Sequence[object]], headers: Sequence[str], numeric: Sequence[int] = ()
) -> Md:
    """A GFM table; the columns at the indexes in ``numeric`` align right."""
    align = ["---:" if i in numeric else "---" for i in range(len(headers))]
    lines = [_row(headers), "| " + " | ".join(align) + " |"]
    lines.extend(_row(row) for row in rows)
    return Md("\n".join(lines))


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(md_escape(cell) or "—" for cell in cells) + " |"


def codeblock(text: str, language: str = "") -> Md:
    """A fenced code block whose fence no run of backticks in ``text`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Md(f"{fence}{language}\n{text}\n{fence}")


def bar(points: int, cap: int) -> Md:
    """Points against cap in text, one block per point: ``█████░░░``."""
    return Md("█" * points + "░" * max(cap - points, 0))


_CODE_CHARS = r"[\w.:/@+=,;()$%?#&*~!'\"\[\]{}^-]"
_CODE_SAFE = re.compile(rf"{_CODE_CHARS}+(?: {_CODE_CHARS}+)*")


def codes(values: Iterable[object]) -> Md:
    """Identifiers in code style, separated by commas; a dash if there are none."""
    return Md(", ".join(code(value) for value in values) or "—")


def strong(value: object) -> Md:
    return Md(f"**{md_escape(value)}**")


def code(value: object) -> Md:
    """An identifier in code style (never autolinked), if that shows it exactly; else text.

    Inside a code span nothing is interpreted, but a backtick would end it, a ``|`` would
    still split a table cell, and runs or edge spaces would not show: such values stay
    escaped text, as do ``<`` and ``>`` (never emitted raw).
    """
    text = "" if value is None else str(value)
    if _CODE_SAFE.fullmatch(text):
        return Md(f"`{text}`")
    return Md(md_escape(value))


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("appwarden.reports", "templates"),
        # HTML escaping would corrupt Markdown; `finalize` escapes every expression for
        # Markdown instead (see md_escape), including `<` and `>`.
        autoescape=False,  # noqa: S701
        extensions=["jinja2.ext.do"],
        finalize=md_escape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        bullets=bullets,
        table=table,
        codeblock=codeblock,
        bar=bar,
        code=code,
        codes=codes,
        strong=strong,
        size=format_size,
        value=format_value,
        yesno=yes_no,
    )
    return env


def render_markdown(assessment: Assessment) -> str:
    """The full report for one assessment as GitHub-flavoured Markdown."""
    text = _environment().get_template("assessment.md.j2").render(shared_context(assessment))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
