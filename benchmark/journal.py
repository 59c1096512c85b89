"""An Optuna journal file that survives a torn write.

A crash or a full disk mid-write can leave the journal's last record cut (no newline) or undecodable.
Optuna then fails on every later open, or appends the next record onto the torn one. Before the workers
of one host open the journal, its torn tail is set aside in a file beside it (named in the message) and
the journal is cut back to its last complete record: the trial that record belonged to is closed as
interrupted by the start-up sweep and redone. A bad record followed by good ones is not a torn write
but a damaged file: that is one line saying how to recover, and nothing is changed.
"""

from __future__ import annotations

import json
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


def repair_journal(path: Path) -> Path | None:
    """Cut a torn tail off the journal at ``path``; returns where the tail was kept (None: nothing torn)."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    good = 0  # byte offset after the last complete record
    for number, line in enumerate(lines, start=1):
        if _complete(line):
            good += len(line)
            continue
        later = [rest for rest in lines[number:] if rest.strip()]
        if later:
            raise ConfigError(
                f"the Optuna journal {path} is damaged at record {number} (byte {good}) with {len(later)} records "
                f"after it; keep a copy, then cut it there (truncate -s {good} {path}) and rerun: the trials "
                f"recorded after that point are redone"
            )
        break
    if good == len(data):
        return None
    kept = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%d-%H%M%S')}")
    kept.write_bytes(data[good:])
    with path.open("r+b") as handle:
        handle.truncate(good)
    return kept
