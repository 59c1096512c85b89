"""On a CUDA device: GPU memory is measured (not "not measured") and the whole path runs on the GPU."""

import pytest

from benchmark.cli import main
from tests.conftest import tiny_overrides
from tests.store import Store


@pytest.mark.gpu
def test_smoke_study_on_cuda_records_gpu_memory_and_latency(tmp_path):
    overrides = tiny_overrides(tmp_path, "device=cuda", "grid.modalities=[[img,vec]]", "grid.fusion=[concat]")
    assert main(["run", *overrides, "--no-progress"]) == 0
    finals = Store(tmp_path).runs("final")
    assert finals
    for run in finals:
        assert run.data.tags["benchmark.device"].startswith("cuda")
        assert run.data.metrics["memory/gpu_added_mb"] > 0
        assert run.data.metrics["memory/gpu_reserved_added_mb"] >= run.data.metrics["memory/gpu_added_mb"]
        assert "benchmark.gpu_memory" not in run.data.tags
        if run.data.tags["benchmark.seed"] == "1000":  # latency: on the first seed
            assert 0 < run.data.metrics["latency/p50_ms"] <= run.data.metrics["latency/p95_ms"]
