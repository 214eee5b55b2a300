"""Procedural, band-limited surface textures and Lambertian shading.

Textures are functions of a surface's own 2-D coordinates ``(u, v)`` in metres, so they are
fixed on the objects and every view of the world agrees (the photometric constancy that
self-supervised depth relies on). Each pattern is antialiased analytically from the pixel
footprint ``f`` (metres per pixel at the hit point): sinusoids of frequency ``k`` are damped by
the Gaussian factor ``exp(-2 pi^2 k^2 s^2)`` with ``s = 0.7 f``, and the edges of square waves
get a linear ramp at least one footprint wide. Shading is view independent:
``albedo * (ambient * (0.8 + 0.2 up.n) + sun * max(0, n.l))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PATTERNS",
    "Material",
    "MaterialTable",
    "albedo",
    "albedo_planar",
    "at_least",
    "at_most",
    "shade",
    "shade_planar",
    "sky_colour",
    "sky_colour_cols",
]

#: pattern names understood by :func:`albedo`.
PATTERNS: tuple[str, ...] = (
    "plain",
    "noise",
    "checker",
    "stripes",
    "bricks",
    "windows",
    "road",
    "leaves",
)


@dataclass
class Material:
    """A surface appearance.

    Attributes:
        pattern: one of :data:`PATTERNS`.
        c1, c2: RGB colours in [0, 1] mixed by the pattern.
        period: pattern period in metres.
        angle: rotation of the texture coordinates, radians.
        grain: amplitude of the fine multiplicative noise added to every pattern (0 = none).
        phases: random phases / directions of the noise octaves (set from the scene seed).
        lines: for ``road``: lane lines as ``(u position in metres, dashed)`` pairs.
    """

    pattern: str = "plain"
    c1: np.ndarray = field(default_factory=lambda: np.full(3, 0.6))
    c2: np.ndarray = field(default_factory=lambda: np.full(3, 0.3))
    period: float = 1.0
    angle: float = 0.0
    grain: float = 0.05
    phases: np.ndarray = field(default_factory=lambda: np.zeros((4, 2)))
    lines: tuple[tuple[float, bool], ...] = ()

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise ValueError(f"material pattern {self.pattern!r}: expected one of {PATTERNS}")
        self.c1 = np.asarray(self.c1, np.float32)
        self.c2 = np.asarray(self.c2, np.float32)

    @classmethod
    def random(cls, rng: np.random.Generator, pattern: str, c1, c2=None, **kw) -> Material:
        """A material with random noise phases / directions from ``rng``."""
        c2 = np.asarray(c1) * 0.6 if c2 is None else c2
        return cls(pattern, c1, c2, phases=rng.uniform(0, 2 * np.pi, (4, 2)), **kw)


class MaterialTable:
    """Materials as arrays (one row per material) for texturing many points at once."""

    def __init__(self, mats: list[Material]) -> None:
        self.mats = mats
        self.pattern = np.array([PATTERNS.index(m.pattern) for m in mats], np.int64)
        self.c1 = np.array([m.c1 for m in mats], np.float32).reshape(-1, 3)
        self.c2 = np.array([m.c2 for m in mats], np.float32).reshape(-1, 3)
        # channel-major copies ``(3, M)`` for gathering planar colours
        self.c1t, self.c2t = np.ascontiguousarray(self.c1.T), np.ascontiguousarray(self.c2.T)
        self.period = np.array([m.period for m in mats], np.float32)
        self.angle = np.array([m.angle for m in mats], np.float32)
        self.grain = np.array([m.grain for m in mats], np.float32)
        ph = np.array([m.phases for m in mats], np.float32).reshape(-1, 4, 2)
        # octave orientations (cos, sin) and phases; the grain noise uses them reversed
        self.ct, self.st, self.phi = np.cos(ph[..., 0]), np.sin(ph[..., 0]), ph[..., 1]
        self.gct, self.gst, self.gphi = (
            np.cos(ph[:, ::-1, 1]),
            np.sin(ph[:, ::-1, 1]),
            ph[:, ::-1, 0],
        )


#: Gaussian prefilter width in pixel footprints (0.7: 9% of the contrast left at Nyquist)
_SIGMA = 0.7


def _damp(k: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """Gaussian prefilter gain of a sinusoid of ``k`` cycles/metre at footprint ``foot``."""
    ks = k * foot
    return np.exp(np.float32(-2.0 * (np.pi * _SIGMA) ** 2) * (ks * ks))


def _octave_k(i: int, period):
    """Frequency (cycles / metre) of noise octave ``i`` for base ``period`` (scalar or ``(n,)``)."""
    return np.float32((2.0**i) * (1.0 + 0.37 * i)) / period


def _noise(
    u: np.ndarray,
    v: np.ndarray,
    period,
    ct: np.ndarray,
    st: np.ndarray,
    phi: np.ndarray,
    foot: np.ndarray,
    octaves: int = 4,
    damps: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Band-limited noise in about [-1, 1]: octaves of oriented cosines.

    Args:
        u, v: ``(n,)`` coordinates (metres).
        period: base period in metres, scalar or ``(n,)``.
        ct, st, phi: ``(4,)`` or ``(n, 4)`` orientation cosine / sine and phase of each octave.
        foot: ``(n,)`` pixel footprint (metres).
        damps: the prefilter gains ``_damp(_octave_k(i, period), foot)`` of the octaves if
            already known (noises of one period and footprint share them).
    """
    out = None
    norm = 0.0
    for i in range(octaves):
        k = _octave_k(i, period)
        amp = 0.55**i
        proj = u * ct[..., i] + v * st[..., i]
        d = _damp(k, foot) if damps is None else damps[i]
        if amp != 1.0:  # (1.0 * d == d exactly)
            d = amp * d
        term = d * np.cos(np.float32(2 * np.pi) * k * proj + phi[..., i])
        if out is None:  # the sum starts at the first octave (0 + x == x but for the sign of 0)
            out = term
        else:
            out += term
        norm += amp
    if out is None:
        return np.zeros(len(u), np.float32)
    out /= np.float32(norm)
    return out


