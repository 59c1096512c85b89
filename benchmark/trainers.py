"""How a grid cell's method is tuned and trained, behind one protocol: a network (encoders and a fusion
method, or one encoder alone; trained by epochs) or a classical reference model (one fit). The engine asks
``method_of(name)`` for the method and never which kind it holds; the kind itself is methods.py's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from benchmark.experiment import Hyperparameters, RunSettings, run_once
from benchmark.fusions import FUSIONS
from benchmark.grid import Combination
from benchmark.measurement import Measurement
from benchmark.methods import is_reference, uses_depth
from benchmark.params import ParamSpec
from benchmark.reference_run import ReferenceParams, run_reference
from benchmark.references import REFERENCES
from benchmark.space import DEFAULT_SPACE
from benchmark.tasks import Task


class Method(Protocol):
    name: str
    # False: one combination per (task, modality subset) at REFERENCE_DEPTH (methods.uses_depth); and a
    # training is one fit, not epochs (nothing to prune, no step floor)
    uses_depth: bool

    def search_space(self, space: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        """This method's tuning space, given the study's ``tuning.space``."""
        ...

    def settings(self, params: dict[str, Any]) -> Any:
        """A trial's (or the best) parameters -> what ``train`` takes."""
        ...

    def train(
        self,
        task: Task,
        combination: Combination,
        settings: Any,
        run: RunSettings,
        *,
        device: torch.device,
        seed: int,
        on_epoch_end: Any = None,
        final: bool = False,
    ) -> Measurement:
        """One training; ``final`` adds test scores, memory and the trained model."""
        ...


@dataclass(frozen=True)
class Network:
    """Encoders (one per modality) and a fusion method (``none``: one modality alone), trained by epochs."""

    name: str
    uses_depth: bool = True  # methods.uses_depth of every name that is not a reference

    def search_space(self, space: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        """The general hyperparameters, plus those the fusion method declares (the study's ``tuning.space``
        entry for them if it has one, else the method's default)."""
        general = {name: spec for name, spec in space.items() if name in DEFAULT_SPACE}
        own = FUSIONS.get(self.name).hyperparameters
        return general | {name: space.get(name, default) for name, default in own.items()}

    def settings(self, params: dict[str, Any]) -> Any:
        return Hyperparameters.from_params(params)

    def train(
        self,
        task: Task,
        combination: Combination,
        settings: Any,
        run: RunSettings,
        *,
        device: torch.device,
        seed: int,
        on_epoch_end: Any = None,
        final: bool = False,
    ) -> Measurement:
        return run_once(
            task, combination, settings, run, device=device, seed=seed, on_epoch_end=on_epoch_end, final=final
        )


@dataclass(frozen=True)
class Reference:
    """A scikit-learn classifier on early-fused features (references/), one fit on the CPU."""

    name: str
    uses_depth: bool = False

    def search_space(self, space: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        """Only the model's own hyperparameters (the network's lr, width, ... do not apply)."""
        return {
            name: space.get(name, default)
            for name, default in REFERENCES.get(self.name).hyperparameters.items()
        }

    def settings(self, params: dict[str, Any]) -> Any:
        return ReferenceParams.from_params(params)

    def train(
        self,
        task: Task,
        combination: Combination,
        settings: Any,
        run: RunSettings,
        *,
        device: torch.device,
        seed: int,
        on_epoch_end: Any = None,
        final: bool = False,
    ) -> Measurement:
        return run_reference(
            task, combination, settings, run, seed=seed, final=final
        )  # one fit: nothing to prune


def method_of(name: str) -> Method:
    """The method a grid cell's ``fusion`` names."""
    method: Method = Reference(name) if is_reference(name) else Network(name)
    assert method.uses_depth == uses_depth(name)
    return method
