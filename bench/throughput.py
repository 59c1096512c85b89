"""Benchmark: what the suite costs on top of the training it runs. Prints, side by side in one run:

1. training throughput (samples/s) of the suite's ``fit()`` against a tight hand-written loop and a
   standard ``DataLoader`` loop, on the same model, data and batch size (ratios to the tight loop);
2. the overhead share of a whole study's wall time (the breakdown `run` prints at its end);
3. how latency measurements repeat: coefficient of variation of the p50 over five repeats.

    python bench/throughput.py [--epochs 5] [--repeats 3] [--study smoke] [--device cpu]

Data: UCI Multiple Features (six views, ``pix`` flattened so every view is a vector), concat fusion,
MLP encoders of depth 2, batch 64, as in the issue that set the targets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmark.metrics import measure_latency  # noqa: E402
from benchmark.model import build_model  # noqa: E402
from benchmark.tasks import ModalitySpec, Split, build_task  # noqa: E402
from benchmark.training import TrainSettings, fit, seed_everything  # noqa: E402

BATCH, WIDTH, DEPTH = 64, 64, 2


def vector_views(device: torch.device) -> tuple[dict[str, ModalitySpec], Split, Split]:
    task = build_task("mfeat")
    flat = {k: v.reshape(v.shape[0], -1) for k, v in task.splits["train"].inputs.items()}
    flat_val = {k: v.reshape(v.shape[0], -1) for k, v in task.splits["val"].inputs.items()}
    specs = {k: ModalitySpec(k, "vector", (v.shape[1],)) for k, v in flat.items()}
    return (
        specs,
        Split(flat, task.splits["train"].labels).to(device),
        Split(flat_val, task.splits["val"].labels).to(device),
    )


def _model(specs: dict[str, ModalitySpec], device: torch.device) -> torch.nn.Module:
    seed_everything(0)
    return build_model(specs, fusion="concat", num_classes=10, depth=DEPTH, width=WIDTH, dropout=0.1).to(
        device
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tight_loop(specs, train: Split, epochs: int, device: torch.device) -> float:
    """The fastest honest loop: tensors on the device, batches by indexing, nothing else."""
    model = _model(specs, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    n = len(train)
    model.train()
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, device=device)
        for begin in range(0, n, BATCH):
            idx = order[begin : begin + BATCH]
            out = model({k: x[idx] for k, x in train.inputs.items()})
            loss = F.cross_entropy(out.logits, train.labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)
    return epochs * n / (time.perf_counter() - start)


class _Samples(Dataset):
    def __init__(self, split: Split) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        return {k: x[i] for k, x in self.split.inputs.items()}, self.split.labels[i]


def dataloader_loop(specs, train: Split, epochs: int, device: torch.device) -> float:
    """The common way: a DataLoader collating one sample at a time."""
    model = _model(specs, device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(_Samples(train), batch_size=BATCH, shuffle=True)
    model.train()
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, labels in loader:
            out = model(inputs)
            loss = F.cross_entropy(out.logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    _sync(device)
    return epochs * len(train) / (time.perf_counter() - start)


def suite_fit(
    specs,
    train: Split,
    val: Split,
    epochs: int,
    device: torch.device,
    precision: str = "fp32",
    compiled: bool = False,
) -> float:
    """The suite's fit(); its training time excludes the per-epoch validation it also does (and, when
    compiled, includes the compilation, as a study pays it once per training)."""
    model = _model(specs, device)
    if compiled:
        model = torch.compile(model)
    settings = TrainSettings(
        lr=1e-3,
        weight_decay=0.0,
        batch_size=BATCH,
        max_epochs=epochs,
        patience=10**6,
        metric="f1_macro",
        precision=precision,
    )
    result = fit(model, train, val, settings, num_classes=10, seed=0)
    return epochs * len(train) / result.train_seconds


def latency_repeatability(
    specs, train: Split, device: torch.device, repeats: int = 5
) -> tuple[list[float], float]:
    model = _model(specs, device)
    p50s = [measure_latency(model, train, 1, device, warmup=20, repeats=200).p50_ms for _ in range(repeats)]
    return p50s, statistics.pstdev(p50s) / statistics.fmean(p50s)


def study_overhead(study: str) -> str:
    from benchmark.runner import StudyWorker, prepare
    from benchmark.studies import load_study
    from benchmark.timing import OVERHEAD, format_breakdown

    with tempfile.TemporaryDirectory() as workdir:
        config = load_study(study, [f"workdir={workdir}", "auto_report=false"])
        summary = StudyWorker(prepare(config), progress=False, out=open("/dev/null", "w")).run()  # noqa: SIM115
    share = sum(summary.breakdown[k] for k in OVERHEAD) / summary.breakdown["wall"]
    return f"study={study}: {format_breakdown(summary.breakdown)}\n  overhead share {100 * share:.1f} %"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="measurements per loop (median reported)")
    parser.add_argument("--study", default="smoke", help="study whose overhead share to measure ('' to skip)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    specs, train, val = vector_views(device)
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; mfeat six views, "
        f"{len(train)} training samples, concat MLP depth {DEPTH}, batch {BATCH}, {args.epochs} epochs"
    )

    loops = {
        "tight loop": lambda: tight_loop(specs, train, args.epochs, device),
        "DataLoader": lambda: dataloader_loop(specs, train, args.epochs, device),
        "suite fit()": lambda: suite_fit(specs, train, val, args.epochs, device),
    }
    if device.type == "cuda":  # the GPU-only options, measured before anyone switches them on
        loops["fit() bf16"] = lambda: suite_fit(specs, train, val, args.epochs, device, precision="bf16")
        loops["fit() compile"] = lambda: suite_fit(specs, train, val, args.epochs, device, compiled=True)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every loop alike
        for name, loop in loops.items():
            rates[name].append(loop())
    reference = statistics.median(rates["tight loop"])
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"  {name:<13} {rate:>9,.0f} samples/s   {rate / reference:5.2f}x tight loop")

    p50s, cv = latency_repeatability(specs, train, device)
    print(
        f"latency p50 (batch 1) over 5 repeats: {', '.join(f'{v:.4f}' for v in p50s)} ms; CV {100 * cv:.1f} %"
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        suite_fit(specs, train, val, 1, device)
        print(
            f"peak GPU memory in one epoch: {torch.cuda.max_memory_allocated(device) / 2**20:.1f} MiB allocated"
        )
    if args.study:
        print(study_overhead(args.study))


if __name__ == "__main__":
    main()