_INF32 = np.float32(np.inf)
#: above this many elements np.clip beats np.maximum / np.minimum with a scalar
_CLIP_MIN_SIZE = 4096


def at_least(x: np.ndarray, lo: np.float32) -> np.ndarray:
    """``np.maximum(x, lo)`` for float32 ``x`` and a float32 scalar ``lo``, exactly.

    On large arrays ``np.clip(x, lo, inf)`` (same values, NaN included) is several times faster
    in NumPy 2; on small ones its Python wrapper costs more than it saves.
    """
    return np.clip(x, lo, _INF32) if x.size > _CLIP_MIN_SIZE else np.maximum(x, lo)


def at_most(x: np.ndarray, hi: np.float32) -> np.ndarray:
    """``np.minimum(x, hi)`` for float32 ``x`` and a float32 scalar ``hi``, exactly."""
    return np.clip(x, -_INF32, hi) if x.size > _CLIP_MIN_SIZE else np.minimum(x, hi)


def _ramp2(foot: np.ndarray) -> np.ndarray:
    """Ramp width of :func:`_square`: ``max(0.008 m, 1.4 foot)``."""
    return at_least(np.float32(1.4) * foot, np.float32(0.008))


def _square(x: np.ndarray, period, foot: np.ndarray, duty=0.5, w2=None) -> np.ndarray:
    """Antialiased square wave in [0, 1]: 1 on the first ``duty`` of each period.

    The edges are linear ramps of half-width ``max(0.004 m, 0.7 foot)``; when that exceeds the
    feature size the wave fades to its mean ``duty``. ``period`` / ``duty`` may be arrays.
    ``w2``: :func:`_ramp2` of ``foot`` if already computed.
    """
    if w2 is None:
        w2 = _ramp2(foot)  # ramp width
    a = duty * period
    g = x - 0.5 * a  # position relative to the middle of the nearest "on" interval
    g = g - period * np.round(g / period)
    d = 0.5 * a - np.abs(g)  # signed distance to the nearest edge, > 0 inside
    s = np.clip(0.5 + d / w2, 0.0, 1.0)
    fade = at_most(w2 / a, np.float32(1.0)) ** 2
    return s + fade * (duty - s)


def _box(x: np.ndarray, lo: float, hi: float, foot: np.ndarray, w2=None) -> np.ndarray:
    """Antialiased indicator of ``lo <= x <= hi`` (non-periodic); ``w2``: twice the ramp
    half-width, ``2 max(0.004 m, 0.7 foot)``, if already computed."""
    if w2 is None:
        w2 = 2 * at_least(np.float32(0.7) * foot, np.float32(0.004))
    d = np.minimum(x - lo, hi - x)
    return np.clip(0.5 + d / w2, 0.0, 1.0)


