"""depthduet.io: round trips, exact byte layouts, validity masks and one-line errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from depthduet import io
from depthduet.errors import UserError
from depthduet.io import DepthIOError


def _depth(h: int = 5, w: int = 7, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.5, 9.0, (h, w)).astype(np.float32)
    valid = rng.random((h, w)) > 0.25
    values[~valid] = 0
    return values, valid


def _one_line(e: pytest.ExceptionInfo, path: Path) -> str:
    msg = str(e.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert isinstance(e.value, UserError)
    return msg


# ------------------------------------------------------------------ make_depth_map / masks


def test_make_depth_map_masks_zero_nan_inf_negative_and_sentinel() -> None:
    stored = np.array([[0.0, np.nan, np.inf, -np.inf], [-2.0, 3.0, 7.0, 65535.0]])
    dm = io.make_depth_map(stored, scale=2.0, invalid=65535)
    assert dm.values.dtype == np.float32 and dm.valid.dtype == bool
    np.testing.assert_array_equal(dm.valid, [[0, 0, 0, 0], [0, 1, 1, 0]])
    np.testing.assert_array_equal(dm.values, [[0, 0, 0, 0], [0, 1.5, 3.5, 0]])


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_make_depth_map_rejects_bad_scale(scale: float) -> None:
    with pytest.raises(DepthIOError, match="scale"):
        io.make_depth_map(np.ones((2, 2)), scale=scale)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (np.zeros((0, 5), np.float32), "empty depth map"),
        (np.ones((3, 3), bool), "boolean mask"),
    ],
)
def test_read_depth_rejects_empty_and_boolean_npy(
    tmp_path: Path, stored: np.ndarray, message: str
) -> None:
    p = tmp_path / "bad.npy"
    np.save(p, stored)
    with pytest.raises(DepthIOError, match=message) as e:
        io.read_depth(p)
    assert "bad.npy" in str(e.value)


def test_read_depth_names_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "a.npy").symlink_to("b.npy")
    (tmp_path / "b.npy").symlink_to("a.npy")
    with pytest.raises(DepthIOError, match=r"a\.npy: broken or looping symbolic link"):
        io.read_depth(tmp_path / "a.npy")


# ------------------------------------------------------------------ integer PNG / PGM


@pytest.mark.parametrize("scale", [256.0, 5000.0, 1000.0])
def test_png16_round_trip_with_scale(tmp_path: Path, scale: float) -> None:
    values, valid = _depth()
    p = io.write_depth(tmp_path / "d.png", values, valid, scale=scale)
    with Image.open(p) as im:
        assert im.mode == "I;16"
        stored = np.asarray(im)
    np.testing.assert_array_equal(stored[valid], np.round(values[valid].astype(np.float64) * scale))
    assert (stored[~valid] == 0).all()
    back = io.read_depth(p, scale=scale)
    np.testing.assert_array_equal(back.valid, valid)
    np.testing.assert_allclose(back.values, values, atol=0.5 / scale + 1e-6)


def test_png16_keeps_exact_uint16_values(tmp_path: Path) -> None:
    stored = np.array([[0, 1, 255, 256], [1000, 32768, 65534, 65535]], np.uint16)
    Image.fromarray(stored).save(tmp_path / "a.png")
    dm = io.read_depth(tmp_path / "a.png")
    np.testing.assert_array_equal(dm.values, stored.astype(np.float32))
    assert dm.valid.sum() == 7
    dm = io.read_depth(tmp_path / "a.png", invalid=65535)
    assert not dm.valid[1, 3] and dm.values[1, 3] == 0


def test_png8_write_and_read(tmp_path: Path) -> None:
    values = np.array([[0.0, 1.0], [2.0, 255.0]], np.float32)
    p = io.write_depth(tmp_path / "a.png", values, bits=8)
    with Image.open(p) as im:
        assert im.mode == "L"
    dm = io.read_depth(p)
    np.testing.assert_array_equal(dm.values, values)
    np.testing.assert_array_equal(dm.valid, values > 0)


def test_png_write_errors_when_out_of_range_or_rounds_to_zero(tmp_path: Path) -> None:
    with pytest.raises(DepthIOError, match="exceeds the 16-bit maximum 65535"):
        io.write_depth(tmp_path / "a.png", np.full((2, 2), 70.0), scale=1000)
    with pytest.raises(DepthIOError, match="exceeds the 8-bit maximum 255"):
        io.write_depth(tmp_path / "a.png", np.full((2, 2), 256.0), bits=8)
    with pytest.raises(DepthIOError, match="rounds to 0"):
        io.write_depth(tmp_path / "a.png", np.full((2, 2), 0.0001), scale=1000)
    assert not (tmp_path / "a.png").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary files left behind


def test_pgm16_round_trip_is_big_endian(tmp_path: Path) -> None:
    values = np.array([[1.0, 2.0, 0.0], [5000.0, 65535.0, 300.0]], np.float32)
    p = io.write_depth(tmp_path / "a.pgm", values)
    raw = p.read_bytes()
    assert raw.startswith(b"P5\n3 2\n65535\n")
    body = raw[len(b"P5\n3 2\n65535\n") :]
    assert body[:2] == b"\x00\x01"  # big-endian 1
    assert len(body) == 12
    dm = io.read_depth(p)
    np.testing.assert_array_equal(dm.values, values)


def test_raw_kinect_pgm_little_endian(tmp_path: Path) -> None:
    raw = np.array([[839, 1000, 1083], [1084, 2047, 0]], np.uint16)
    p = io.write_pnm(tmp_path / "k.pgm", raw, byteorder="little")
    assert p.read_bytes()[len(b"P5\n3 2\n65535\n") :][:2] == struct.pack("<H", 839)
    np.testing.assert_array_equal(io.read_pgm_raw(p), raw)
    np.testing.assert_array_equal(io.read_pgm_raw(p, byteorder="little"), raw)
    assert (
        io.read_pgm_raw(p, byteorder="big")[0, 0] == struct.unpack(">H", struct.pack("<H", 839))[0]
    )
    dm = io.read_depth(p, encoding="kinect-raw")
    expect = np.array([[351.3 / (1092.5 - 839), 351.3 / (1092.5 - 1000), 351.3 / 9.5], [0, 0, 0]])
    np.testing.assert_allclose(dm.values, expect, rtol=1e-6)
    np.testing.assert_array_equal(dm.valid, [[1, 1, 1], [0, 0, 0]])


def test_kinect_raw_encoding_rejects_non_kinect_values(tmp_path: Path) -> None:
    p = io.write_depth(tmp_path / "a.png", np.full((2, 2), 3000.0))
    with pytest.raises(DepthIOError, match="not raw Kinect units"):
        io.read_depth(p, encoding="kinect-raw")
    with pytest.raises(DepthIOError, match="do not give a scale"):
        io.read_depth(p, encoding="kinect-raw", scale=1000)
    with pytest.raises(DepthIOError, match="unknown encoding"):
        io.read_depth(p, encoding="tum")


def test_sun_rotation_round_trip_and_known_value(tmp_path: Path) -> None:
    # 1234 mm = 0b0000_0100_1101_0010; rotated left by 3 -> 0b0010_0110_1001_0000 = 9872
    assert io.sun_metres_to_depth(np.array([1.234]))[0] == 9872
    assert io.sun_depth_to_metres(np.array([9872], np.uint16))[0] == np.float32(1.234)
    # the low 3 stored bits wrap to the top: 0x0007 -> 0xE000 = 57344 mm
    assert io.sun_depth_to_metres(np.array([7], np.uint16))[0] == np.float32(57.344)
    metres = np.array([[0.0, 1.057], [9.87, 4.5]])
    stored = io.sun_metres_to_depth(metres)
    Image.fromarray(stored).save(tmp_path / "s.png")
    dm = io.read_depth(tmp_path / "s.png", encoding="sun-rotated")
    np.testing.assert_allclose(dm.values, metres, atol=1e-6)
    np.testing.assert_array_equal(dm.valid, metres > 0)
    Image.fromarray(np.full((2, 2), 200, np.uint8)).save(tmp_path / "d8.png")  # not SUN data
    with pytest.raises(DepthIOError, match="needs 16-bit data") as e:
        io.read_depth(tmp_path / "d8.png", encoding="sun-rotated")
    _one_line(e, tmp_path / "d8.png")


def test_disparity_to_depth_formula_and_invalid() -> None:
    d = np.array([[10.0, np.inf, 0.0], [-5.0, 20.0, np.nan]])
    z = io.disparity_to_depth(d, f=1000.0, B=100.0, doffs=10.0)
    np.testing.assert_allclose(z, [[5000.0, 0, 0], [0, 100000 / 30, 0]], rtol=1e-6)
    z = io.disparity_to_depth(np.array([[2.0]]), f=10.0, B=1.0, doffs=-3.0)
    assert z[0, 0] == 0  # d + doffs <= 0


def test_kinect_raw_to_metres_values() -> None:
    raw = np.array([0, 839, 1083, 1084, 2047])
    z = io.kinect_raw_to_metres(raw)
    np.testing.assert_allclose(z, [0, 351.3 / 253.5, 351.3 / 9.5, 0, 0], rtol=1e-6)


# ------------------------------------------------------------------ PFM


@pytest.mark.parametrize("little", [True, False])
def test_pfm_round_trip_both_byte_orders(tmp_path: Path, little: bool) -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4) + 0.25
    a[0, 0] = np.inf
    p = io.write_pfm(tmp_path / "a.pfm", a, little_endian=little)
    raw = p.read_bytes()
    header = b"Pf\n4 3\n" + (b"-1.0\n" if little else b"1.0\n")
    assert raw.startswith(header)
    # first stored row is the BOTTOM image row
    first = struct.unpack(("<" if little else ">") + "f", raw[len(header) : len(header) + 4])[0]
    assert first == a[2, 0]
    np.testing.assert_array_equal(io.read_pfm(p), a)
    dm = io.read_depth(p)
    assert not dm.valid[0, 0] and dm.values[0, 0] == 0
    assert dm.valid.sum() == 11


def test_pfm_with_windows_line_ends(tmp_path: Path) -> None:
    body = struct.pack("<2f", 0.5, 10.0)  # one row: no flip visible
    (tmp_path / "w.pfm").write_bytes(b"Pf\r\n2 1\r\n-1.0\r\n" + body)
    np.testing.assert_array_equal(io.read_pfm(tmp_path / "w.pfm"), [[0.5, 10.0]])


def test_pfm_hand_written_colour_big_endian(tmp_path: Path) -> None:
    # 2x1 colour image, big-endian, rows bottom-up: bottom pixel (1,2,3), top pixel (4,5,6)
    body = struct.pack(">6f", 1, 2, 3, 4, 5, 6)
    (tmp_path / "c.pfm").write_bytes(b"PF\n1 2\n1.0\n" + body)
    arr = io.read_pfm(tmp_path / "c.pfm")
    np.testing.assert_array_equal(arr, [[[4, 5, 6]], [[1, 2, 3]]])
    with pytest.raises(DepthIOError, match="colour PFM"):
        io.read_depth(tmp_path / "c.pfm")


# ------------------------------------------------------------------ float containers


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".mat", ".dpt", ".pfm"])
def test_float_formats_round_trip_values_and_masks(tmp_path: Path, suffix: str) -> None:
    values, valid = _depth(6, 9)
    p = io.write_depth(tmp_path / f"d{suffix}", values, valid, scale=2.0)
    dm = io.read_depth(p, scale=2.0)
    np.testing.assert_array_equal(dm.valid, valid)
    np.testing.assert_allclose(dm.values, values, rtol=1e-6)


def test_dpt_byte_layout(tmp_path: Path) -> None:
    a = np.array([[1.5, 2.5, 3.5]], np.float32)
    raw = io.write_dpt(tmp_path / "a.dpt", a).read_bytes()
    assert struct.unpack("<fii", raw[:12]) == (202021.25, 3, 1)
    assert struct.unpack("<3f", raw[12:]) == (1.5, 2.5, 3.5)


def test_npz_and_mat_keys(tmp_path: Path) -> None:
    a = np.full((3, 4), 2.0, np.float32)
    np.savez(tmp_path / "m.npz", depth=a, other=a * 2)
    with pytest.raises(DepthIOError, match="several arrays"):
        io.read_depth(tmp_path / "m.npz")
    assert io.read_depth(tmp_path / "m.npz", key="other").values[0, 0] == 4.0
    with pytest.raises(DepthIOError, match="no variable 'nope'"):
        io.read_depth(tmp_path / "m.npz", key="nope")
    scipy.io.savemat(tmp_path / "m.mat", {"Df": a.astype(np.float64), "scalar": 3.0})
    dm = io.read_depth(tmp_path / "m.mat")  # the only 2-D array, scalars ignored
    assert dm.values.shape == (3, 4) and dm.values.dtype == np.float32


def test_npy_stack_needs_index(tmp_path: Path) -> None:
    stack = np.stack([np.full((2, 3), i + 1.0) for i in range(4)])
    np.save(tmp_path / "s.npy", stack)
    with pytest.raises(DepthIOError, match="pass an index"):
        io.read_depth(tmp_path / "s.npy")
    assert io.read_depth(tmp_path / "s.npy", index=2).values[0, 0] == 3.0
    np.save(tmp_path / "one.npy", stack[:1])  # (1, H, W) squeezes
    assert io.read_depth(tmp_path / "one.npy").values.shape == (2, 3)


def test_mat_v73_is_transposed_back(tmp_path: Path) -> None:
    import h5py  # a dependency of the package (MATLAB v7.3 files)

    # MATLAB writes a (H=2, W=3, N=2) array column-major; h5py shows it as (N, W, H)
    matlab = np.arange(12, dtype=np.float64).reshape(2, 3, 2) + 1
    p = tmp_path / "v73.mat"
    with h5py.File(p, "w", userblock_size=512) as f:
        f.create_dataset("depths", data=matlab.T)
        f.create_dataset("labels", data=np.zeros((1, 5), np.uint8).T)
        name = f.create_dataset("scene", data=np.frombuffer(b"k\0i\0", "<u2")[:, None])
        name.attrs["MATLAB_class"] = np.bytes_(b"char")
    with open(p, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" "))
    np.testing.assert_array_equal(io.read_mat(p, "depths"), matlab)
    np.testing.assert_array_equal(io.read_mat(p, "depths", index=1), matlab[:, :, 1])
    np.testing.assert_array_equal(io.read_mat(p, "depths", index=-1), matlab[:, :, 1])
    dm = io.read_depth(p, key="depths", index=0)
    np.testing.assert_array_equal(dm.values, matlab[:, :, 0])
    with pytest.raises(DepthIOError, match="index 5 out of range"):
        io.read_depth(p, key="depths", index=5)
    with pytest.raises(DepthIOError, match="no variable 'scene'"):  # a MATLAB string
        io.read_mat(p, "scene")
    assert io.read_depth(p, index=0).values.shape == (2, 3)  # 'depths' is the only map


# ------------------------------------------------------------------ images


def test_image_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    for suffix in (".png", ".bmp", ".ppm"):
        p = io.write_image(tmp_path / f"a{suffix}", rgb)
        img = io.read_image(p)
        assert img.shape == (4, 5, 3) and img.dtype == np.float32
        np.testing.assert_allclose(img * 255, rgb, atol=1e-4)
    grey = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    img = io.read_image(io.write_image(tmp_path / "g.pgm", grey))
    assert img.shape == (4, 5)
    assert io.read_image(tmp_path / "g.pgm", grey=False).shape == (4, 5, 3)
    luma = io.read_image(tmp_path / "a.png", grey=True)
    np.testing.assert_allclose(luma, (rgb @ [0.299, 0.587, 0.114]) / 255, atol=1e-5)
    jpg = io.read_image(io.write_image(tmp_path / "a.jpg", np.full((8, 8, 3), 0.5)))
    assert abs(float(jpg.mean()) - 128 / 255) < 0.01


def test_image_16bit(tmp_path: Path) -> None:
    a = np.array([[0, 65535], [32768, 1]], np.uint16)
    for suffix in (".png", ".pgm"):
        img = io.read_image(io.write_image(tmp_path / f"a{suffix}", a))
        np.testing.assert_allclose(img, a / 65535.0, rtol=1e-6)


# ------------------------------------------------------------------ LiDAR, calib, PLY


def test_velodyne_round_trip_and_bad_size(tmp_path: Path) -> None:
    pts = np.arange(20, dtype=np.float32).reshape(5, 4)
    p = io.write_velodyne(tmp_path / "v.bin", pts)
    assert p.stat().st_size == 80
    np.testing.assert_array_equal(io.read_velodyne(p), pts)
    (tmp_path / "bad.bin").write_bytes(p.read_bytes()[:-3])
    with pytest.raises(DepthIOError, match="not a multiple of 16") as e:
        io.read_velodyne(tmp_path / "bad.bin")
    _one_line(e, tmp_path / "bad.bin")


def test_calib_kitti_and_middlebury_styles(tmp_path: Path) -> None:
    (tmp_path / "k.txt").write_text(
        "calib_time: 09-Jan-2012 13:57:47\n"
        "P2: 1 0 2 3 0 1 4 5 0 0 1 6\n"
        "R0_rect: 1 0 0 0 1 0 0 0 1\n"
    )
    c = io.read_calib_txt(tmp_path / "k.txt")
    assert set(c) == {"P2", "R0_rect"}
    np.testing.assert_array_equal(c["P2"].reshape(3, 4)[:, 3], [3, 5, 6])
    (tmp_path / "m.txt").write_text(
        "cam0=[3997.684 0 1176.728; 0 3997.684 1011.728; 0 0 1]\ndoffs=131.111\nwidth=2964\n"
    )
    c = io.read_calib_txt(tmp_path / "m.txt")
    assert c["cam0"].shape == (3, 3) and c["cam0"][1, 2] == 1011.728
    assert c["doffs"].tolist() == [131.111]
    (tmp_path / "junk.txt").write_text("hello world\n")
    with pytest.raises(DepthIOError, match="no numeric"):
        io.read_calib_txt(tmp_path / "junk.txt")


def test_ply_binary_layout(tmp_path: Path) -> None:
    pts = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    cols = np.array([[255, 0, 0], [0, 255, 10]], np.uint8)
    raw = io.write_ply(tmp_path / "p.ply", pts, cols).read_bytes()
    head, body = raw.split(b"end_header\n")
    assert b"element vertex 2" in head and b"property uchar red" in head
    assert len(body) == 2 * 15
    assert struct.unpack("<3f3B", body[:15]) == (1.0, 2.0, 3.0, 255, 0, 0)
    raw = io.write_ply(tmp_path / "q.ply", pts).read_bytes()
    assert len(raw.split(b"end_header\n")[1]) == 2 * 12


# ------------------------------------------------------------------ bad files


def test_missing_directory_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DepthIOError, match="no such file") as e:
        io.read_depth(tmp_path / "missing.png")
    _one_line(e, tmp_path / "missing.png")
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(DepthIOError, match="is a directory") as e:
        io.read_depth(tmp_path / "dir.png")
    _one_line(e, tmp_path / "dir.png")
    for name in ("e.png", "e.pfm", "e.npy", "e.mat", "e.dpt", "e.jpg"):
        (tmp_path / name).write_bytes(b"")
        reader = io.read_image if name.endswith(".jpg") else io.read_depth
        with pytest.raises(DepthIOError, match="empty file") as e:
            reader(tmp_path / name)
        _one_line(e, tmp_path / name)


def test_truncated_png(tmp_path: Path) -> None:
    a = (np.arange(64 * 64, dtype=np.uint32) * 7 % 65536).astype(np.uint16).reshape(64, 64)
    Image.fromarray(a).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DepthIOError, match="cannot decode") as e:
        io.read_depth(tmp_path / "t.png")
    _one_line(e, tmp_path / "t.png")
    (tmp_path / "junk.png").write_bytes(b"this is not a png at all")
    with pytest.raises(DepthIOError, match="not a recognised image") as e:
        io.read_depth(tmp_path / "junk.png")
    _one_line(e, tmp_path / "junk.png")


def test_bad_pfm_headers(tmp_path: Path) -> None:
    body = struct.pack("<4f", 1, 2, 3, 4)
    cases = {
        "magic.pfm": (b"P6\n2 2\n-1.0\n" + body, "expected 'PF' or 'Pf'"),
        "dims.pfm": (b"Pf\n2 x\n-1.0\n" + body, "bad PFM header"),
        "scale.pfm": (b"Pf\n2 2\n0.0\n" + body, "bad PFM scale"),
        "short.pfm": (b"Pf\n2 2\n-1.0\n" + body[:10], "truncated"),
        "head.pfm": (b"Pf\n2", "malformed PFM header"),
        "huge.pfm": (
            b"PF\n40000 30000\n-1.0\n" + body,
            r"PFM header declares shape \(30000, 40000, 3\) \(3.6e\+09 elements\), over 1.07e\+09",
        ),
    }
    for name, (raw, match) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(DepthIOError, match=match) as e:
            io.read_depth(tmp_path / name)
        _one_line(e, tmp_path / name)


def test_npy_header_declaring_more_than_the_element_limit(tmp_path: Path) -> None:
    p = tmp_path / "big.npy"
    np.save(p, np.zeros((2, 2), np.float32))
    raw = p.read_bytes().replace(b"(2, 2)", b"(40000, 30000)")
    p.write_bytes(raw)
    with pytest.raises(DepthIOError, match=r"header declares shape \(40000, 30000\) \(1.2e\+09") as e:
        io.read_depth(p)
    _one_line(e, p)


def test_pgm_16bit_wrong_byte_count(tmp_path: Path) -> None:
    (tmp_path / "a.pgm").write_bytes(b"P5\n4 3\n65535\n" + b"\x00\x01" * 11)
    with pytest.raises(DepthIOError, match="16-bit data needs 24 bytes, found 22") as e:
        io.read_depth(tmp_path / "a.pgm")
    _one_line(e, tmp_path / "a.pgm")
    (tmp_path / "b.pgm").write_bytes(b"P5\n4 3\n70000\n" + b"\x00" * 24)
    with pytest.raises(DepthIOError, match="unsupported PNM maxval"):
        io.read_depth(tmp_path / "b.pgm")
    (tmp_path / "c.pgm").write_bytes(b"P7\n4 3\n255\n" + b"\x00" * 12)
    with pytest.raises(DepthIOError, match="bad PNM header"):
        io.read_depth(tmp_path / "c.pgm")


def test_bad_dpt_and_mat_and_npy(tmp_path: Path) -> None:
    (tmp_path / "a.dpt").write_bytes(struct.pack("<fii", 1.0, 2, 2) + b"\x00" * 16)
    with pytest.raises(DepthIOError, match="bad .dpt tag"):
        io.read_depth(tmp_path / "a.dpt")
    (tmp_path / "b.dpt").write_bytes(struct.pack("<fii", 202021.25, 2, 2) + b"\x00" * 8)
    with pytest.raises(DepthIOError, match="truncated"):
        io.read_depth(tmp_path / "b.dpt")
    (tmp_path / "a.mat").write_bytes(b"\x01\x02garbage" * 20)
    with pytest.raises(DepthIOError, match="MATLAB") as e:
        io.read_depth(tmp_path / "a.mat")
    _one_line(e, tmp_path / "a.mat")
    (tmp_path / "a.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DepthIOError, match=r"\.npy") as e:
        io.read_depth(tmp_path / "a.npy")
    _one_line(e, tmp_path / "a.npy")


def test_garbage_truncated_and_corrupt_numpy_files(tmp_path: Path) -> None:
    (tmp_path / "html.npy").write_bytes(b"<html>404 not found</html>")  # a failed download
    with pytest.raises(DepthIOError, match="not a NumPy .npy file") as e:
        io.read_depth(tmp_path / "html.npy")
    _one_line(e, tmp_path / "html.npy")
    assert "pickle" not in str(e.value)
    (tmp_path / "junk.npz").write_bytes(b"junk" * 10)
    with pytest.raises(DepthIOError, match="not an .npz") as e:
        io.read_depth(tmp_path / "junk.npz")
    _one_line(e, tmp_path / "junk.npz")
    np.savez(tmp_path / "ok.npz", depth=np.arange(64, dtype=np.float32).reshape(8, 8))
    raw = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[:-100])  # interrupted download: no central directory
    with pytest.raises(DepthIOError, match="npz") as e:
        io.read_depth(tmp_path / "cut.npz")
    _one_line(e, tmp_path / "cut.npz")
    np.savez(tmp_path / "crc.npz", depth=np.zeros((8, 8), np.float32))  # stored, not deflated
    raw = bytearray((tmp_path / "crc.npz").read_bytes())
    i = raw.index(b"\x00" * 64)  # inside the member's zero data: breaks its CRC only
    raw[i + 10] = 1
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    with pytest.raises(DepthIOError, match="corrupt .npz") as e:
        io.read_depth(tmp_path / "crc.npz")
    _one_line(e, tmp_path / "crc.npz")


def test_rgb_png_is_not_depth_and_unknown_suffix(tmp_path: Path) -> None:
    io.write_image(tmp_path / "rgb.png", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(DepthIOError, match="single-channel"):
        io.read_depth(tmp_path / "rgb.png")
    Image.fromarray(np.array([[True, False]])).save(tmp_path / "bits1.png")
    with pytest.raises(DepthIOError, match="unsupported bit depth 1") as e:
        io.read_depth(tmp_path / "bits1.png")
    _one_line(e, tmp_path / "bits1.png")
    (tmp_path / "a.xyz").write_bytes(b"1")
    with pytest.raises(DepthIOError, match="unsupported depth format '.xyz'"):
        io.read_depth(tmp_path / "a.xyz")
    with pytest.raises(DepthIOError, match="cannot write depth format"):
        io.write_depth(tmp_path / "a.xyz", np.ones((2, 2)))


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "keep.npy"
    io.write_depth(target, np.ones((2, 2)))
    before = target.read_bytes()

    def boom(f) -> None:
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        io.atomic_write(target, boom)
    assert target.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.npy"]


def test_write_depth_shape_checks(tmp_path: Path) -> None:
    with pytest.raises(DepthIOError, match="2-D"):
        io.write_depth(tmp_path / "a.npy", np.ones((2, 2, 2)))
    with pytest.raises(DepthIOError, match="does not match"):
        io.write_depth(tmp_path / "a.npy", np.ones((2, 2)), np.ones((3, 2), bool))
    # (1, H, W) tensors-as-arrays are accepted
    p = io.write_depth(tmp_path / "b.npy", np.ones((1, 2, 3)))
    assert io.read_depth(p).values.shape == (2, 3)


def test_invalid_marker_and_write_fill(tmp_path) -> None:
    from depthduet.io import invalid_marker, read_depth_stored, write_depth

    a = np.array([[1.0, np.nan], [2.0, np.nan]], np.float32)
    assert np.isnan(invalid_marker(a))
    assert invalid_marker(np.array([[1.0, np.inf]])) == np.inf
    assert invalid_marker(np.array([[1.0, np.nan], [0.0, 2.0]])) == 0.0  # mixed -> 0
    assert invalid_marker(np.array([[1, 0]], np.uint16)) == 0.0
    assert invalid_marker(np.array([[1.0, 2.0]])) == 0.0
    assert invalid_marker(np.array([[1, 9]], np.uint16), invalid=9) == 9.0
    b = np.array([[1.0, np.nan], [5.0, 2.0]])  # a caller's mask wins: 5.0 is a hole
    assert invalid_marker(b, np.array([[True, False], [False, True]])) == 0.0
    v = np.array([[1.0, 0.0], [2.0, 3.0]], np.float32)
    write_depth(tmp_path / "a.pfm", v, fill=float("nan"))
    got = read_depth_stored(tmp_path / "a.pfm")
    assert np.isnan(got[0, 1]) and got[0, 0] == 1.0
    write_depth(tmp_path / "b.png", v, fill=9)
    assert read_depth_stored(tmp_path / "b.png")[0, 1] == 9
    with pytest.raises(DepthIOError, match="cannot be stored in a 16-bit"):
        write_depth(tmp_path / "c.png", v, fill=float("nan"))
    with pytest.raises(DepthIOError, match="invalid-pixel value"):
        write_depth(tmp_path / "d.png", v, fill=2)
    with pytest.raises(DepthIOError, match="invalid-pixel value"):
        write_depth(tmp_path / "e.npy", v, fill=3.0)
    assert not (tmp_path / "d.png").exists() and not (tmp_path / "e.npy").exists()
    from depthduet.io import fill_fits

    assert fill_fits(".npy", float("nan")) and fill_fits(".PNG", 65535)
    assert not fill_fits(".png", 65536) and not fill_fits(".pgm", 1.5)
    assert not fill_fits(".png", -1) and not fill_fits(".png", 256, bits=8)


def test_natural_key_orders_digit_runs_by_value_and_keeps_both_spellings():
    from depthduet.io.naming import natural_key

    names = ["x/Df_10.mat", "x/Df_2.mat", "x/df_1.mat"]
    assert sorted(names, key=natural_key) == ["x/df_1.mat", "x/Df_2.mat", "x/Df_10.mat"]
    assert natural_key("x/Df_2.mat") == ["df_", 2, ".mat"]
    assert natural_key("a/B10", whole=True, fold_case=False) == ["a/B", 10, ""]
    # case kept: upper-case letters sort first
    assert sorted(["b1", "B2"], key=lambda s: natural_key(s, fold_case=False)) == ["B2", "b1"]
