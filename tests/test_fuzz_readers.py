"""Fuzzing every file reader with corrupted files: each one gives a result or a one-line
``UserError`` naming the file; never another exception, a hang or a huge allocation.

Seed files come from the package's own writers (and numpy / scipy / h5py for the container
formats); a fixed-seed generator derives corrupted variants from them: truncations, byte flips,
inserted and deleted bytes, wrong magic bytes, empty files, header numbers replaced by huge /
negative / NaN values, zero-size and absurd declared shapes, wrong types in camera files.
The closing summary of the pytest run shows the count, e.g. ``fuzzed 1045 files over 18 readers (...): 0 crashes``;
``-m slow`` runs a corpus five times larger.
"""

from __future__ import annotations

import contextlib
import datetime
import io as pyio
import json
import re
import signal
import struct
import time
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import scipy.io
import yaml
from PIL import Image

from depthduet import io as dio
from depthduet.data import cityscapes, folder, kitti, synth_folder
from depthduet.errors import UserError

SEED = 20250611
#: seconds one reader may take on one file before it counts as a hang
HANG_S = 20
#: address space a reader may add while fuzzing; more fails with MemoryError (a failure)
MEMORY_CAP = 1 << 30

Mutation = tuple[str, bytes]  # (kind, content)
Reader = tuple[str, Callable[[Path], Any]]

# ------------------------------------------------------------------------------ byte mutations

MAGICS = [
    b"\x89PNG\r\n\x1a\n",
    b"P5\n",
    b"P2\n",
    b"Pf\n",
    b"PF\n",
    b"\x93NUMPY\x01\x00",
    b"PK\x03\x04",
    b"\x89HDF\r\n\x1a\n",
    b"MATLAB 5.0 MAT-file",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"\x00\x00\x00\x00",
    b"<html>",
    b"\xef\xbb\xbf",
]
BAD_NUMBERS = [
    b"0",
    b"-1",
    b"-0",
    b"99999999999999999999",
    b"4294967296",
    b"2147483648",
    b"65536",
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e309",
    b"-1e309",
    b"1.5",
    b"0x10",
    b"",
    b"abc",
    b"1e-320",
]
BAD_INTS = [0, -1, 1, -(2**31), 2**31 - 1, 2**32 - 1, 2**16, 2**24 + 1, 123456789]
#: the values each binary header field takes in turn (-1 is also 2**32 - 1 unsigned)
FIELD_INTS = [0, -1, 2**31 - 1, 2**16, 2**24 + 1, 123456789]
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _truncate(rng: np.random.Generator, d: bytes) -> Mutation:
    return "truncated", d[: int(rng.integers(0, len(d)))]


def _truncate_header(rng: np.random.Generator, d: bytes) -> Mutation:
    return "truncated header", d[: int(rng.integers(1, min(len(d), 80) + 1))]


def _flip(rng: np.random.Generator, d: bytes, span: int | None = None) -> Mutation:
    b = bytearray(d)
    top = len(b) if span is None else min(len(b), span)
    for _ in range(int(rng.integers(1, 5))):
        b[int(rng.integers(0, top))] ^= int(rng.integers(1, 256))
    return ("byte flips" if span is None else "header byte flips"), bytes(b)


def _insert(rng: np.random.Generator, d: bytes) -> Mutation:
    at = int(rng.integers(0, len(d) + 1))
    return "inserted bytes", d[:at] + rng.bytes(int(rng.integers(1, 17))) + d[at:]


def _delete(rng: np.random.Generator, d: bytes) -> Mutation:
    at = int(rng.integers(0, len(d)))
    return "deleted bytes", d[:at] + d[at + int(rng.integers(1, 17)) :]


def _magic(rng: np.random.Generator, d: bytes) -> Mutation:
    m = MAGICS[int(rng.integers(len(MAGICS)))] if rng.random() < 0.7 else rng.bytes(4)
    return "wrong magic", m + d[len(m) :]


def _number(rng: np.random.Generator, d: bytes) -> Mutation:
    """Replace one number among the first 4096 bytes (text files and headers) by a bad one."""
    found = list(_NUMBER.finditer(d[:4096]))
    if not found:
        return _flip(rng, d, 64)
    m = found[int(rng.integers(len(found)))]
    bad = BAD_NUMBERS[int(rng.integers(len(BAD_NUMBERS)))]
    return "bad header number", d[: m.start()] + bad + d[m.end() :]


def _int_field(rng: np.random.Generator, d: bytes) -> Mutation:
    """Overwrite a 32-bit integer among the first 64 bytes (binary headers)."""
    at = int(rng.integers(0, max(1, min(len(d), 64) - 3)))
    v = BAD_INTS[int(rng.integers(len(BAD_INTS)))]
    packed = struct.pack("<I" if rng.random() < 0.5 else ">I", v % 2**32)
    return "bad header integer", d[:at] + packed + d[at + 4 :]


