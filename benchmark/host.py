"""Facts about the machine a run is on: its device, the cores it may use, how many workers that
makes, and the tags every run carries (device, threads, versions, git revision, host)."""

from __future__ import annotations

import math
import os
import platform
import socket
import subprocess
from pathlib import Path

import torch

import benchmark
from benchmark.errors import ConfigError
from benchmark.schema import environment_tag


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={spec} but no CUDA device is available here; use device=auto or device=cpu"
            )
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={spec} but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device(spec)


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota if one is set."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def resolve_workers(workers: int | str, device: torch.device) -> int:
    """``workers: auto``: one worker per usable core on the CPU (two 1-thread workers train 1.95x
    the trials of one 2-thread worker here, bench/workers.py); one on a GPU, which one process keeps
    busy better than several sharing it."""
    if workers != "auto":
        return int(workers)
    return 1 if device.type == "cuda" else usable_cores()


def git_revision() -> str:
    """The suite's git commit (with ``-dirty`` if modified), or ``unknown`` outside a checkout."""
    root = Path(benchmark.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "benchmark"], cwd=root, timeout=5
        ).returncode
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo's ``model name``), else what ``platform`` knows
    (on Linux that is only the architecture, ``x86_64``, which says nothing about speed)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_tags(device: torch.device) -> dict[str, str]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model()
    return {
        environment_tag("device"): str(device),
        environment_tag("device_name"): name,
        environment_tag("threads"): str(torch.get_num_threads()),
        environment_tag("version"): benchmark.__version__,
        environment_tag("git_revision"): git_revision(),
        environment_tag("torch_version"): torch.__version__,
        environment_tag("python_version"): platform.python_version(),
        environment_tag("host"): socket.gethostname(),
    }
