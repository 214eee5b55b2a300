"""Training methods (one module per method of METHOD.md), registered by name.

``get_recipe("ctkt")`` -> METHOD A (depth SR with cross-task knowledge transfer);
``get_recipe("mutual")`` -> METHOD B (semi-supervised monocular depth, mutual distillation).
A YAML config names its recipe with the top-level key ``recipe:``; a recipe defined outside the
package can be named ``package.module:ClassName`` (imported on use).
"""

from __future__ import annotations

import importlib

from depthduet.errors import UserError
from depthduet.registry import Registry

__all__ = ["RECIPES", "RECIPE_MODULES", "get_recipe"]

RECIPES = Registry("recipe")

#: recipe name -> module that registers it (imported on demand)
RECIPE_MODULES = {"ctkt": "depthduet.recipes.ctkt", "mutual": "depthduet.recipes.mutual"}


def get_recipe(name: str, allow_module: bool = True) -> type:
    """The recipe class registered under ``name`` (importing its module on first use).

    Args:
        name: a registered name (``ctkt``, ``mutual``) or ``module.path:ClassName``.
        allow_module: whether a ``module.path:ClassName`` may be imported. The command line
            passes False unless asked (``--recipe-module``), so that a configuration file cannot
            make it import an arbitrary installed module.

    Raises:
        UserError: unknown name, a module path when not allowed, or a ``module:Class`` that
            cannot be imported.
    """
    from depthduet.engine.recipe import Recipe

    if not isinstance(name, str) or not name:
        raise UserError(f"recipe: expected a name such as 'ctkt' or 'mutual', got {name!r}")
    if ":" in name:
        modname, _, clsname = name.partition(":")
        if not allow_module:
            raise UserError(
                f"recipe {name!r}: a module path is imported only with --recipe-module "
                f"(registered recipes: {', '.join(RECIPE_MODULES)})"
            )
        try:
            mod = importlib.import_module(modname)
        except ImportError as e:
            raise UserError(f"recipe {name!r}: cannot import {modname!r}: {e}") from None
        cls = getattr(mod, clsname, None)
        if not (isinstance(cls, type) and issubclass(cls, Recipe)):
            raise UserError(f"recipe {name!r}: {clsname!r} is not a Recipe class in {modname}")
        return cls
    mod = RECIPE_MODULES.get(name)
    if mod is not None and name not in RECIPES:
        importlib.import_module(mod)
    if name not in RECIPES:  # list every recipe, not only the ones imported so far
        for m in RECIPE_MODULES.values():
            importlib.import_module(m)
    return RECIPES.get(name)
