"""A small validator for the compact reference schemas beside it (a subset of JSON Schema:
type, const, enum, pattern, required, properties, additionalProperties, items, maxItems,
oneOf and ``$ref`` to a name under ``definitions``). Returns every problem, with its path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return schema


def _type_ok(value: Any, kind: str | list[str]) -> bool:
    kinds = [kind] if isinstance(kind, str) else kind
    for one in kinds:
        if one == "integer" and isinstance(value, bool):
            continue
        if isinstance(value, _TYPES[one]):
            return True
    return False


def _object(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], at: str
) -> list[str]:
    problems = [f"{at}: missing {key}" for key in schema.get("required", []) if key not in value]
    properties = schema.get("properties", {})
    for key, item in value.items():
        if key in properties:
            problems += errors(item, properties[key], root, f"{at}.{key}")
        elif schema.get("additionalProperties") is False:
            problems.append(f"{at}: unknown key {key}")
    return problems


def errors(value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$") -> list[str]:
    if "$ref" in schema:
        return errors(value, root["definitions"][schema["$ref"]], root, at)
    if "oneOf" in schema:
        passing = [s for s in schema["oneOf"] if not errors(value, s, root, at)]
        return [] if len(passing) == 1 else [f"{at}: matches {len(passing)} of oneOf"]
    if "type" in schema and not _type_ok(value, schema["type"]):
        return [f"{at}: {value!r} is not {schema['type']}"]
    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        problems += _object(value, schema, root, at)
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            problems.append(f"{at}: {len(value)} items, more than {schema['maxItems']}")
        if "items" in schema:
            for index, item in enumerate(value):
                problems += errors(item, schema["items"], root, f"{at}[{index}]")
    return problems


def validate(value: Any, name: str) -> list[str]:
    root = load(name)
    return errors(value, root, root)