def _pattern(
    pat: str, u: np.ndarray, v: np.ndarray, P, T: MaterialTable, ms, foot: np.ndarray, lines=()
) -> np.ndarray:
    """Mixing weight in [0, 1] (0 = ``c1``, 1 = ``c2``) of one pattern at points ``(u, v)``.

    ``ms`` is the material (int) or the material of each point ``(n,)``; ``P`` its period.
    """
    if pat == "plain":
        return np.zeros(len(u), np.float32)
    if pat == "noise":
        return 0.5 + 0.5 * _noise(u, v, P, T.ct[ms], T.st[ms], T.phi[ms], foot)
    if pat == "leaves":  # two crossed noises: blobs rather than stripes
        damps = [_damp(_octave_k(i, P), foot) for i in range(4)]
        a = _noise(u, v, P, T.ct[ms], T.st[ms], T.phi[ms], foot, damps=damps)
        b = _noise(u, v, P, T.st[ms], -T.ct[ms], T.phi[ms] + 1.0, foot, damps=damps)
        return np.clip(0.5 + 1.2 * a * b + 0.3 * (a + b), 0, 1)
    w2 = _ramp2(foot)  # shared by the square waves below
    if pat == "checker":
        a, b = _square(u, P, foot, w2=w2), _square(v, P, foot, w2=w2)
        return a + b - 2 * a * b  # soft XOR
    if pat == "stripes":
        return _square(u, P, foot, duty=0.35, w2=w2)
    if pat == "bricks":  # P = brick length, bricks half as high, offset every other row
        bh = 0.5 * P
        row = np.floor(v / bh)
        shift = (row - 2 * np.floor(row / 2)) * 0.5 * P
        mortar = 0.012
        in_v = _square(v - mortar, bh, foot, duty=1 - 2 * mortar / bh, w2=w2)
        in_u = _square(u + shift - mortar, P, foot, duty=1 - 2 * mortar / P, w2=w2)
        return 1.0 - in_u * in_v  # 1 on mortar
    if pat == "windows":  # panes (c2) on a wall (c1): P = spacing, panes 45% wide, 55% high
        return _square(u - 0.25 * P, P, foot, duty=0.45, w2=w2) * _square(
            v - 0.2 * P, P, foot, duty=0.55, w2=w2
        )
    if pat == "road":  # 15 cm lane lines at u = x0 (dashed: 3 m of every 9 m)
        m = np.zeros(len(u), np.float32)
        wb = 2 * at_least(np.float32(0.7) * foot, np.float32(0.004))
        for x0, dashed in lines:
            line = _box(u, x0 - 0.075, x0 + 0.075, foot, w2=wb)
            if dashed:
                line = line * _square(v, 9.0, foot, duty=0.33, w2=w2)
            m = np.maximum(m, line)
        return m
    raise ValueError(pat)  # pragma: no cover - guarded in Material


