"""The datasets a recipe can train on, chosen by their YAML name (BasicSR's ``type:`` habit).

Two registries, one per task, because a name such as ``world`` means a different dataset for
each: :data:`DSR_DATASETS` (``data.source`` of METHOD A's recipe: HR depth, with or without
RGB) and :data:`MDE_DATASETS` (``data.dataset`` of METHOD B's recipe: image sequences).
Each entry is a builder function registered with ``@DSR_DATASETS.register("name")``; its
arguments are the recipe's data configuration and the split, and the recipe module documents
them. Unknown names raise a :class:`~depthduet.errors.UserError` listing the known ones.

>>> from depthduet.data.registry import DSR_DATASETS
>>> DSR_DATASETS.kind
'data.source'
"""

from __future__ import annotations

from depthduet.registry import Registry

__all__ = ["DSR_DATASETS", "MDE_DATASETS"]

DSR_DATASETS = Registry("data.source")
MDE_DATASETS = Registry("data.dataset")
