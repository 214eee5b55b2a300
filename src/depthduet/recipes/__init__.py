"""Training methods (one module per method of METHOD.md), registered by name.

``RECIPES.get("ctkt")`` -> METHOD A (depth SR with cross-task knowledge transfer);
``RECIPES.get("mutual")`` -> METHOD B (semi-supervised monocular depth, mutual distillation).
A YAML config names its recipe with the top-level key ``recipe:``.
"""

from __future__ import annotations

import importlib

from depthduet.registry import Registry

RECIPES = Registry("recipe")

#: recipe name -> module that registers it (imported on demand)
RECIPE_MODULES = {"ctkt": "depthduet.recipes.ctkt", "mutual": "depthduet.recipes.mutual"}


def get_recipe(name: str):
    """The recipe class registered under ``name`` (importing its module on first use)."""
    mod = RECIPE_MODULES.get(name)
    if mod is not None and name not in RECIPES:
        importlib.import_module(mod)
    return RECIPES.get(name)
