"""depthduet.models: the networks of METHOD A (blocks, dbpn, denet, spnet) and B.

Names are imported lazily, so ``import depthduet.models.dbpn`` (inference) loads neither DENet
nor SPNet::

    from depthduet.models import DSRNet   # same as depthduet.models.dbpn.DSRNet
"""

from __future__ import annotations

from depthduet.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "depthduet.models.dbpn": ["DSRNet", "PRESETS", "get_preset", "prepare_lr"],
        "depthduet.depth": ["normalize_depth", "denormalize_depth", "fill_invalid"],
        "depthduet.models.denet": ["DENet"],
        "depthduet.models.spnet": ["SPNet"],
        "depthduet.models.blocks": ["SideHeads"],
    },
)
