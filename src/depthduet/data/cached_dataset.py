"""A dataset that keeps each sample after its first use (``data.cache`` of both recipes)."""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset

__all__ = ["CachedDataset"]


class CachedDataset(Dataset):
    """Keeps each sample of a deterministic dataset after its first use, so later epochs skip
    reading or rendering it (the procedural world renders the same scene for an index every
    time). The store is per process: each data-loader worker and each training process keeps
    its own copy."""

    def __init__(self, base: Dataset) -> None:
        self.base = base
        self._items: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        if index not in self._items:
            self._items[index] = self.base[index]
        return self._items[index]
