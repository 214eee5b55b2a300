"""DepthUpsampler (METHOD.md A.5 inference), checkpoint / pretrained loading and model cards."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from depthduet.errors import UserError
from depthduet.inference.dsr import DepthUpsampler, infer_dsrnet_arch, load_dsrnet_state
from depthduet.inference.pretrained import (
    ModelCard,
    available_models,
    find_model_card,
    load_pretrained,
    save_pretrained,
)
from depthduet.models.dbpn import DSRNet


def tiny_net(scale: int = 2) -> DSRNet:
    torch.manual_seed(1)
    return DSRNet(scale, n_feats=8, n_base=4, n_stages=2).eval()


def smooth_map(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 2.0 + np.sin(yy / 3.0) + 0.5 * np.cos(xx / 4.0)
    return (base + 0.05 * rng.standard_normal((h, w))).astype(np.float32)


def test_bicubic_matches_interpolate_without_holes() -> None:
    # affine normalisation commutes with bicubic interpolation (its weights sum to 1), and the
    # tiling is exact for overlap >= 2, so the baseline is plain bicubic
    x = smooth_map(23, 31)
    up = DepthUpsampler.bicubic(4, tile=10, overlap=2, clamp=False, device="cpu")
    out = up.upsample(x)
    ref = F.interpolate(torch.from_numpy(x)[None, None].double(), scale_factor=4, mode="bicubic")
    np.testing.assert_allclose(out.values, ref[0, 0].numpy(), rtol=1e-5, atol=1e-5)
    assert out.valid.all() and out.values.dtype == np.float32


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 13), (40, 29)])
@pytest.mark.parametrize("scale", [2, 4])
def test_shapes_any_size(shape: tuple[int, int], scale: int) -> None:
    x = smooth_map(*shape)
    for up in (
        DepthUpsampler.bicubic(scale, tile=12, overlap=2, device="cpu"),
        DepthUpsampler(tiny_net(scale), scale, tile=12, overlap=3, device="cpu"),
    ):
        out = up.upsample(x)
        assert out.values.shape == (scale * shape[0], scale * shape[1])
        assert out.valid.shape == out.values.shape and out.valid.all()
        assert np.isfinite(out.values).all()


def test_unit_invariance_metres_vs_millimetres() -> None:
    metres = smooth_map(26, 19)
    metres[3:6, 4:9] = 0.0  # a hole
    up = DepthUpsampler(tiny_net(2), 2, tile=10, overlap=3, device="cpu")
    a = up.upsample(metres)
    b = up.upsample(metres * 1000.0)
    np.testing.assert_array_equal(a.valid, b.valid)
    np.testing.assert_allclose(b.values, 1000.0 * a.values, rtol=2e-5, atol=1e-6)
    # and disparity-like 8-bit integer input works the same way
    c = up.upsample(np.round(metres * 50).astype(np.uint8))
    assert c.values.shape == a.values.shape


def test_invalid_pixels_preserved_nearest_lr_pixel() -> None:
    x = smooth_map(12, 10)
    valid = np.ones_like(x, bool)
    valid[2, 3] = valid[7, 0] = valid[11, 9] = False
    up = DepthUpsampler(tiny_net(4), 4, tile=0, device="cpu")
    out = up.upsample(x, valid)
    expect = np.kron(valid, np.ones((4, 4), bool))
    np.testing.assert_array_equal(out.valid, expect)
    assert (out.values[~out.valid] == 0).all()
    assert (out.values[out.valid] > 0).all()
    # with valid=None, values <= 0 and NaN are invalid
    x2 = x.copy()
    x2[2, 3], x2[7, 0], x2[11, 9] = 0.0, np.nan, -1.0
    np.testing.assert_array_equal(up.upsample(x2).valid, expect)


def test_invalid_values_do_not_leak() -> None:
    x = smooth_map(20, 20)
    valid = np.ones_like(x, bool)
    valid[8:12, 5:9] = False
    up = DepthUpsampler(tiny_net(2), 2, tile=12, overlap=3, device="cpu")
    a = x.copy()
    a[~valid] = 0.0
    b = x.copy()
    b[~valid] = 1e6  # garbage stored under invalid pixels
    ra, rb = up.upsample(a, valid), up.upsample(b, valid)
    np.testing.assert_array_equal(ra.values, rb.values)


def test_hole_does_not_pull_neighbours_to_zero() -> None:
    # bicubic of a constant is that constant; without hole filling the zeros inside the hole
    # would drag the valid pixels around it down
    x = np.full((16, 16), 3.5, np.float32)
    x[6:9, 6:9] = 0.0
    out = DepthUpsampler.bicubic(2, tile=0, clamp=False, device="cpu").upsample(x)
    np.testing.assert_allclose(out.values[out.valid], 3.5, rtol=1e-6)
    assert out.valid.sum() == 4 * (256 - 9)


def test_clamp_keeps_valid_lr_range() -> None:
    x = np.zeros((16, 16), np.float32) + 1.0
    x[:, 8:] = 5.0  # a step: bicubic overshoots without clamping
    raw = DepthUpsampler.bicubic(4, tile=0, clamp=False, device="cpu").upsample(x).values
    assert raw.max() > 5.0 and raw.min() < 1.0
    out = DepthUpsampler.bicubic(4, tile=0, device="cpu").upsample(x).values
    assert out.min() == pytest.approx(1.0) and out.max() == pytest.approx(5.0)


def test_all_invalid_input() -> None:
    out = DepthUpsampler.bicubic(2, device="cpu").upsample(np.zeros((5, 6), np.float32))
    assert out.values.shape == (10, 12) and not out.valid.any() and not out.values.any()


def test_tiled_network_close_to_untiled() -> None:
    x = smooth_map(48, 40)
    net = tiny_net(2)
    full = DepthUpsampler(net, 2, tile=0, device="cpu").upsample(x).values
    tiled = DepthUpsampler(net, 2, tile=28, overlap=8, device="cpu").upsample(x).values
    # the tiny net reads about 8 LR pixels around a pixel: overlap 8 is nearly exact
    assert np.abs(full - tiled).max() < 2e-5 * np.abs(full).max()


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_channels_last_same_numbers(scale: int) -> None:
    x = smooth_map(20, 18)
    net = tiny_net(scale)
    fast = DepthUpsampler(net, scale, tile=0, device="cpu", channels_last=True)
    a = fast.upsample(x).values
    plain = DepthUpsampler(net, scale, tile=0, device="cpu", channels_last=False)
    w = next(p for p in net.parameters() if p.dim() == 4)
    assert w.is_contiguous()  # switched back to the plain layout
    b = plain.upsample(x).values
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max())
    assert fast.describe()["channels_last"] and not plain.describe()["channels_last"]


def test_bad_inputs_and_settings() -> None:
    up = DepthUpsampler.bicubic(2, device="cpu")
    with pytest.raises(UserError, match="2-D"):
        up.upsample(np.zeros((2, 3, 4)))
    with pytest.raises(UserError, match="2-D"):
        up.upsample(np.zeros((0, 4)))
    with pytest.raises(UserError, match="mask"):
        up.upsample(np.ones((4, 4)), np.ones((4, 5), bool))
    with pytest.raises(UserError, match="supported scales"):
        DepthUpsampler.bicubic(3)
    with pytest.raises(UserError, match="x2"):
        DepthUpsampler(tiny_net(2), 4)
    with pytest.raises(UserError, match="tile"):
        DepthUpsampler.bicubic(2, tile=20, overlap=8)
    with pytest.raises(UserError, match="device"):
        DepthUpsampler.bicubic(2, device="nonsense")


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_infer_arch_from_weights(scale: int) -> None:
    net = DSRNet(scale, n_feats=6, n_base=3, n_stages=3)
    arch = infer_dsrnet_arch(net.state_dict())
    assert arch == {"scale": scale, "n_feats": 6, "n_base": 3, "n_stages": 3}


def test_load_state_strips_prefixes_and_rejects_foreign_weights() -> None:
    net = tiny_net(2)
    sd = {f"module.{k}": v for k, v in net.state_dict().items()}
    sd["module.side.0.weight"] = torch.zeros(1)  # training-only extra: ignored
    loaded = load_dsrnet_state(sd)
    for k, v in net.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)
    with pytest.raises(UserError, match="not a DSRNet"):
        load_dsrnet_state({"conv.weight": torch.zeros(1)})
    bad = dict(net.state_dict())
    del bad["recon.weight"]
    with pytest.raises(UserError, match="missing"):
        load_dsrnet_state(bad)


def test_from_checkpoint_run_folder_and_file(tmp_path) -> None:
    from depthduet.engine.checkpoint import save_checkpoint

    net = tiny_net(2)
    other = torch.nn.Conv2d(3, 2, 3)
    run = tmp_path / "run"
    info = {
        "recipe": "ctkt",
        "config": {"model": {"norm": "percentile", "norm_pct": [2.0, 98.0]}},
        "inference_networks": ["dsr"],
    }
    save_checkpoint(
        run / "checkpoints" / "last",
        {"dsr": net.state_dict(), "denet": other.state_dict()},
        None,
        info,
    )
    x = smooth_map(15, 17)
    ref = DepthUpsampler(net, 2, norm="percentile", pct=(2, 98), tile=0, device="cpu")
    for path in (run, run / "checkpoints" / "last"):
        up = DepthUpsampler.from_checkpoint(path, tile=0, device="cpu")
        assert up.norm == "percentile" and up.pct == (2.0, 98.0)
        np.testing.assert_allclose(up.upsample(x).values, ref.upsample(x).values, rtol=1e-6)
    up = DepthUpsampler.from_checkpoint(run / "checkpoints" / "last" / "dsr.safetensors")
    assert up.scale == 2
    with pytest.raises(UserError, match="not found"):
        DepthUpsampler.from_checkpoint(tmp_path / "nope")
    with pytest.raises(UserError, match="not a DSRNet"):
        DepthUpsampler.from_checkpoint(run, network="denet")


def test_pretrained_roundtrip_and_errors(tmp_path) -> None:
    net = tiny_net(4)
    card = save_pretrained(
        net.state_dict(),
        "dsr-x4",
        scale=4,
        preset="custom",
        arch={"n_feats": 8, "n_base": 4, "n_stages": 2},
        folder=tmp_path,
        training={"command": "test"},
    )
    assert (tmp_path / "dsr-x4.safetensors").is_file() and card.dtype == "float16"
    assert available_models(tmp_path) == ["dsr-x4"]
    data = json.loads((tmp_path / "dsr-x4.json").read_text())
    assert data["sha256"] == card.sha256 and data["training"] == {"command": "test"}
    state, card2 = load_pretrained("dsr-x4", tmp_path)
    assert card2.scale == 4 and all(v.dtype == torch.float32 for v in state.values())
    # fp16 storage: weights equal the fp16-rounded originals
    for k, v in net.state_dict().items():
        torch.testing.assert_close(state[k], v.half().float())
    up = DepthUpsampler.from_pretrained("dsr-x4", folder=tmp_path, tile=0, device="cpu")
    assert up.scale == 4 and up.name == "dsr-x4"
    assert up.upsample(smooth_map(5, 6)).values.shape == (20, 24)

    with pytest.raises(UserError, match=r"'dsr-x8'.*available: dsr-x4"):
        find_model_card("dsr-x8", tmp_path)
    with pytest.raises(UserError, match="available: none"):
        find_model_card("dsr-x4", tmp_path / "empty")
    # a damaged weights file is detected by its hash
    raw = bytearray((tmp_path / "dsr-x4.safetensors").read_bytes())
    raw[-1] ^= 0xFF
    (tmp_path / "dsr-x4.safetensors").write_bytes(bytes(raw))
    with pytest.raises(UserError, match="SHA-256"):
        load_pretrained("dsr-x4", tmp_path)
    (tmp_path / "dsr-x4.safetensors").unlink()
    with pytest.raises(UserError, match="missing"):
        find_model_card("dsr-x4", tmp_path)


def test_model_card_validation(tmp_path) -> None:
    p = tmp_path / "m.json"
    p.write_text('{"name": "m", "file": "m.safetensors"}')
    with pytest.raises(UserError, match="lacks"):
        ModelCard.read(p)
    p.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        ModelCard.read(p)


def test_shipped_cards_are_consistent() -> None:
    """Every shipped card points at an existing file with the recorded hash and arch."""
    from depthduet.inference.pretrained import file_sha256, list_model_cards

    total = 0
    for card in list_model_cards():
        w = card.weights_path()
        assert w.is_file(), f"{card.name}: {w} missing"
        assert file_sha256(w) == card.sha256
        total += w.stat().st_size
        state, _ = load_pretrained(card.name)
        arch = infer_dsrnet_arch(state)
        assert arch["scale"] == card.scale
        assert {k: arch[k] for k in ("n_feats", "n_base", "n_stages")} == card.arch
    assert total <= 40 * 2**20


def test_evaluate_rmse_hand_values() -> None:
    from depthduet.inference.pretrained import evaluate_rmse
    from depthduet.io import DepthMap

    class Plus:
        """Upsamples x2 by repetition and adds a constant."""

        def __init__(self, c: float) -> None:
            self.c = c

        def upsample(self, values: np.ndarray, valid: np.ndarray) -> DepthMap:
            v = np.kron(values, np.ones((2, 2), np.float32)) + self.c
            m = np.kron(valid, np.ones((2, 2), bool))
            return DepthMap(np.where(m, v, 0).astype(np.float32), m)

    def pair(level: float) -> dict:
        hr = torch.full((1, 4, 4), level)
        hv = torch.ones(1, 4, 4, dtype=torch.bool)
        hv[0, 0, 0] = False  # excluded even though the prediction there is wrong
        return {
            "lr": torch.full((1, 2, 2), level),
            "lr_valid": torch.ones(1, 2, 2, dtype=bool),
            "hr": hr,
            "hr_valid": hv,
        }

    pairs = [pair(2.0), pair(5.0)]
    assert evaluate_rmse(Plus(1.0), pairs) == {"rmse": 1.0, "samples": 2}
    assert evaluate_rmse(Plus(-3.0), pairs, limit=1) == {"rmse": 3.0, "samples": 1}


def test_inference_imports_only_dsrnet(tmp_path) -> None:
    """Upsampling (library and command) loads neither DENet, SPNet nor training code."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from depthduet.cli import main\n"
        "from depthduet.io import write_depth\n"
        f"src = write_depth(r'{tmp_path}/a.npy', np.ones((6, 6), np.float32))\n"
        f"assert main(['upsample', str(src), '--scale', '2', '--baseline', 'bicubic', "
        f"'-o', r'{tmp_path}/b.npy', '--device', 'cpu']) == 0\n"
        "from depthduet.inference.dsr import DepthUpsampler\n"
        "from depthduet.models.dbpn import DSRNet\n"
        "DepthUpsampler(DSRNet(2, 4, 2, 1), 2, device='cpu').upsample(np.ones((5, 5)))\n"
        "bad = [m for m in sys.modules if m.startswith(('depthduet.models.denet', "
        "'depthduet.models.spnet', 'depthduet.recipes', 'depthduet.losses', "
        "'depthduet.engine.trainer'))]\n"
        "print('LOADED', bad)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "LOADED []" in r.stdout


