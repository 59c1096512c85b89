"""An Optuna journal file that survives a torn write.

A crash or a full disk mid-write can leave the journal's last record cut (no newline) or undecodable.
Optuna then fails on every later open, or appends the next record onto the torn one; with several
workers, another worker's complete record can land right after the cut one, on the same line. Before
the workers of one host open the journal, every torn record is set aside in a file beside it (named in
the message) and the journal keeps its complete records: the trial a torn record belonged to is closed
as interrupted by the start-up sweep and redone. A bad record that is neither (followed by good ones,
with no complete record glued to it) is a damaged file: that is one line saying how to recover, and
nothing is changed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmark.errors import ConfigError


def _complete(line: bytes) -> bool:
    if not line.endswith(b"\n"):
        return False
    try:
        json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return True


def _split_torn(line: bytes) -> tuple[bytes, bytes] | None:
    """(torn fragment, complete record) where a writer appended a whole record onto another's torn one
    (several workers and a full disk: one write is cut, the next lands after it), else None."""
    start = line.find(b"{", 1)
    while start != -1:
        if _complete(line[start:]):
            return line[:start], line[start:]
        start = line.find(b"{", start + 1)
    return None


def repair_journal(path: Path) -> Path | None:
    """Set aside the journal's torn records; returns where they were kept (None: nothing torn)."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    kept_lines: list[bytes] = []
    torn: list[bytes] = []
    for number, line in enumerate(lines, start=1):
        if _complete(line):
            kept_lines.append(line)
            continue
        glued = _split_torn(line)
        if glued is not None:  # the torn op never took effect (its writer got the error); the rest did
            torn.append(glued[0])
            kept_lines.append(glued[1])
            continue
        later = [rest for rest in lines[number:] if rest.strip()]
        if later:
            good = sum(len(k) for k in kept_lines) + sum(len(t) for t in torn)
            raise ConfigError(
                f"the Optuna journal {path} is damaged at record {number} (byte {good}) with {len(later)} records "
                f"after it; keep a copy, then cut it there (truncate -s {good} {path}) and rerun: the trials "
                f"recorded after that point are redone"
            )
        torn.append(line)  # the torn tail
        break
    if not torn:
        return None
    kept = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%d-%H%M%S')}")
    kept.write_bytes(b"".join(torn))
    repaired = path.with_name(f".{path.name}.repaired")
    repaired.write_bytes(b"".join(kept_lines))
    os.replace(repaired, path)  # no worker has it open: the lead repairs before any starts
    return kept
