"""The value types of the study schema (config.py): strict numbers, flags and names, each with the one-line
error errors.one_line gives when a value does not fit, and the two list conveniences the schema's
validators share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, Strict

SCHEMA = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

Int = Annotated[int, Strict()]
Count = Annotated[int, Strict(), Field(ge=1)]
NonNegative = Annotated[int, Strict(), Field(ge=0)]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict(), Field(min_length=1)]
# errors.one_line completes "<key> <description>; got <value>" when the pattern does not match
# A study name is a folder name under report_dir: never '.', '..', hidden, or holding a path separator.
Name = Annotated[
    Text,
    Field(
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="must use letters, digits, '_' or '-', with '.' only between them",
    ),
]
Device = Annotated[
    Text, Field(pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="must be one of auto, cpu, cuda, cuda:N")
]


def listed(value: Any) -> Any:
    """A scalar is a one-element list (``grid.depth=2``)."""
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value


def unique(values: Any) -> Any:
    return tuple(dict.fromkeys(values)) if isinstance(values, list | tuple) else values
