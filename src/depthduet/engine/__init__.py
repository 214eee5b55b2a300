"""The training engine shared by both methods (it knows nothing about depth).

* :mod:`.recipe` - the contract a method implements (:class:`~.recipe.Recipe`);
* :mod:`.config` - :class:`~.config.EngineConfig`, the ``engine:`` section of every YAML;
* :mod:`.trainer` - :class:`~.trainer.Trainer`: the loop (epochs, steps, rounds, validation,
  best checkpoint), AMP;
* :mod:`.determinism` - seeds, RNG states, the process-wide torch settings of a run;
* :mod:`.batches` - the training / validation loaders, batches on the device;
* :mod:`.networks` - the networks on the device, DDP wrapping and its release;
* :mod:`.nonfinite` - non-finite losses, gradients, weights and metrics: skip or stop;
* :mod:`.resume` - the training state a checkpoint holds and resuming from it;
* :mod:`.run_files` - ``config.yaml`` and ``summary.json`` of a run;
* :mod:`.values` - logged values, digests, log-line text;
* :mod:`.checkpoint` - safetensors checkpoints, atomic writes, ``load_checkpoint`` /
  ``load_network_weights`` for inference code;
* :mod:`.distributed` - torchrun environment, DDP wrapping, collective helpers;
* :mod:`.logs` - CSV tables, text log, TensorBoard.

Submodules are imported on use (``from depthduet.engine.trainer import Trainer``), so that
inference code importing :mod:`.checkpoint` does not load the training loop.
"""