def _int_anywhere(rng: np.random.Generator, d: bytes) -> Mutation:
    """Overwrite an aligned 32-bit integer anywhere (the sizes and dims of nested elements)."""
    at = 4 * int(rng.integers(0, len(d) // 4))
    v = BAD_INTS[int(rng.integers(len(BAD_INTS)))]
    return "bad integer", d[:at] + struct.pack("<I", v % 2**32) + d[at + 4 :]


def _append(rng: np.random.Generator, d: bytes) -> Mutation:
    return "trailing garbage", d + (d if rng.random() < 0.5 else rng.bytes(33))


GENERIC = [
    _truncate,
    _flip,
    _number,
    _insert,
    _delete,
    _magic,
    _truncate_header,
    _int_field,
    lambda rng, d: _flip(rng, d, 64),
    _append,
]


def byte_variants(rng: np.random.Generator, seed: bytes, n: int) -> list[Mutation]:
    """``n`` corrupted copies of ``seed``, cycling through the generic mutations."""
    return [GENERIC[i % len(GENERIC)](rng, seed) for i in range(n)]


def text_variants(rng: np.random.Generator, seed: bytes, n: int) -> list[Mutation]:
    """``n`` variants: half generic mutations, half a number replaced by a bad one (text)."""
    return byte_variants(rng, seed, n - n // 2) + [_number(rng, seed) for _ in range(n // 2)]


def line_variants(text: str, key: str, values: list[str]) -> list[Mutation]:
    """The values of ``key`` (a ``key: values`` line) replaced by each of ``values``."""
    pat = re.compile(rf"^{re.escape(key)}:.*$", re.M)
    return [(f"{key}: {v}", pat.sub(f"{key}: {v}", text).encode()) for v in values]


def mat_variants(rng: np.random.Generator, seed: bytes, n: int) -> list[Mutation]:
    """``n`` variants: half generic mutations, half an integer replaced anywhere (nested tags)."""
    return byte_variants(rng, seed, n - n // 2) + [_int_anywhere(rng, seed) for _ in range(n // 2)]


def fields_variants(fields: list[tuple[int, str]], seed: bytes) -> list[Mutation]:
    """Each binary header field (offset, struct format) set to each bad integer."""
    out = []
    for off, fmt in fields:
        size = struct.calcsize(fmt)
        for v in FIELD_INTS:
            if fmt[-1] in "fd":
                val: float = [np.nan, np.inf, -1.0, 0.0, 1e38][v % 5]
            else:
                bits = 8 * size
                val = v % 2**bits
                if fmt[-1].islower() and val >= 2 ** (bits - 1):
                    val -= 2**bits
            out.append(
                (f"header field @{off}", seed[:off] + struct.pack(fmt, val) + seed[off + size :])
            )
    return out


# ------------------------------------------------------------------------------ format helpers


def fix_png_crcs(d: bytes) -> bytes:
    """Recompute every chunk CRC, so that a changed header reaches the decoder."""
    b = bytearray(d)
    pos = 8
    while pos + 8 <= len(b):
        n = struct.unpack(">I", b[pos : pos + 4])[0]
        end = pos + 8 + n
        if end + 4 > len(b):
            break
        b[end : end + 4] = struct.pack(">I", zlib.crc32(bytes(b[pos + 4 : end])))
        pos = end + 4
    return bytes(b)


#: IHDR fields (width, height, bit depth, colour type, compression, filter, interlace) and the
#: length of the chunk after IHDR
PNG_FIELDS = [(16, ">I"), (20, ">I"), (24, "B"), (25, "B"), (26, "B"), (27, "B"), (28, "B")]
PNG_FIELDS += [(33, ">I")]


def png_variants(rng: np.random.Generator, seed: bytes, n: int) -> list[Mutation]:
    """Generic mutations with the chunk CRCs recomputed half of the time."""
    out = byte_variants(rng, seed, n)
    return [
        (k + " (CRCs fixed)", fix_png_crcs(v)) if i % 2 else (k, v) for i, (k, v) in enumerate(out)
    ]


def png_fields_variants(seed: bytes) -> list[Mutation]:
    return [(k, fix_png_crcs(v)) for k, v in fields_variants(PNG_FIELDS, seed)]


def npy_bytes(header: str, payload: bytes, version: int = 1) -> bytes:
    h = header.encode("latin1")
    lead = 10 if version == 1 else 12
    h += b" " * (-(lead + len(h) + 1) % 64) + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + payload


def npy_variants(payload: bytes) -> list[Mutation]:
    """Hand-made ``.npy`` headers: odd dtypes, zero-size and absurd shapes, bad lengths."""
    shapes = [
        "()",
        "(0,)",
        "(0, 8)",
        "(6, 0)",
        "(-1, 8)",
        "(1099511627776,)",
        "(4294967296, 4294967296)",
        "(65536, 65536)",
        "(16384, 16384)",
        "(6, 8, 1, 1)",
        "(1, 6, 8)",
        "(3, 6, 8)",
        "(6, 9)",
        "(48,)",
        "'abc'",
        "(6.5, 8)",
        "None",
    ]
    descrs = ["'|O'", "'<U4'", "'|V4'", "'|b1'", "'<c8'", "'<M8[s]'", "'>f4'", "'<f2'", "'xyz'"]
    descrs += ["[('a', '<f4')]", "'<f8'", "'|S4'", "'<i8'"]
    out = []
    for s in shapes:
        out.append(
            (
                f"npy shape {s}",
                npy_bytes(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {s}, }}", payload),
            )
        )
    for t in descrs:
        out.append(
            (
                f"npy dtype {t}",
                npy_bytes(f"{{'descr': {t}, 'fortran_order': False, 'shape': (6, 8), }}", payload),
            )
        )
    good = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 8), }"
    out += [
        ("npy fortran order", npy_bytes(good.replace("False", "True"), payload)),
        ("npy version 2", npy_bytes(good, payload, version=2)),
        ("npy version 9", npy_bytes(good, payload).replace(b"NUMPY\x01", b"NUMPY\x09", 1)),
        ("npy not a dict", npy_bytes("[1, 2, 3]", payload)),
        ("npy missing key", npy_bytes("{'descr': '<f4', 'shape': (6, 8), }", payload)),
        ("npy header length", b"\x93NUMPY\x01\x00\xff\xff" + npy_bytes(good, payload)[10:]),
        ("npy header length 0", b"\x93NUMPY\x01\x00\x00\x00" + npy_bytes(good, payload)[10:]),
        ("npy code in header", npy_bytes("__import__('os')", payload)),
    ]
    return out


def zip_of(members: dict[str, bytes], compress: bool = False) -> bytes:
    buf = pyio.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def npz_variants(payload: bytes, seed_npy: bytes) -> list[Mutation]:
    out = []
    for kind, data in npy_variants(payload):
        out.append(("npz member " + kind, zip_of({"depth.npy": data}, compress=len(out) % 2 == 1)))
    out += [
        ("npz empty archive", zip_of({})),
        ("npz member not npy", zip_of({"depth.npy": b"hello"})),
        ("npz member empty", zip_of({"depth.npy": b""})),
        ("npz text member", zip_of({"notes.txt": b"x"})),
        ("npz two members", zip_of({"a.npy": seed_npy, "b.npy": seed_npy})),
        ("npz member truncated", zip_of({"depth.npy": seed_npy[:-5]}, compress=True)),
    ]
    return out


def mat5_crafted(values: np.ndarray) -> list[Mutation]:
    """Uncompressed v5 files with a bad part inside an array, which scipy's reader does not
    check and crashes on (it looks the data type up in a table, or reads past the array)."""
    buf = pyio.BytesIO()
    scipy.io.savemat(buf, {"depth": values, "s": "ab"})
    seed = buf.getvalue()
    # depth: tag at 128, flags 136, dims 152, name 168, data tag 184; "s" (char) tag at 384
    assert struct.unpack_from("<4I", seed, 128) == (14, 248, 6, 8)
    assert struct.unpack_from("<2I", seed, 184) == (7, 192)
    assert struct.unpack_from("<6I", seed, 384) == (14, 48, 6, 8, 4, 0)

    def put(off: int, v: int, data: bytes = seed) -> bytes:
        return data[:off] + struct.pack("<I", v) + data[off + 4 :]

    out = [(f"data type {t}", put(184, t)) for t in (0, 8, 10, 14, 15, 19, 255)]
    out += [
        ("char array with 0 dims", put(412, 0)),
        ("char array with 1 dim", put(412, 4)),
        ("data outside the array", put(132, 48)),  # the array ends after its name
        ("data as a small element of type 0", put(184, 4 << 16)),
    ]
    return out


def mat73_file(path: Path, build: Callable[[h5py.File], None]) -> bytes:
    """A MATLAB v7.3 file (HDF5 with MATLAB's 512-byte text header) made by ``build``."""
    with h5py.File(path, "w", userblock_size=512) as f:
        build(f)
    data = bytearray(path.read_bytes())
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    data[: len(head)] = head
    path.unlink()
    return bytes(data)


def _ds(name: str, cls: str = "single", **kw: Any) -> Callable[[h5py.File], None]:
    def build(f: h5py.File) -> None:
        ds = f.create_dataset(name, **kw)
        ds.attrs["MATLAB_class"] = np.bytes_(cls)

    return build


def mat73_variants(tmp: Path, values: np.ndarray) -> list[Mutation]:
    """v7.3 files declaring zero-size / absurd shapes, odd types, nothing numeric."""
    t = tmp / "v73.mat"
    f4 = np.dtype("<f4")
    builds: list[tuple[str, Callable[[h5py.File], None]]] = [
        ("h5 absurd shape", _ds("depth", shape=(2**20, 2**20), dtype=f4)),
        ("h5 large unwritten", _ds("depth", shape=(20000, 30000), dtype=f4)),
        (
            "h5 large chunked unwritten",
            _ds("depth", shape=(20000, 30000), dtype=f4, chunks=(64, 64)),
        ),
        ("h5 huge 3-D", _ds("depth", shape=(4096, 4096, 4096), dtype=f4, chunks=(1, 64, 64))),
        ("h5 zero size", _ds("depth", shape=(0, 8), dtype=f4)),
        ("h5 scalar", _ds("depth", data=np.float32(3))),
        ("h5 empty dataspace", _ds("depth", data=h5py.Empty(f4))),
        ("h5 strings", _ds("depth", data=np.array([b"ab", b"cd"] * 4).reshape(2, 4))),
        ("h5 char class", _ds("depth", "char", data=values.T.astype(np.uint16))),
        ("h5 compound", _ds("depth", data=np.zeros((8, 6), [("a", "<f4"), ("b", "<i4")]))),
        ("h5 bool", _ds("depth", "logical", data=values.T > 1)),
        ("h5 only a group", lambda f: f.create_group("depth")),
        ("h5 nothing", lambda f: None),
        ("h5 two maps", lambda f: (_ds("a", data=values.T)(f), _ds("b", data=values.T)(f))),
        ("h5 stack", _ds("depth", data=np.stack([values.T] * 3))),
        ("h5 link loop", lambda f: f.__setitem__("depth", h5py.SoftLink("/depth"))),
        ("h5 external link", lambda f: f.__setitem__("depth", h5py.ExternalLink("nope.h5", "/x"))),
    ]
    out = []
    for kind, build in builds:
        out.append((kind, mat73_file(t, build)))
    return out


def mapping_variants(
    rng: np.random.Generator,
    seed: dict[str, Any],
    dump: Callable[[Any], str],
    n: int,
    weird: list[Any],
) -> list[Mutation]:
    """Camera files whose values are replaced by wrong types / non-finite numbers."""
    out = []
    for top in (None, [], 5, "text", [seed]):
        out.append(("not a mapping", dump(top).encode()))

    def paths(d: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        if isinstance(d, dict):
            for k, v in d.items():
                yield prefix + (k,)
                yield from paths(v, prefix + (k,))
        elif isinstance(d, list) and d:
            i = int(rng.integers(len(d)))
            yield prefix + (i,)
            yield from paths(d[i], prefix + (i,))

    for i in range(n):
        obj = json.loads(json.dumps(seed))
        all_paths = list(paths(obj))
        where = all_paths[int(rng.integers(len(all_paths)))]
        parent = obj
        for k in where[:-1]:
            parent = parent[k]
        if i % 5 == 4 and isinstance(parent, dict):
            del parent[where[-1]]
            kind = f"key {'/'.join(map(str, where))} removed"
        else:
            value = weird[int(rng.integers(len(weird)))]
            parent[where[-1]] = value
            kind = f"{'/'.join(map(str, where))} = {value!r:.30}"
        out.append((kind, dump(obj).encode()))
    return out


WEIRD = [
    None,
    "abc",
    "",
    "1e999",
    [],
    [1.0, 2.0],
    [[1, 2], [3]],
    [[1, 2, 3]] * 3 + [[1, 2, 3]],
    {},
    {"data": "x"},
    {"data": [1, 2]},
    0,
    0.0,
    -1,
    1e300,
    float("inf"),
    float("nan"),
    True,
    10**30,
    -(10**400),
]


def _json(obj: Any) -> str:
    return json.dumps(obj)


def _yaml(obj: Any) -> str:
    return yaml.safe_dump(obj)


# ------------------------------------------------------------------------------ corpora


@dataclass
class Corpus:
    """Seed files of one format, their corrupted variants and the readers that get them.

    ``name``: the file name every variant gets, alone in its own folder (readers given a
    folder find it there); ``readers`` take the path of that file (or its folder).
    """

    label: str
    name: str
    seeds: list[bytes]
    readers: list[Reader]
    extra: list[Mutation] = field(default_factory=list)
    per_seed: int = 12
    mutate: Callable[[np.random.Generator, bytes, int], list[Mutation]] = byte_variants
    #: extra files written next to each variant (name -> content), e.g. the other calib file
    siblings: dict[str, bytes] = field(default_factory=dict)


def _depth_map(h: int = 6, w: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    values = rng.uniform(0.5, 9.0, (h, w)).astype(np.float32)
    values[rng.random((h, w)) < 0.2] = 0
    return values, values > 0


def _written(tmp: Path, name: str, write: Callable[[Path], Any]) -> bytes:
    p = tmp / name
    write(p)
    data = p.read_bytes()
    p.unlink()
    return data


def _on_dir(fn: Callable[[Path], Any]) -> Callable[[Path], Any]:
    return lambda p: fn(p.parent)


def _depth_readers(suffix: str) -> list[Reader]:
    return [
        (f"read_depth {suffix}", dio.read_depth),
        (f"read_depth_stored {suffix}", dio.read_depth_stored),
    ]


KITTI_OBJECT = """P0: 7.215377e+02 0.0 6.095593e+02 0.0 0.0 7.215377e+02 1.728540e+02 0.0 0.0 0.0 1.0 0.0
P1: 7.215377e+02 0.0 6.095593e+02 -3.875744e+02 0.0 7.215377e+02 1.728540e+02 0.0 0.0 0.0 1.0 0.0
P2: 7.215377e+02 0.0 6.095593e+02 4.485728e+01 0.0 7.215377e+02 1.728540e+02 2.163791e-01 0.0 0.0 1.0 2.745884e-03
P3: 7.215377e+02 0.0 6.095593e+02 -3.395242e+02 0.0 7.215377e+02 1.728540e+02 2.199936e+00 0.0 0.0 1.0 2.729905e-03
R0_rect: 9.999239e-01 9.837760e-03 -7.445048e-03 -9.869795e-03 9.999421e-01 -4.278459e-03 7.402527e-03 4.351614e-03 9.999631e-01
Tr_velo_to_cam: 7.533745e-03 -9.999714e-01 -6.166020e-04 -4.069766e-03 1.480249e-02 7.280733e-04 -9.998902e-01 -7.631618e-02 9.998621e-01 7.523790e-03 1.480755e-02 -2.717806e-01
Tr_imu_to_velo: 9.999976e-01 7.553071e-04 -2.035826e-03 -8.086759e-01 -7.854027e-04 9.998898e-01 -1.482298e-02 3.195559e-01 2.024406e-03 1.482454e-02 9.998881e-01 -7.997231e-01
"""
KITTI_ODOMETRY = """P0: 7.188560e+02 0.0 6.071928e+02 0.0 0.0 7.188560e+02 1.852157e+02 0.0 0.0 0.0 1.0 0.0
P1: 7.188560e+02 0.0 6.071928e+02 -3.861448e+02 0.0 7.188560e+02 1.852157e+02 0.0 0.0 0.0 1.0 0.0
P2: 7.188560e+02 0.0 6.071928e+02 4.538225e+01 0.0 7.188560e+02 1.852157e+02 -1.130887e-01 0.0 0.0 1.0 3.779761e-03
P3: 7.188560e+02 0.0 6.071928e+02 -3.372877e+02 0.0 7.188560e+02 1.852157e+02 2.369057e+00 0.0 0.0 1.0 4.915215e-03
Tr: 4.276802e-04 -9.999672e-01 -8.084491e-03 -1.198459e-02 -7.210626e-03 8.081198e-03 -9.999413e-01 -5.403984e-02 9.999738e-01 4.859485e-04 -7.206933e-03 -2.921968e-01
"""


def _raw_cam_to_cam() -> str:
    lines = ["calib_time: 09-Jan-2012 13:57:47", "corner_dist: 9.950000e-02"]
    for i in range(4):
        lines += [
            f"S_0{i}: 1.392000e+03 5.120000e+02",
            f"K_0{i}: 9.842439e+02 0.0 6.900000e+02 0.0 9.808141e+02 2.331966e+02 0.0 0.0 1.0",
            f"D_0{i}: -3.728755e-01 2.037299e-01 2.219027e-03 1.383707e-03 -7.233722e-02",
            f"R_0{i}: 1.0 0.0 0.0 0.0 1.0 0.0 0.0 0.0 1.0",
            f"T_0{i}: 2.573699e-16 -1.059758e-16 1.614870e-16",
            f"S_rect_0{i}: 1.242000e+03 3.750000e+02",
            f"R_rect_0{i}: 1.0 0.0 0.0 0.0 1.0 0.0 0.0 0.0 1.0",
            f"P_rect_0{i}: 7.215377e+02 0.0 6.095593e+02 {-387.5744 * i:.6e} 0.0 7.215377e+02 "
            "1.728540e+02 0.0 0.0 0.0 1.0 0.0",
        ]
    return "\n".join(lines) + "\n"


RAW_VELO_TO_CAM = """calib_time: 15-Mar-2012 11:37:16
R: 7.533745e-03 -9.999714e-01 -6.166020e-04 1.480249e-02 7.280733e-04 -9.998902e-01 9.998621e-01 7.523790e-03 1.480755e-02
T: -4.069766e-03 -7.631618e-02 -2.717806e-01
delta_f: 0.000000e+00 0.000000e+00
delta_c: 0.000000e+00 0.000000e+00
"""
MIDDLEBURY_CALIB = """cam0=[3997.684 0 1176.728; 0 3997.684 1011.728; 0 0 1]
cam1=[3997.684 0 1307.839; 0 3997.684 1011.728; 0 0 1]
doffs=131.111
baseline=193.001
width=2964
height=1988
ndisp=280
"""
POSES = (
    "1.0 0.0 0.0 0.0 0.0 1.0 0.0 0.0 0.0 0.0 1.0 0.0\n"
    "9.999978e-01 5.272628e-04 -2.066935e-03 -4.690294e-02 -5.296506e-04 9.999992e-01 "
    "-1.154865e-03 -2.839928e-02 2.066324e-03 1.155958e-03 9.999971e-01 8.586941e-01\n"
)
CAMERA_MAP = {"fx": 525.0, "fy": 525.0, "cx": 319.5, "cy": 239.5, "baseline": 0.075}
ORB_YAML = """%YAML:1.0
Camera.fx: 718.856
Camera.fy: 718.856
Camera.cx: 607.1928
Camera.cy: 185.2157
Camera.bf: 386.1448
"""
OPENCV_YAML = """%YAML:1.0
---
K: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 525., 0., 319.5, 0., 525., 239.5, 0., 0., 1. ]
"""
CITYSCAPES_CAMERA = {
    "extrinsic": {"baseline": 0.209313, "pitch": 0.038, "roll": 0.0, "x": 1.7, "y": 0.1, "z": 1.2},
    "intrinsic": {"fx": 2262.52, "fy": 2265.3017905988554, "u0": 1096.98, "v0": 513.137},
}


def _synth_camera() -> dict[str, Any]:
    poses = [np.eye(4).tolist() for _ in range(3)]
    poses[2][0][3] = 0.5
    return {
        "K": [[100.0, 0.0, 31.5], [0.0, 100.0, 23.5], [0.0, 0.0, 1.0]],
        "baseline": 0.2,
        "poses": poses,
        "frames": 3,
        "target": 1,
        "kind": "driving",
        "seed": 7,
        "size": [48, 64],
        "unit": "m",
    }


def build_corpora(tmp: Path, rng: np.random.Generator, rounds: int) -> list[Corpus]:
    values, valid = _depth_map()
    f32 = values.astype("<f4").tobytes()
    grey8 = np.round(values * 25).astype(np.uint8)
    grey16 = np.round(values * 1000).astype(np.uint16)
    rgb8 = np.stack([grey8, grey8[::-1], grey8[:, ::-1]], axis=2)

    def w(name: str, fn: Callable[[Path], Any]) -> bytes:
        return _written(tmp, name, fn)

    def per(n: int) -> int:
        return n * rounds

    npy = w("s.npy", lambda p: np.save(p, values))
    png16 = w("s16.png", lambda p: dio.write_depth(p, values, valid, scale=1000))
    png8 = w("s8.png", lambda p: dio.write_depth(p, values, valid, scale=25, bits=8))
    mat5 = w("s5.mat", lambda p: dio.write_depth(p, values, valid))
    mat5u = w("s5u.mat", lambda p: scipy.io.savemat(p, {"depth": values}))
    cell = np.empty((1, 2), object)
    cell[0, 0], cell[0, 1] = np.arange(3.0), "ab"
    mat5cell = w(
        "s5c.mat",
        lambda p: scipy.io.savemat(p, {"depth": values, "c": cell, "s": {"a": 1.0, "b": [1, 2]}}),
    )
    mat4 = w(
        "s4.mat", lambda p: scipy.io.savemat(p, {"depth": values.astype(np.float64)}, format="4")
    )
    mat73 = mat73_file(tmp / "s73.mat", _ds("depth", data=values.T))
    pgm16 = w("s.pgm", lambda p: dio.write_depth(p, values, valid, scale=1000))
    pgm_raw = w("raw.pgm", lambda p: dio.write_pnm(p, (grey16 % 2000).astype(np.uint16), "little"))
    p2 = b"P2\n# ascii\n8 6\n255\n" + " ".join(map(str, grey8.ravel())).encode() + b"\n"
    ppm = w("s.ppm", lambda p: dio.write_image(p, rgb8))
    pfm = w("s.pfm", lambda p: dio.write_pfm(p, values))
    pfm_big = w("b.pfm", lambda p: dio.write_pfm(p, values, little_endian=False))
    pfm_rgb = w("c.pfm", lambda p: dio.write_pfm(p, np.stack([values] * 3, axis=2)))
    dpt = w("s.dpt", lambda p: dio.write_dpt(p, values))
    bmp = w("s.bmp", lambda p: dio.write_image(p, grey8))
    tif = w("s.tif", lambda p: dio.write_image(p, grey16))
    tif_f = w("f.tif", lambda p: Image.fromarray(values).save(p))
    tif_lzw = w("z.tif", lambda p: Image.fromarray(grey16).save(p, compression="tiff_lzw"))
    tif_zip = w(
        "zz.tif", lambda p: Image.fromarray(grey16).save(p, compression="tiff_adobe_deflate")
    )
    npz = w("s.npz", lambda p: dio.write_depth(p, values, valid))
    npz_plain = w("p.npz", lambda p: np.savez(p, depth=values))
    png_rgb = w("c.png", lambda p: dio.write_image(p, rgb8))
    png_rgba = w("a.png", lambda p: dio.write_image(p, np.dstack([rgb8, grey8])))
    jpg = w("c.jpg", lambda p: dio.write_image(p, rgb8))
    velo = w("v.bin", lambda p: dio.write_velodyne(p, rng.normal(0, 10, (20, 4))))
    disp = w("d.png", lambda p: dio.write_depth(p, values, valid, scale=256))

    depth_png = _depth_readers(".png") + [
        ("read_kitti_depth_png", kitti.read_kitti_depth_png),
        ("cityscapes_disparity", cityscapes.cityscapes_disparity),
        ("read_depth sun-rotated", lambda p: dio.read_depth(p, encoding="sun-rotated")),
        ("read_image", dio.read_image),
    ]
    pnm_readers: list[Reader] = [
        ("read_pnm", dio.read_pnm),
        ("read_pgm_raw", dio.read_pgm_raw),
        ("read_image", dio.read_image),
    ]
    bmp_fields = [(2, "<I"), (10, "<I"), (14, "<I"), (18, "<i"), (22, "<i"), (26, "<H")]
    bmp_fields += [(28, "<H"), (30, "<I"), (34, "<I"), (46, "<I")]
    mat5_fields = [(128, "<I"), (132, "<I"), (152, "<I"), (156, "<I"), (160, "<i"), (164, "<i")]
    mat5_fields += [(168, "<I"), (172, "<I")]
    mat4_fields = [(0, "<i"), (4, "<i"), (8, "<i"), (12, "<i"), (16, "<i")]
    # the first IFD's offset and entry count, then the count and value of its first 4 entries
    tif_fields = [(4, "<I"), (8, "<H")] + [
        (10 + 12 * k + o, "<I") for k in range(4) for o in (4, 8)
    ]

    def mat_readers(suffix: str) -> list[Reader]:
        return _depth_readers(suffix) + [
            ("read_mat", dio.read_mat),
            ("read_mat index", lambda p: dio.read_mat(p, key="depth", index=-1)),
        ]

    def cam_readers() -> list[Reader]:
        return [("folder.read_camera", folder.read_camera)]

    def mappings(
        seed: dict[str, Any], dump: Callable[[Any], str], weird: list[Any]
    ) -> list[Mutation]:
        return mapping_variants(rng, seed, dump, per(20), weird)

    weird_yaml = WEIRD + [datetime.date(2020, 1, 1), b"\x00\x01"]
    raw_dir = {"calib_velo_to_cam.txt": RAW_VELO_TO_CAM.encode()}
    raw_dir_c2c = {"calib_cam_to_cam.txt": _raw_cam_to_cam().encode()}
    return [
        Corpus(
            "png 16-bit",
            "d.png",
            [png16, png8, disp],
            depth_png,
            mutate=png_variants,
            extra=png_fields_variants(png16),
        ),
        Corpus(
            "pgm",
            "d.pgm",
            [pgm16, pgm_raw],
            pnm_readers
            + _depth_readers(".pgm")
            + [
                ("read_depth kinect-raw", lambda p: dio.read_depth(p, encoding="kinect-raw")),
            ],
        ),
        Corpus("ascii pgm / ppm", "i.pgm", [p2, ppm], pnm_readers, mutate=text_variants),
        Corpus(
            "bmp",
            "d.bmp",
            [bmp],
            _depth_readers(".bmp") + [("read_image", dio.read_image)],
            extra=fields_variants(bmp_fields, bmp),
        ),
        Corpus(
            "tiff",
            "d.tif",
            [tif, tif_f, tif_lzw, tif_zip],
            _depth_readers(".tif") + [("read_image", dio.read_image)],
            extra=fields_variants(tif_fields, tif),
        ),
        Corpus(
            "pfm",
            "d.pfm",
            [pfm, pfm_big, pfm_rgb],
            [("read_pfm", dio.read_pfm)] + _depth_readers(".pfm"),
            extra=[
                ("pfm header", b"Pf\n8 6\nnan\n" + f32),
                ("pfm header", b"Pf\n8 6\n0\n" + f32),
                ("pfm header", b"Pf\n-8 6\n-1\n" + f32),
                ("pfm header", b"Pf\n99999999 99999999\n-1\n" + f32),
                ("pfm header", b"Pf\n65536 65536\n-1\n" + f32),
                ("pfm header", b"Pf\n0 0\n-1\n"),
                ("pfm header", b"Pf 8 6 -1 " + f32),
                ("pfm header", b"Pf\r\n8 6\r\n-1\r\n" + f32),
                ("pfm header", b"Pf\n8 6\n-1"),
            ],
        ),
        Corpus(
            "dpt",
            "d.dpt",
            [dpt],
            _depth_readers(".dpt") + [("read_dpt", dio.read_dpt)],
            extra=fields_variants([(0, "<f"), (4, "<i"), (8, "<i")], dpt),
        ),
        Corpus("npy", "d.npy", [npy], _depth_readers(".npy"), extra=npy_variants(f32)),
        Corpus(
            "npz", "d.npz", [npz, npz_plain], _depth_readers(".npz"), extra=npz_variants(f32, npy)
        ),
        Corpus(
            "mat v5",
            "d.mat",
            [mat5, mat5u, mat5cell],
            mat_readers(".mat"),
            mutate=mat_variants,
            per_seed=12,
            extra=fields_variants(mat5_fields, mat5u) + mat5_crafted(values),
        ),
        Corpus(
            "mat v4",
            "d.mat",
            [mat4],
            mat_readers(".mat"),
            per_seed=10,
            mutate=mat_variants,
            extra=fields_variants(mat4_fields, mat4),
        ),
        Corpus(
            "mat v7.3", "d.mat", [mat73], mat_readers(".mat"), extra=mat73_variants(tmp, values)
        ),
        Corpus(
            "images",
            "i.png",
            [png_rgb, png_rgba],
            [("read_image", dio.read_image)],
            mutate=png_variants,
        ),
        Corpus("jpeg", "i.jpg", [jpg], [("read_image", dio.read_image)]),
        Corpus("velodyne", "v.bin", [velo], [("read_velodyne", dio.read_velodyne)], per_seed=10),
        Corpus(
            "calib text",
            "calib.txt",
            [KITTI_OBJECT.encode(), MIDDLEBURY_CALIB.encode()],
            [
                ("read_calib_txt", dio.read_calib_txt),
                ("read_object_calib", kitti.read_object_calib),
            ],
            mutate=text_variants,
        ),
        Corpus(
            "odometry calib",
            "calib.txt",
            [KITTI_ODOMETRY.encode()],
            [
                ("read_odometry_calib", kitti.read_odometry_calib),
            ],
            mutate=text_variants,
        ),
        Corpus(
            "raw cam_to_cam",
            "calib_cam_to_cam.txt",
            [_raw_cam_to_cam().encode()],
            [("read_raw_calib", _on_dir(kitti.read_raw_calib))],
            siblings=raw_dir,
            mutate=text_variants,
            extra=line_variants(
                _raw_cam_to_cam(),
                "S_rect_02",
                ["1e999 375", "1242 -1e400", "0 0", "-5 375", "1e308 1e308", "1242", "nan nan"],
            ),
        ),
        Corpus(
            "raw velo_to_cam",
            "calib_velo_to_cam.txt",
            [RAW_VELO_TO_CAM.encode()],
            [("read_raw_calib", _on_dir(kitti.read_raw_calib))],
            siblings=raw_dir_c2c,
            mutate=text_variants,
        ),
        Corpus(
            "kitti poses",
            "poses.txt",
            [POSES.encode()],
            [("read_kitti_poses", kitti.read_kitti_poses)],
            mutate=text_variants,
        ),
        Corpus(
            "camera txt",
            "intrinsics.txt",
            [b"525 0 319.5\n0 525 239.5\n0 0 1\n", b"525 525 319.5 239.5\n"],
            cam_readers(),
            per_seed=10,
            mutate=text_variants,
        ),
        Corpus(
            "camera yaml",
            "intrinsics.yaml",
            [_yaml(CAMERA_MAP).encode(), ORB_YAML.encode(), OPENCV_YAML.encode()],
            cam_readers(),
            per_seed=10,
            extra=mappings(CAMERA_MAP, _yaml, weird_yaml),
            mutate=text_variants,
        ),
        Corpus(
            "camera json",
            "intrinsics.json",
            [_json({"K": [[525, 0, 319.5], [0, 525, 239.5], [0, 0, 1]]}).encode()],
            cam_readers(),
            per_seed=10,
            extra=mappings(
                {"K": [[525, 0, 319.5], [0, 525, 239.5], [0, 0, 1]], "bf": 40.0}, _json, WEIRD
            )
            + [
                (
                    f"fx = {fx} with bf",
                    _json({"K": [[fx, 0, 1], [0, 5, 1], [0, 0, 1]], "bf": 4}).encode(),
                )
                for fx in (0, -0.0, -1, float("nan"))
            ],
            mutate=text_variants,
        ),
        Corpus(
            "cityscapes camera",
            "camera.json",
            [_json(CITYSCAPES_CAMERA).encode()],
            cam_readers(),
            per_seed=10,
            extra=mappings(CITYSCAPES_CAMERA, _json, WEIRD),
            mutate=text_variants,
        ),
        Corpus(
            "synth camera",
            "camera.json",
            [_json(_synth_camera()).encode()],
            [("synth_folder.read_camera", _on_dir(synth_folder.read_camera))],
            per_seed=10,
            extra=mappings(_synth_camera(), _json, WEIRD),
            mutate=text_variants,
        ),
    ]


# ------------------------------------------------------------------------------ running readers


class _Hang(BaseException):
    """Raised by the alarm when a reader runs past :data:`HANG_S` (not an ``Exception``, so no
    reader's ``except Exception`` can swallow it)."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise _Hang

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _vm_size() -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmSize:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) * 1024 if m else None


@contextlib.contextmanager
def _memory_cap(extra: int) -> Iterator[None]:
    """Limit the address space to its current size + ``extra`` (Linux), so that a reader that
    allocates what a tiny file declares fails with MemoryError instead of exhausting RAM."""
    try:
        import resource
    except ImportError:
        yield
        return
    vm = _vm_size()
    if vm is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm + extra if hard == resource.RLIM_INFINITY else min(vm + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _chain(e: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def check_reader(read: Callable[[Path], Any], arg: Path, shown: Path) -> str | None:
    """None when ``read(arg)`` returns or raises a one-line UserError naming ``shown``; else
    what went wrong."""
    try:
        with _deadline(HANG_S):
            read(arg)
    except _Hang:
        return f"no answer within {HANG_S} s"
    except UserError as e:
        msg = str(e)
        if any(isinstance(x, MemoryError) for x in _chain(e)):
            return f"MemoryError behind the message: {msg[:200]}"
        if len(msg.splitlines()) != 1:
            return f"message of {len(msg.splitlines())} lines: {msg[:300]!r}"
        if str(shown) not in msg:
            return f"message does not name the file: {msg[:300]}"
    except Exception as e:
        first = (str(e).splitlines() or [""])[0][:200]
        return f"{type(e).__module__}.{type(e).__name__}: {first}"
    return None


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", label)


def run_fuzz(tmp: Path, rounds: int) -> tuple[int, int, int, list[str]]:
    rng = np.random.default_rng([SEED, rounds])
    seeds_dir = tmp / "seeds"
    seeds_dir.mkdir()
    corpora = build_corpora(seeds_dir, rng, rounds)
    # every seed must be read by its corpus' first reader (this checks the seeds and imports the
    # lazily imported libraries before the address space is capped)
    for c in corpora:
        for j, s in enumerate(c.seeds):
            d = tmp / f"seed-{_slug(c.label)}-{j}"
            d.mkdir()
            (d / c.name).write_bytes(s)
            for sib, content in c.siblings.items():
                (d / sib).write_bytes(content)
            c.readers[0][1](d / c.name)
    failures: list[str] = []
    files = calls = 0
    readers: set[str] = set()  # reader functions ("read_depth .png" counts as read_depth)
    with warnings.catch_warnings(), _memory_cap(MEMORY_CAP):
        warnings.simplefilter("ignore")
        for c in corpora:
            variants: list[Mutation] = [("empty file", b"")] + [("seed", s) for s in c.seeds]
            for s in c.seeds:
                variants += c.mutate(rng, s, c.per_seed * rounds)
            variants += c.extra
            for i, (kind, data) in enumerate(variants):
                d = tmp / f"{_slug(c.label)}-{i:04d}"
                d.mkdir()
                path = d / c.name
                path.write_bytes(data)
                for sib, content in c.siblings.items():
                    (d / sib).write_bytes(content)
                files += 1
                for rname, read in c.readers:
                    readers.add(rname.split()[0])
                    calls += 1
                    problem = check_reader(read, path, path)
                    if problem is not None:
                        failures.append(f"{rname} <- {c.label} #{i} ({kind}): {problem}")
    return files, len(readers), calls, failures


def _fuzz(tmp_path: Path, rounds: int, summary_line) -> None:
    t0 = time.perf_counter()
    files, n_readers, calls, failures = run_fuzz(tmp_path, rounds)
    dt = time.perf_counter() - t0
    summary_line(
        f"fuzzed {files} files over {n_readers} readers ({calls} reads, {dt:.1f} s): "
        f"{len(failures)} crashes"
    )
    for f in failures:
        print("  " + f)
    assert not failures, f"{len(failures)} of {calls} reads broke the contract:\n" + "\n".join(
        failures[:60]
    )


def test_fuzz_readers(tmp_path: Path, summary_line) -> None:
    _fuzz(tmp_path, rounds=1, summary_line=summary_line)


@pytest.mark.slow
def test_fuzz_readers_large(tmp_path: Path, summary_line) -> None:
    _fuzz(tmp_path, rounds=5, summary_line=summary_line)
