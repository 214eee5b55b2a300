"""Camera calibration text files: KITTI ``key: values`` and Middlebury ``key=[matrix]`` styles."""

from __future__ import annotations

import re

import numpy as np

from depthduet.io.common import PathLike, file_error, read_bytes

_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _parse_numbers(text: str) -> np.ndarray | None:
    """``"1 2 3"`` -> (3,), ``"[1 0; 0 1]"`` -> (2, 2); None if not all numeric."""
    t = text.strip()
    bracket = t.startswith("[") and t.endswith("]")
    if bracket:
        t = t[1:-1]
    rows = [r for r in t.split(";")] if bracket else [t]
    parsed: list[list[float]] = []
    for r in rows:
        toks = r.replace(",", " ").split()
        if not toks or not all(_NUM.match(x) for x in toks):
            return None
        parsed.append([float(x) for x in toks])
    if bracket and len(parsed) > 1:
        if len({len(r) for r in parsed}) != 1:
            return None
        return np.array(parsed, np.float64)
    return np.array(parsed[0], np.float64)


def read_calib_txt(path: PathLike) -> dict[str, np.ndarray]:
    """Read a calibration text file into ``{key: float64 array}``.

    Understands KITTI style ``"P2: v v v ..."`` (flat arrays; reshape e.g. P2 to (3, 4)) and
    Middlebury style ``"cam0=[f 0 cx; 0 f cy; 0 0 1]"`` / ``"baseline=193.001"`` (``;`` starts a
    new row). Lines whose value is not numeric (``calib_time: 09-Jan-2012 ...``), blank lines
    and ``#`` / ``%`` comments are skipped.

    Returns:
        ``{key: (n,) or (r, c) float64}``; scalars have shape ``(1,)``.
    """
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise file_error(path, "not a text file (cannot decode as UTF-8)") from e
    out: dict[str, np.ndarray] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        m = re.match(r"^([A-Za-z_][\w.\-]*)\s*[:=]\s*(.*)$", s)
        if m is None:
            continue
        vals = _parse_numbers(m.group(2))
        if vals is not None:
            out[m.group(1)] = vals
    if not out:
        raise file_error(path, "no numeric 'key: values' or 'key=values' entries found")
    return out
