"""The user-facing error: imported by every layer without pulling in the rest of the suite."""

from __future__ import annotations


class ConfigError(ValueError):
    """Bad user input; the CLI prints it as one line and exits with status 2."""
