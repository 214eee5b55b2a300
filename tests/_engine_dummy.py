"""A tiny recipe for the engine tests: two networks fit a linear map, one teaches the other.

Network ``a`` (linear, SGD + StepLR) and ``b`` (small MLP, Adam) both regress ``y = W x + c``.
Each round the network with the lower mean error of the previous round is the teacher; the
student also matches the teacher's detached output (a miniature of METHOD.md A.3). The dataset
adds noise with torch *and* numpy RNGs, and the step draws random sample weights, so any RNG
state that is not restored on resume changes the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from depthduet.engine.config import EngineConfig
from depthduet.engine.recipe import Recipe, StepOutput

W_TRUE = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.7, -1.2]])
C_TRUE = torch.tensor([0.25, -0.5])


@dataclass
class DummyModel:
    hidden: int = 8
    lr_a: float = 0.05
    lr_b: float = 0.01
    momentum: float = 0.9
    distill: float = 0.5
    gamma: float = 0.5


@dataclass
class DummyData:
    n_train: int = 24
    n_val: int = 8
    noise: float = 0.01


def _engine_defaults() -> EngineConfig:
    return EngineConfig(
        epochs=2, batch_size=4, log_every=1, progress=False, tensorboard=False, device="cpu"
    )


@dataclass
class DummyConfig:
    recipe: str = "_engine_dummy:DummyRecipe"
    model: DummyModel = field(default_factory=DummyModel)
    data: DummyData = field(default_factory=DummyData)
    engine: EngineConfig = field(default_factory=_engine_defaults)


class LinearData(Dataset):
    """``x`` ~ N(0, 1) (fixed by ``seed``), ``y = W x + c``; noise added on every read."""

    def __init__(self, n: int, seed: int, noise: float = 0.01) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 3, generator=g)
        self.y = self.x @ W_TRUE.T + C_TRUE
        self.noise = noise

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        x = self.x[i] + self.noise * torch.randn(3)
        x = x + self.noise * torch.from_numpy(np.random.randn(3).astype(np.float32))
        return {"x": x, "y": self.y[i], "index": i, "name": f"s{i}"}


class MLP(nn.Module):
    """3 -> hidden -> 2 with a ``forward_features`` method (called through DDP routing)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, 2)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(x)
        return self.head(f), f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


class DummyRecipe(Recipe):
    name = "dummy"
    config_class = DummyConfig
    monitor = "mse"

    def __init__(self, cfg: DummyConfig) -> None:
        super().__init__()
        m = cfg.model
        self.cfg = cfg
        self.networks = {
            "a": nn.Linear(3, 2),
            "b": MLP(m.hidden),
        }
        self.optimizers = {
            "a": torch.optim.SGD(self.networks["a"].parameters(), lr=m.lr_a, momentum=m.momentum),
            "b": torch.optim.Adam(self.networks["b"].parameters(), lr=m.lr_b),
        }
        self.schedulers = {
            "a": torch.optim.lr_scheduler.StepLR(self.optimizers["a"], step_size=1, gamma=m.gamma)
        }
        self.inference_networks = ["a"]
        self.teacher = "a"
        self.err = {"a": 0.0, "b": 0.0}
        self.n = 0
        self.history: list[str] = []
        # test probes (not checkpointed)
        self.calls: list[tuple[str, int, int, int]] = []
        self.losses: list[float] = []
        self.seen: list[int] = []

    @classmethod
    def from_config(cls, cfg: DummyConfig) -> DummyRecipe:
        return cls(cfg)

    @classmethod
    def build_datasets(cls, cfg: DummyConfig) -> tuple[Dataset, Dataset]:
        d = cfg.data
        return LinearData(d.n_train, 1, d.noise), LinearData(d.n_val, 2, 0.0)

    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        x, y = batch["x"], batch["y"]
        self.seen += [int(i) for i in batch["index"]]
        w = 1.0 + 0.1 * torch.rand(x.shape[0], 1)
        pred_b, _features = self.net("b").forward_features(x)
        pred = {"a": self.net("a")(x), "b": pred_b}
        err = {k: (w * (p - y) ** 2).mean() for k, p in pred.items()}
        student = "b" if self.teacher == "a" else "a"
        distill = ((pred[student] - pred[self.teacher].detach()) ** 2).mean()
        loss = err["a"] + err["b"] + self.cfg.model.distill * distill
        for k in err:
            self.err[k] += float(err[k].detach())
        self.n += 1
        self.losses.append(float(loss.detach()))
        return StepOutput(loss=loss, mse_a=err["a"], mse_b=err["b"], teacher=self.teacher)

    def validation_step(self, batch: dict[str, Any]) -> dict[str, float]:
        x, y = batch["x"], batch["y"]
        return {
            "mse": float(((self.net("a")(x) - y) ** 2).mean()),
            "mse_b": float(((self.net("b")(x) - y) ** 2).mean()),
        }

    def on_round_start(self, state: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("start", state["round"], state["epoch"], state["step"]))
        state["teacher"] = self.teacher
        return {"teacher": self.teacher}

    def on_round_end(self, state: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("end", state["round"], state["epoch"], state["step"]))
        e_a = self.reduce_mean(self.err["a"] / max(self.n, 1))
        e_b = self.reduce_mean(self.err["b"] / max(self.n, 1))
        self.history.append(self.teacher)
        self.teacher = "a" if e_a < e_b else "b"
        self.err = {"a": 0.0, "b": 0.0}
        self.n = 0
        return {"err_a": e_a, "err_b": e_b, "next_teacher": self.teacher}

    def state_dict(self) -> dict[str, Any]:
        return {
            "teacher": self.teacher,
            "err": dict(self.err),
            "n": self.n,
            "history": list(self.history),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.teacher = state["teacher"]
        self.err = dict(state["err"])
        self.n = int(state["n"])
        self.history = list(state["history"])


def make(
    tmp_path, recipe_cls: type | None = None, **engine: Any
) -> tuple[DummyConfig, DummyRecipe, Dataset, Dataset]:
    """A config (engine overrides applied, out_dir ``tmp_path``), a fresh recipe (``recipe_cls``,
    default :class:`DummyRecipe`) built right after seeding, and the datasets."""
    from depthduet.engine.trainer import seed_everything

    cfg = DummyConfig()
    cfg.engine.out_dir = str(tmp_path)
    for k, v in engine.items():
        setattr(cfg.engine, k, v)
    seed_everything(cfg.engine.seed)
    train, val = DummyRecipe.build_datasets(cfg)
    return cfg, (recipe_cls or DummyRecipe).from_config(cfg), train, val
