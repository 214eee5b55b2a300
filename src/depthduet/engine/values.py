"""Values a training run logs: python numbers from tensors (one host transfer per step), a
digest that compares nested states between processes, and the ``k=v`` text of log lines."""

from __future__ import annotations

import hashlib
from typing import Any

import torch

__all__ = ["loggable", "loggable_values", "digest", "format_values"]


def loggable(v: Any) -> Any:
    """A loggable python value (floats for numbers and 1-element tensors, else str)."""
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().item()) if v.numel() == 1 else str(v.tolist())
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return float(v) if isinstance(v, float) else v
    return str(v)


def loggable_values(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`loggable` of every entry, with all one-element tensors copied to the host in one
    transfer per device (one device synchronisation per step instead of one per logged
    value)."""
    keys = [k for k, v in values.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    out = {k: loggable(v) for k, v in values.items() if k not in keys}
    by_device: dict[torch.device, list[str]] = {}
    for k in keys:
        by_device.setdefault(values[k].device, []).append(k)
    for group in by_device.values():
        stacked = torch.stack([values[k].detach().float().reshape(()) for k in group])
        out.update(zip(group, stacked.cpu().tolist()))
    return {k: out[k] for k in values}


def digest(obj: Any) -> str:
    """A hash of nested python values and tensors (equal values -> equal digests)."""

    def plain(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return ("tensor", str(v.dtype), tuple(v.shape), v.detach().cpu().flatten().tolist())
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return hashlib.sha1(repr(plain(obj)).encode()).hexdigest()


def format_values(values: dict[str, Any]) -> str:
    """``k=v`` pairs for a log line, floats with 4 significant digits."""
    parts = []
    for k, v in values.items():
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)
