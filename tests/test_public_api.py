"""Public names that the README and the docs show, and that users import."""

import torch

from depthduet.cli import main


def test_losses_reexport_ssim_and_photometric_error():
    import depthduet.losses as L
    from depthduet.losses import photometric

    assert L.ssim is photometric.ssim and L.photometric_error is photometric.photometric_error
    x = torch.rand(2, 3, 9, 9)
    assert L.ssim(x, x).shape == (2, 3, 9, 9) and float(L.ssim(x, x).abs().max()) == 0.0
    assert L.photometric_error(x, x).shape == (2, 1, 9, 9)


def test_metrics_alias():
    import numpy as np

    from depthduet.metrics import depth_errors

    gt = np.array([1.0, 2.0, 4.0])
    e = depth_errors(gt, gt * 1.1)
    assert abs(e["abs_rel"] - 0.1) < 1e-12 and e["a1"] == 1.0


def test_train_encoder_weights_missing_file(tmp_path, capsys):
    rc = main(
        [
            "train",
            "--config",
            "configs/mde/world_semi.yaml",
            "--encoder-weights",
            str(tmp_path / "nope.pth"),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope.pth" in err[0]
    assert not (tmp_path / "run").exists()


def test_info_lists_shipped_weights(capsys):
    import json

    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"dsr-x4", "dsr-x8", "dsr-x16", "mde-driving"} <= set(info["pretrained_mib"])
    assert main(["info"]) == 0
    assert "pretrained weights: " in capsys.readouterr().out
