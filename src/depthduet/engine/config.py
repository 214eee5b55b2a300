"""Settings of the training engine, shared by every recipe (a section ``engine:`` in YAML)."""

from __future__ import annotations

from dataclasses import dataclass

from depthduet.config import check_min

__all__ = ["EngineConfig"]


@dataclass
class EngineConfig:
    """How to run training (not what to learn).

    Attributes:
        epochs: number of epochs.
        max_steps: stop after this many optimiser steps in total (0 = no limit); for short runs.
        steps_per_epoch: cap on batches per epoch (0 = the whole loader).
        round_every: a teacher/round boundary every this many steps (0 = once per epoch).
        batch_size: per process.
        num_workers: DataLoader worker processes (0 = load in the main process).
        seed: global seed (python, numpy, torch, loader shuffling, worker seeds).
        device: ``auto`` (cuda if present, else cpu), ``cpu``, ``cuda``, ``cuda:1``...
        precision: ``fp32`` or ``bf16`` (bf16 autocast on CUDA; on CPU training stays fp32 and
            a log line says so).
        channels_last: networks and image batches in channels-last memory format, on any
            device (meant for GPUs with tensor cores; on CPU the METHOD A recipe measured
            0.9-1.5x the plain layout's speed depending on preset and scale,
            ``benchmarks/dsr_speed.py --train-channels-last``). Off by default, so documented
            runs reproduce bit for bit.
        grad_clip: max gradient norm per optimiser (0 = off).
        threads: torch intra-op threads on CPU (0 = torch default).
        out_dir: run folder (checkpoints, logs, resolved config).
        resume: ``""`` = start afresh; ``last`` = continue from ``out_dir``'s last checkpoint;
            ``auto`` = like ``last`` when that checkpoint exists, else start afresh (for
            preemptible jobs); or a checkpoint folder / run folder path. Resuming happens at
            epoch boundaries (checkpoints are written at epoch ends; a run cut by
            ``max_steps`` in the middle of an epoch continues with the next epoch).
        log_every: steps between log lines / CSV rows.
        val_every: epochs between validations (0 = never); the last epoch is always validated
            when there is a validation set and val_every > 0.
        val_batches: cap on validation batches (0 = all).
        save_every: epochs between checkpoints (0 = only at the end; the end of training always
            writes one). The best checkpoint is written whenever validation improves.
        tensorboard: also write TensorBoard event files.
        progress: show a tqdm progress bar.
        deterministic: request deterministic torch algorithms (CUDA). On CPU, runs are bitwise
            reproducible with ``threads: 1`` on one machine; some multi-threaded CPU kernels are
            not, and another CPU type may take other vector kernels that round differently.
        find_unused_parameters: passed to DistributedDataParallel; needed when a network has
            parameters that receive no gradient in some steps (e.g. a head used only in some
            rounds). Costs an extra graph traversal per step.
        dist_backend: process-group backend under torchrun (empty = nccl on GPU, gloo on CPU).
        drop_last: drop the last incomplete training batch (keeps batch statistics stable).
        skip_nonfinite: how many training steps with a non-finite loss or gradient may be
            skipped (no optimiser step) before training stops; 0 = stop at the first one.
            Training that stops on a non-finite value never writes a checkpoint with it: the
            last checkpoint keeps the last finite weights, and ``--resume`` continues from them.
    """

    epochs: int = 10
    max_steps: int = 0
    steps_per_epoch: int = 0
    round_every: int = 0
    batch_size: int = 4
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    channels_last: bool = False
    grad_clip: float = 0.0
    threads: int = 0
    out_dir: str = "runs/default"
    resume: str = ""
    log_every: int = 10
    val_every: int = 1
    val_batches: int = 0
    save_every: int = 1
    tensorboard: bool = True
    progress: bool = True
    deterministic: bool = False
    find_unused_parameters: bool = False
    dist_backend: str = ""
    drop_last: bool = True
    skip_nonfinite: int = 0

    def validate(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"engine.precision: expected 'fp32' or 'bf16', got {self.precision!r}")
        for k in (
            "epochs",
            "max_steps",
            "steps_per_epoch",
            "round_every",
            "num_workers",
            "val_batches",
            "val_every",
            "save_every",
            "threads",
            "grad_clip",
            "skip_nonfinite",
        ):
            check_min(f"engine.{k}", getattr(self, k))
        if self.epochs < 1:
            raise ValueError("engine.epochs: must be >= 1 (0 would train nothing)")
        check_min("engine.batch_size", self.batch_size, 1)
        check_min("engine.log_every", self.log_every, 1)
        if self.dist_backend not in ("", "nccl", "gloo"):
            raise ValueError(
                f"engine.dist_backend: expected '', 'nccl' or 'gloo', got {self.dist_backend!r}"
            )
        dev = self.device.strip().lower()
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ValueError(
                f"engine.device: expected auto, cpu, cuda or cuda:N, got {self.device!r}"
            )