def test_default_tiling_per_scale() -> None:
    # HR tiles stay at most 1024 px wide by default, whatever the scale
    for scale, (tile, overlap) in {2: (128, 16), 4: (128, 16), 8: (64, 8), 16: (48, 8)}.items():
        up = DepthUpsampler.bicubic(scale, device="cpu")
        assert (up.tile, up.overlap) == (tile, overlap)
        assert scale * up.tile <= 1024 and up.tile > 3 * up.overlap
    assert DepthUpsampler.bicubic(16, tile=0, device="cpu").tile == 0


def test_wrong_method_checkpoints_and_models_say_what_they_are(tmp_path) -> None:
    from depthduet.engine.checkpoint import save_checkpoint

    run = tmp_path / "mde_run"
    save_checkpoint(
        run / "checkpoints" / "best",
        {"depth_u": {"w": torch.zeros(2)}},
        None,
        {"recipe": "mutual", "config": {}, "inference_networks": ["depth_u"]},
    )
    with pytest.raises(UserError, match=r"METHOD B \(mutual\).*depthduet predict"):
        DepthUpsampler.from_checkpoint(run)
    # weights that are not DSRNet's name their file
    bad = tmp_path / "odd.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(bad))
    with pytest.raises(UserError, match=r"odd\.safetensors: not a DSRNet state dict"):
        DepthUpsampler.from_checkpoint(bad)
    # a model.json that is not an object is a clear error, not an AttributeError
    (run / "checkpoints" / "best" / "model.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="model.json: expected a JSON object"):
        DepthUpsampler.from_checkpoint(run)
    # the shipped monocular model asked for as a super-resolution model
    with pytest.raises(UserError, match="depthduet predict --model"):
        DepthUpsampler.from_pretrained("mde-driving")