def albedo(table: MaterialTable, mid, uv: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """Surface colours ``(n, 3)`` in [0, 1].

    Args:
        table: the scene's materials.
        mid: material of each point ``(n,)``, or one ``int`` for all.
        uv: ``(n, 2)`` surface coordinates in metres.
        foot: ``(n,)`` pixel footprint in metres (antialiasing width; zeros for none).
    """
    uv = uv.astype(np.float32, copy=False)
    u, v = np.ascontiguousarray(uv[:, 0]), np.ascontiguousarray(uv[:, 1])
    out = np.empty((3, len(uv)), np.float32)
    albedo_planar(table, mid, u, v, foot.astype(np.float32, copy=False), out)
    return np.ascontiguousarray(out.T)


def albedo_planar(
    table: MaterialTable, mid, u: np.ndarray, v: np.ndarray, foot: np.ndarray, out: np.ndarray
) -> None:
    """:func:`albedo` on float32 coordinate columns ``u``, ``v``, ``foot`` ``(n,)``, written
    channel-major into ``out`` ``(3, n)`` float32 (rows C-contiguous).

    Colours are kept as three planes because NumPy broadcasts ``(n, 1) x (3,)`` products of the
    ``(n, 3)`` layout with a length-3 inner loop, an order of magnitude slower.
    """
    if np.ndim(mid) == 0:
        _albedo(table, int(mid), u, v, foot, out)
        return
    pats = table.pattern[mid]
    for code in np.unique(pats):
        if PATTERNS[code] == "road":  # lane lines differ per material
            groups = [np.flatnonzero(mid == m) for m in np.unique(mid[pats == code])]
        else:
            groups = [np.flatnonzero(pats == code)]
        for sel in groups:
            ms = mid[sel]
            res = np.empty((3, len(sel)), np.float32)
            m = int(ms[0]) if PATTERNS[code] == "road" else ms
            _albedo(table, m, u[sel], v[sel], foot[sel], res)
            out[:, sel] = res


def _albedo(
    T: MaterialTable, ms, u: np.ndarray, v: np.ndarray, foot: np.ndarray, out: np.ndarray
) -> None:
    """:func:`albedo` of points sharing one pattern (``ms``: int or ``(n,)``) into ``out``
    ``(3, n)``."""
    one = np.ndim(ms) == 0
    pat = PATTERNS[int(T.pattern[ms if one else ms[0]])]
    ang = T.angle[ms]
    if np.any(ang):
        c, s = np.cos(ang), np.sin(ang)
        u, v = c * u - s * v, s * u + c * v
    lines = T.mats[ms].lines if one else ()
    col = T.c1[ms][:, None] if one else T.c1t[:, ms]  # (3, 1) or (3, n)
    gr = T.grain[ms]
    grain = bool(np.any(gr))
    if grain:
        gp = np.float32(0.21 if pat == "road" else 0.37)
        g = _noise(u, v, gp, T.gct[ms], T.gst[ms], T.gphi[ms], foot, octaves=2)
        g = 1.0 + gr * g
    if pat != "plain":
        m = _pattern(pat, u, v, T.period[ms], T, ms, foot, lines)
        np.multiply(col, 1 - m, out=out)
        out += (T.c2[ms][:, None] if one else T.c2t[:, ms]) * m
        if grain:
            out *= g
    elif grain:
        np.multiply(col, g, out=out)
    else:
        out[...] = col


def shade(
    alb: np.ndarray, normal: np.ndarray, sun: np.ndarray, ambient: float, sun_gain: float
) -> np.ndarray:
    """Lambertian colour ``(n, 3)``: ``alb * (ambient (0.8 + 0.2 up.n) + sun_gain max(0, n.sun))``.

    Args:
        alb: ``(n, 3)`` albedo.
        normal: ``(n, 3)`` unit normals (world, y down).
        sun: ``(3,)`` unit direction towards the light.
        ambient, sun_gain: light intensities.
    """
    ndl = normal @ sun.astype(np.float32)
    return shade_planar(np.ascontiguousarray(alb.T), normal[:, 1], ndl, ambient, sun_gain)


def shade_planar(
    alb: np.ndarray, ny: np.ndarray, ndl: np.ndarray, ambient: float, sun_gain: float
) -> np.ndarray:
    """:func:`shade` of channel-major albedo ``(3, n)`` given the normals' ``y`` components
    ``ny`` ``(n,)`` and ``n . sun`` ``(n,)``; returns ``(n, 3)`` float32."""
    ndl = at_least(ndl, np.float32(0.0))  # max(n.l, 0)
    amb = ambient * (0.8 - 0.2 * ny)
    light = amb + sun_gain * ndl
    out = np.empty((alb.shape[1], 3), np.result_type(alb, light))
    for c in range(3):
        np.multiply(alb[c], light, out=out[:, c])
    return out


def sky_colour(dirs: np.ndarray, horizon: np.ndarray, zenith: np.ndarray) -> np.ndarray:
    """Sky colour ``(n, 3)`` of world ray directions ``(n, 3)`` (a function of elevation only)."""
    return sky_colour_cols(dirs[:, 0], dirs[:, 1], dirs[:, 2], horizon, zenith)


def sky_colour_cols(
    dx: np.ndarray,
    dy: np.ndarray,
    dz: np.ndarray,
    horizon: np.ndarray,
    zenith: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`sky_colour` of direction columns ``(n,)`` each.

    The length is summed as ``(dx^2 + dy^2) + dz^2``, the order in which
    ``np.linalg.norm(dirs, axis=1)`` adds an ``(n, 3)`` array (checked by the tests), without
    its length-3 inner loops. ``out``: an ``(n, 3)`` array to write the colours to (a float32
    one receives them rounded from the float64 result).
    """
    d1 = dy / np.sqrt((dx * dx + dy * dy) + dz * dz)
    e = np.clip(-d1 / 0.45, 0.0, 1.0)
    e = e * e * (3 - 2 * e)
    h, z = np.asarray(horizon), np.asarray(zenith)
    if out is None:
        out = np.empty((len(e), 3), np.result_type(h, z, e))
    ie = 1 - e
    for c in range(3):  # channel by channel (see albedo_planar)
        out[:, c] = h[c : c + 1] * ie + z[c : c + 1] * e
    return out
