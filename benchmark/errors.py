"""The user-facing error, and pydantic's validation errors translated into it: imported by every layer
without pulling in the rest of the suite."""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported by the schema; the error class itself needs none
    from pydantic import ValidationError


class ConfigError(ValueError):
    """Bad user input; the CLI prints it as one line and exits with status 2."""


EXPECTED = {"int": "an integer", "float": "a number", "bool": "true or false", "string": "a non-empty string"}
BOUNDS = {"greater_than_equal": ">=", "greater_than": ">"}


def one_line(err: ValidationError, root: type, prefix: tuple[str, ...] = ()) -> str:
    """pydantic's first error as our one line: the dotted key, what is allowed, what was given.

    ``root`` is the schema validated (a pydantic dataclass): unknown keys are answered with its allowed
    ones. A field may state what it allows in ``Field(description=...)``, which then completes
    "<key> <description>; got <value>" when its ``pattern`` does not match.
    """
    first = err.errors(include_url=False)[0]
    kind, given, context = first["type"], first.get("input"), first.get("ctx", {})
    if isinstance(context.get("error"), ConfigError):  # a validator's own message is already one line
        return str(context["error"])
    loc = list(first["loc"])
    while loc and isinstance(loc[-1], int):  # an element of a list of values: the list's key names it
        loc.pop()
    path = [str(part) for part in loc if not isinstance(part, int)]
    where = ".".join(prefix) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    where = where.lstrip(".")
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = ", ".join(f.name for f in dataclasses.fields(_schema_at(root, path[:-1])))
        parent = where.rsplit(".", 1)[0] + "." if "." in where else ""
        return f"unknown key {parent}{path[-1]!r}; allowed keys: {allowed}"
    if kind in ("dataclass_type", "dataclass_args_type", "model_type"):
        keys = ", ".join(f.name for f in dataclasses.fields(_schema_at(root, path)))
        return f"{where} must be a mapping with keys {keys}; got {given!r}"
    if kind == "literal_error":
        return (
            f"{where} must be one of {', '.join(map(str, typing.get_args(_hint(root, path))))}; got {given!r}"
        )
    if kind == "string_pattern_mismatch":
        return f"{where} {_description(root, path)}; got {given!r}"
    for name, what in EXPECTED.items():
        if kind.startswith(name + "_"):
            return f"{where} must be {what}, got {given!r}"
    if kind in BOUNDS:
        return f"{where} must be {BOUNDS[kind]} {context.get('ge', context.get('gt')):g}, got {given}"
    if kind == "too_short":
        return f"{where} must be a non-empty list, got {list(given)!r}"
    if kind.startswith("missing"):
        return f"{where} is required"
    return f"{where}: {first['msg']}"


def _schema_at(root: type, path: list[str]) -> Any:
    """The schema class a key path leads to (``[]``: the root), through tuples and optionals."""
    schema: Any = root
    for part in path:
        schema = typing.get_type_hints(schema)[part]
        while not dataclasses.is_dataclass(schema) and typing.get_args(schema):
            schema = next(
                (a for a in typing.get_args(schema) if dataclasses.is_dataclass(a)),
                typing.get_args(schema)[0],
            )
    return schema


def _hint(root: type, path: list[str]) -> Any:
    return typing.get_type_hints(_schema_at(root, path[:-1]))[path[-1]]


def _description(root: type, path: list[str]) -> str:
    hint = typing.get_type_hints(_schema_at(root, path[:-1]), include_extras=True)[path[-1]]
    from pydantic.fields import FieldInfo

    infos = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, FieldInfo) and m.description]
    return infos[0].description if infos else "does not have the expected form"
