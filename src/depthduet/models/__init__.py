"""depthduet.models: the networks of METHOD A (blocks, dbpn, denet, spnet) and B.

Names are imported lazily, so ``import depthduet.models.dbpn`` (inference) loads neither DENet
nor SPNet::

    from depthduet.models import DSRNet   # same as depthduet.models.dbpn.DSRNet
"""

from __future__ import annotations

from depthduet.registry import lazy_exports

#: public name -> module that defines it (loaded on first access)
_LAZY = {
    "DSRNet": "depthduet.models.dbpn",
    "PRESETS": "depthduet.models.dbpn",
    "get_preset": "depthduet.models.dbpn",
    "normalize_depth": "depthduet.models.dbpn",
    "denormalize_depth": "depthduet.models.dbpn",
    "fill_invalid": "depthduet.models.dbpn",
    "prepare_lr": "depthduet.models.dbpn",
    "DENet": "depthduet.models.denet",
    "SPNet": "depthduet.models.spnet",
    "SideHeads": "depthduet.models.blocks",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_exports("depthduet.models", _LAZY)
