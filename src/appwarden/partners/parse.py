"""Reading a partner's list (CSV or JSON) into a :class:`PartnerList`. Pure.

All or nothing: the first problem raises :class:`PartnerFileError`, naming the line (CSV)
or the item (JSON) and what to fix; nothing of the file is used then. Checked in this
order: size, encoding, emptiness, the header or document shape, each row, duplicates.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appwarden.errors import Invalid, TooLarge
from appwarden.partners.format import (
    ACTIONS,
    CSV_COLUMNS,
    FORMAT,
    FORMULA_STARTS,
    PLATFORMS,
    REQUIRED_COLUMNS,
    VERSION,
    PartnerList,
    Target,
)

#: The most targets one list may hold (each becomes a determination on import).
MAX_TARGETS = 10_000
_APP_ID = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_BOM = b"\xef\xbb\xbf"


class PartnerFileError(Invalid):
    """A partner file that cannot be used; ``where`` names the line or item."""

    kind, title = "invalid-partner-list", "Invalid partner list"

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message, where=where)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Header(_Model):
    jurisdiction: str = Field(min_length=1, max_length=100)
    source_title: str = Field(min_length=1, max_length=300)
    source_url: str | None = Field(default=None, max_length=500)
    date: date

    @field_validator("source_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        if value in ("", None):
            return None
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise ValueError("source_url must be an http(s) URL")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
            raise ValueError(f"not a date YYYY-MM-DD: {value!r}")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not a date YYYY-MM-DD: {value!r}") from None


class _Target(_Model):
    app_id: str | None = Field(default=None, max_length=255)
    platform: str | None = None
    publisher: str | None = Field(default=None, max_length=200)
    action: str
    name: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)

    @field_validator("app_id", "platform", "publisher", "name", "reference", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("action")
    @classmethod
    def _action(cls, value: str) -> str:
        if value not in ACTIONS:
            raise ValueError(f"action {value!r} is not one of {', '.join(ACTIONS)}")
        return value

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        if value is not None and value not in PLATFORMS:
            raise ValueError(f"platform {value!r} is not android or ios (or empty: both)")
        return value

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: str | None) -> str | None:
        if value is not None and not _APP_ID.fullmatch(value):
            raise ValueError(f"app_id {value!r} is not a package name or bundle id")
        return value

    def target(self) -> Target:
        if (self.app_id is None) == (self.publisher is None):
            raise ValueError("give exactly one of app_id and publisher")
        if self.publisher is not None and self.platform is not None:
            raise ValueError("a publisher target takes no platform")
        return Target(**self.model_dump())


def _message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"])
        text = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            text = "unknown field"
        parts.append(f"{field}: {text}" if field else text)
    return "; ".join(parts)


def _unquote(cell: str) -> str:
    """A cell an export neutralised (``'=...``) as it was."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def decode(data: bytes, *, max_bytes: int) -> str:
    """The file's text: at most ``max_bytes``, UTF-8 (a BOM is dropped), not empty."""
    if len(data) > max_bytes:
        raise TooLarge(f"the partner list is larger than {max_bytes} bytes", limit=max_bytes)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PartnerFileError("line 1", "the file is UTF-16; save it as UTF-8")
    data = data.removeprefix(_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise PartnerFileError(
            f"line {line}", f"byte 0x{byte:02X} is not UTF-8; save the file as UTF-8"
        ) from None
    if not text.strip():
        raise PartnerFileError("", "the file is empty")
    return text


def detect(text: str) -> str:
    return "json" if text.lstrip().startswith(("{", "[")) else "csv"


def parse(data: bytes, *, fmt: str | None = None, max_bytes: int) -> PartnerList:
    """The list in ``data`` (``fmt`` csv or json; None: JSON if it starts with ``{``)."""
    text = decode(data, max_bytes=max_bytes)
    fmt = fmt or detect(text)
    if fmt not in ("csv", "json"):
        raise PartnerFileError("", f"unknown format {fmt!r}: csv or json")
    parsed, places = parse_json(text) if fmt == "json" else parse_csv(text)
    _refuse_duplicates(parsed.targets, places)
    return parsed


# --- JSON -------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"key {repeated[0]!r} appears twice in one object")
    return dict(pairs)


def _load(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise PartnerFileError(f"line {error.lineno}", f"not JSON: {error.msg}") from None
    except ValueError as error:
        raise PartnerFileError("", str(error)) from None


def parse_json(text: str) -> tuple[PartnerList, list[str]]:
    document = _load(text)
    if not isinstance(document, dict):
        raise PartnerFileError("", "the document must be a JSON object")
    keys = {"format", "version", "jurisdiction", "source", "date", "targets"}
    if unknown := sorted(set(document) - keys):
        raise PartnerFileError(
            "", f"unknown field {unknown[0]!r}; fields: {', '.join(sorted(keys))}"
        )
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise PartnerFileError("", f'give "format": "{FORMAT}" and "version": {VERSION}')
    source = document.get("source")
    if not isinstance(source, dict) or set(source) - {"title", "url"}:
        raise PartnerFileError("source", 'an object {"title": ..., "url": ...}')
    raw = {"jurisdiction": document.get("jurisdiction"), "source_title": source.get("title"),
           "source_url": source.get("url"), "date": document.get("date")}  # fmt: skip
    try:
        header = _Header.model_validate(raw)
    except ValidationError as error:
        raise PartnerFileError("", _message(error)) from None
    items = document.get("targets")
    if not isinstance(items, list) or not items:
        raise PartnerFileError("targets", "a non-empty array of targets")
    if len(items) > MAX_TARGETS:
        raise PartnerFileError("targets", f"more than {MAX_TARGETS} targets")
    targets = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PartnerFileError(f"item {index}", "a target must be an object")
        targets.append(_target(item, f"item {index}"))
    places = [f"item {i}" for i in range(len(targets))]
    return PartnerList(**header.model_dump(), targets=tuple(targets)), places


def _target(raw: dict[str, Any], where: str) -> Target:
    try:
        return _Target.model_validate(raw).target()
    except ValidationError as error:
        raise PartnerFileError(where, _message(error)) from None
    except ValueError as error:
        raise PartnerFileError(where, str(error)) from None


# --- CSV --------------------------------------------------------------------------------


def _columns(header: list[str]) -> list[str]:
    columns = [c.strip() for c in header]
    repeated = [c for i, c in enumerate(columns) if c in columns[:i]]
    if repeated:
        raise PartnerFileError("line 1", f"column {repeated[0]!r} appears twice")
    if unknown := [c for c in columns if c not in CSV_COLUMNS]:
        raise PartnerFileError(
            "line 1", f"unknown column {unknown[0]!r}; columns: {', '.join(CSV_COLUMNS)}"
        )
    if missing := [c for c in REQUIRED_COLUMNS if c not in columns]:
        raise PartnerFileError("line 1", f"missing column(s) {', '.join(missing)}")
    if "app_id" not in columns and "publisher" not in columns:
        raise PartnerFileError("line 1", "missing column app_id or publisher (or both)")
    return columns


def _rows(text: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise PartnerFileError(f"line {reader.line_num + 1}", f"not CSV: {error}") from None
    return rows


def parse_csv(text: str) -> tuple[PartnerList, list[str]]:
    rows = _rows(text)
    if not rows:
        raise PartnerFileError("", "the file is empty")
    (_, header), body = rows[0], rows[1:]
    columns = _columns(header)
    if not body:
        raise PartnerFileError("line 2", "no targets: the file has a header only")
    if len(body) > MAX_TARGETS:
        raise PartnerFileError(f"line {body[MAX_TARGETS][0]}", f"more than {MAX_TARGETS} targets")
    first: tuple[int, _Header] | None = None
    targets = []
    for line, cells in body:
        where = f"line {line}"
        if len(cells) != len(columns):
            raise PartnerFileError(where, f"{len(cells)} cells; the header has {len(columns)}")
        values = {c: _unquote(v) for c, v in zip(columns, cells, strict=True)}
        try:
            head = _Header.model_validate({k: values.get(k) for k in _Header.model_fields})
        except ValidationError as error:
            raise PartnerFileError(where, _message(error)) from None
        if first is None:
            first = (line, head)
        elif head != first[1]:
            field = next(
                k for k in _Header.model_fields if getattr(head, k) != getattr(first[1], k)
            )
            raise PartnerFileError(
                where, f"{field} differs from line {first[0]}'s: one file holds one list"
            )
        fields = {k: v for k, v in values.items() if k not in _Header.model_fields}
        targets.append(_target(fields, where))
    assert first is not None  # noqa: S101 (body is not empty)
    places = [f"line {line}" for line, _ in body]
    return PartnerList(**first[1].model_dump(), targets=tuple(targets)), places


def _refuse_duplicates(targets: tuple[Target, ...], places: list[str]) -> None:
    """Two entries for one target: ambiguous, refused (naming both places)."""
    seen: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        value = target.value.casefold() if target.kind == "publisher" else target.value
        key = f"{target.kind}:{value}"
        for earlier in seen.get(key, []):
            if target.overlaps(targets[earlier]):
                raise PartnerFileError(
                    places[index], f"{target.label()} repeats the target of {places[earlier]}"
                )
        seen.setdefault(key, []).append(index)
