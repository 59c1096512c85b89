"""Host facts recorded on every run."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
import torch

from benchmark.host import environment_tags


def test_the_device_name_of_a_cpu_run_is_the_processor_model_not_the_architecture():
    cpuinfo = Path("/proc/cpuinfo")
    models = (
        [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        if cpuinfo.is_file()
        else []
    )
    if not models:
        pytest.skip("no /proc/cpuinfo model name on this machine")
    name = environment_tags(torch.device("cpu"))["benchmark.device_name"]
    assert name == models[0] and name != platform.machine()
