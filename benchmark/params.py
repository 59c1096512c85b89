"""How one tuned hyperparameter is described; shared by the study config and the components that bring
hyperparameters of their own (a fusion method's rank, say)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    """One tuned hyperparameter: ``kind`` float | int | categorical | fixed."""

    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "fixed":
            return {"value": self.choices[0]}
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        return {"type": self.kind, "low": self.low, "high": self.high, "log": self.log}
