"""Benchmark: how long the commands that do no training take to start, and whether they load torch.

    python bench/startup.py [--rounds 5]

Runs ``--help``, ``list``, ``data list`` and ``report --help`` in fresh interpreters, interleaved over
several rounds (the machine's noise hits every command alike), and prints the median wall time with
its range, and whether torch was imported. The target is under 0.5 s for the first three.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = (["--help"], ["list"], ["data", "list"], ["report", "--help"])
PROBE = (
    "import sys, runpy; sys.argv = ['benchmark', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('benchmark', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "sys.stderr.write('torch=%s\\n' % ('torch' in sys.modules))\n"
)


def time_command(arguments: list[str]) -> tuple[float, bool]:
    """Wall seconds of ``python -m benchmark ARGS`` and whether it imported torch."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments], cwd=REPO, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    return seconds, "torch=True" in result.stderr


def main(rounds: int = 5) -> dict[str, tuple[float, bool]]:
    times: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
    torch: dict[str, bool] = {}
    for _ in range(rounds):
        for command in COMMANDS:
            seconds, loaded = time_command(command)
            times[" ".join(command)].append(seconds)
            torch[" ".join(command)] = loaded
    print(f"{'command':<16} {'median s':>9} {'min-max s':>12}  torch imported")
    medians = {}
    for name, values in times.items():
        medians[name] = (statistics.median(values), torch[name])
        print(f"{name:<16} {medians[name][0]:>9.3f} {min(values):>5.3f}-{max(values):.3f}  {torch[name]}")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args().rounds)
