"""Packages that import their public names on first use (PEP 562), so that importing one part
of depthduet loads nothing else: ``import depthduet`` loads no torch, and ``import
depthduet.models.dbpn`` (inference) loads neither DENet nor SPNet."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__all__``, ``__getattr__`` and ``__dir__`` of a package whose public names are
    defined in its modules, each imported when one of its names is first looked up.

    Args:
        package: the package's ``__name__``.
        modules: module name -> the public names it defines (a name in one module only).

    Returns:
        The sorted public names; the module ``__getattr__``, which imports a name's module,
        keeps the value in the package (later look-ups do not call it again) and raises
        ``AttributeError("module '<package>' has no attribute '<name>'")`` for other names; the
        module ``__dir__`` (the package's globals and the public names).

    Example, a package's ``__init__.py``::

        __all__, __getattr__, __dir__ = lazy_exports(
            __name__, {"depthduet.models.dbpn": ["DSRNet", "PRESETS"]}
        )
    """
    where: dict[str, str] = {}
    for module, names in modules.items():
        for name in names:
            if name in where:
                raise ValueError(f"{package}: {name!r} listed in {where[name]} and {module}")
            where[name] = module

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return sorted(where), __getattr__, __dir__
