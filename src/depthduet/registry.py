"""A tiny name -> object registry (BasicSR style ``type:`` keys in YAML), and
:func:`lazy_exports`, the module ``__getattr__`` of a package that imports its names on first use.

MODELS = Registry("model")

@MODELS.register("dbpn")
class DSRNet(nn.Module): ...

MODELS.get("dbpn")  # -> DSRNet;  unknown names raise with the list of known ones
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from depthduet.errors import UserError

T = TypeVar("T")

__all__ = ["Registry", "lazy_exports"]


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


def lazy_exports(package: str, table: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name of ``table`` (public name
    -> the module defining it) from its module on first access.

    Other names raise ``AttributeError("module '<package>' has no attribute '<name>'")``.
    """

    def __getattr__(name: str) -> Any:
        mod = table.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(mod), name)

    return __getattr__
