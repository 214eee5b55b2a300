"""A tiny name -> object registry: the ``type:`` keys of YAML configurations (BasicSR's habit)
choose datasets (:mod:`depthduet.data.registry`) and recipes (:mod:`depthduet.recipes`).

>>> SHAPES = Registry("shape")
>>> @SHAPES.register("square")
... def square(side): return side * side
>>> SHAPES.get("square")(3)
9
>>> SHAPES.get("circle")
Traceback (most recent call last):
...
depthduet.errors.UserError: unknown shape 'circle'; known: square
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from depthduet.errors import UserError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry:
    """Maps names to classes or functions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Any] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: register a class or function under ``name`` (default: its ``__name__``)."""

        def deco(obj: T) -> T:
            key = name or getattr(obj, "__name__", None)
            if key is None:
                raise ValueError("cannot infer a registry name")
            if key in self._items and self._items[key] is not obj:
                raise ValueError(f"{self.kind} {key!r} registered twice")
            self._items[key] = obj
            return obj

        return deco

    def get(self, name: str) -> Any:
        """The object registered as ``name``; a :class:`UserError` listing the known names if none."""
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "(none)"
            raise UserError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

