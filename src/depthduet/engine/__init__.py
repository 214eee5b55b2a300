"""The training engine shared by both methods (it knows nothing about depth).

* :mod:`.recipe` - the contract a method implements (:class:`~.recipe.Recipe`);
* :mod:`.config` - :class:`~.config.EngineConfig`, the ``engine:`` section of every YAML;
* :mod:`.trainer` - :class:`~.trainer.Trainer`: loop, rounds, validation, seeds, AMP, DDP;
* :mod:`.checkpoint` - safetensors checkpoints, atomic writes, ``load_checkpoint`` /
  ``load_network_weights`` for inference code;
* :mod:`.distributed` - torchrun environment, DDP wrapping, collective helpers;
* :mod:`.logs` - CSV tables, text log, TensorBoard.

Submodules are imported on use (``from depthduet.engine.trainer import Trainer``), so that
inference code importing :mod:`.checkpoint` does not load the training loop.
"""
