"""Benchmark: the image encoder with and without its texture-energy path, on the image alone.

    python bench/image_encoder.py [--seeds 2]

On each synthetic task's image modality (every outer fold of 3, 1,000 samples as the headline draws
them) and on mfeat's digit images (fold 0), the image-only network trains with the shared default
configuration and the study's budget (``bench/training_budget.py``'s ``long``), once per seed and
variant, the variants interleaved (the machine is noisy): ``layout`` is the CNN's conv-and-grid path
alone (the encoder before the texture path), ``total`` the encoder with its texture energies taken
relative to the image's total power (``7673750`` to this change; the median power since), ``texture`` the
encoder as it is. Printed per task and
fold: the Bayes accuracy of the image alone where the generator knows it, then per variant the test
accuracy and macro F1 of each seed, accuracy as a share of the ceiling, and seconds per training.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import torch  # noqa: E402
from training_budget import DEFAULT, restrict, variants  # noqa: E402

from benchmark.encoders.cnn import CNNEncoder, TextureEnergy  # noqa: E402
from benchmark.experiment import train_batch_size  # noqa: E402
from benchmark.metrics import evaluate  # noqa: E402
from benchmark.model import build_model  # noqa: E402
from benchmark.tasks import Fold, build_task  # noqa: E402
from benchmark.training import TrainSettings, fit, seed_everything  # noqa: E402

CASES = [  # task, image modality, build keywords, folds
    ("synth-redundancy", "img", {"n_samples": 1000}, 3),
    ("synth-mixed", "img", {"n_samples": 1000}, 3),
    ("synth-uniqueness", "img", {"n_samples": 1000}, 1),  # no label in the image on test: chance
    ("mfeat", "pix", {}, 1),
]


class TotalPowerEnergy(TextureEnergy):
    """The texture path as it was: energies relative to the image's total power."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        power, energy = self.spectrum_and_energy(x)
        total = torch.einsum("bchw,w->b", power, self.columns)[:, None]
        return self.norm(torch.log(energy + 1e-6) - torch.log(total + 1e-6))


def train_image_only(task, modality: str, variant: str, seed: int) -> dict:
    train, val, test = (restrict(task.splits[s], (modality,)) for s in ("train", "val", "test"))
    settings = TrainSettings(
        lr=DEFAULT["lr"],
        weight_decay=DEFAULT["weight_decay"],
        batch_size=train_batch_size(128, 8, len(train)),
        metric="f1_macro",
        class_weight="balanced",
        **variants(300)["long"],
    )
    seed_everything(seed)
    spec = task.modalities[modality]
    model = build_model(
        {modality: spec},
        fusion="none",
        num_classes=task.num_classes,
        depth=1,
        width=DEFAULT["width"],
        dropout=DEFAULT["dropout"],
    )
    if variant == "layout":  # the same model with the layout path alone, freshly initialised (same seed)
        seed_everything(seed)
        model.encoders[modality] = CNNEncoder(
            spec.shape, depth=1, width=DEFAULT["width"], dropout=DEFAULT["dropout"], texture=False
        )
    if variant == "total":  # the same weights, the old normalisation
        old = model.encoders[modality].texture
        total = TotalPowerEnergy(
            old.filters.shape[1], old.filters.shape[0], *spec.shape[1:], old.filters.shape[-1]
        )
        total.load_state_dict(old.state_dict())
        model.encoders[modality].texture = total
    start = time.perf_counter()
    fit(model, train, val, settings, num_classes=task.num_classes, seed=seed)
    seconds = time.perf_counter() - start
    scores = evaluate(model, test, 512, task.num_classes)
    return {"accuracy": scores["accuracy"], "f1": scores["f1_macro"], "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    for name, modality, keywords, folds in CASES:
        for fold in range(folds):
            task = build_task(name, seed=0, fold=Fold(fold, 3), **keywords)
            ceiling = (task.bayes_accuracy or {}).get(modality)
            results: dict[str, list[dict]] = {"layout": [], "total": [], "texture": []}
            for seed in range(args.seeds):
                for variant in results:
                    results[variant].append(train_image_only(task, modality, variant, seed))
            head = (
                f"{name:16} {modality:4} fold {fold}  Bayes {ceiling:.3f}"
                if ceiling
                else f"{name:16} {modality:4} fold {fold}  Bayes   -  "
            )
            for variant, rows in results.items():
                accuracy = [r["accuracy"] for r in rows]
                f1 = " ".join(f"{r['f1']:.3f}" for r in rows)
                share = f"{statistics.median(accuracy) / ceiling:5.0%} of it" if ceiling else "           "
                print(
                    f"{head}  {variant:7} accuracy {' '.join(f'{a:.3f}' for a in accuracy)}  "
                    f"F1 {f1}  {share}  "
                    f"{statistics.median(r['seconds'] for r in rows):5.2f} s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
