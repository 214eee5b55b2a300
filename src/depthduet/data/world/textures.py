"""Procedural, band-limited surface textures and Lambertian shading.

Textures are functions of a surface's own 2-D coordinates ``(u, v)`` in metres, so they are
fixed on the objects and every view of the world agrees (the photometric constancy that
self-supervised depth relies on). Each pattern is antialiased analytically from the pixel
footprint ``f`` (metres per pixel at the hit point): sinusoids of frequency ``k`` are damped by
the Gaussian factor ``exp(-2 pi^2 k^2 s^2)`` with ``s = f / 2``, and the edges of square waves
get a linear ramp at least one footprint wide. Shading is view independent:
``albedo * (ambient * (0.8 + 0.2 up.n) + sun * max(0, n.l))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PATTERNS", "Material", "albedo", "shade", "sky_colour"]

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
        lines: for ``road``: lateral positions (metres) of lane lines; negative = dashed.
    """

    pattern: str = "plain"
    c1: np.ndarray = field(default_factory=lambda: np.full(3, 0.6))
    c2: np.ndarray = field(default_factory=lambda: np.full(3, 0.3))
    period: float = 1.0
    angle: float = 0.0
    grain: float = 0.05
    phases: np.ndarray = field(default_factory=lambda: np.zeros((4, 2)))
    lines: tuple[float, ...] = ()

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


def _damp(k: float, foot: np.ndarray) -> np.ndarray:
    """Gaussian prefilter gain of a sinusoid of ``k`` cycles/metre at footprint ``foot``."""
    s = 0.5 * foot
    return np.exp(-2.0 * (np.pi * k) ** 2 * s * s)


def _noise(uv: np.ndarray, period: float, phases: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """Band-limited noise in about [-1, 1]: four octaves of oriented cosines."""
    out = np.zeros(len(uv), np.float32)
    norm = 0.0
    for i in range(len(phases)):
        k = (2.0**i) / period * (1.0 + 0.37 * i)
        th = phases[i, 0]
        amp = 0.55**i
        proj = uv[:, 0] * np.cos(th) + uv[:, 1] * np.sin(th)
        out += amp * _damp(k, foot) * np.cos(2 * np.pi * k * proj + phases[i, 1])
        norm += amp
    return out / norm


def _square(x: np.ndarray, period: float, foot: np.ndarray, duty: float = 0.5) -> np.ndarray:
    """Antialiased square wave in [0, 1]: 1 on the first ``duty`` of each period.

    The edges are linear ramps of half-width ``max(0.004 m, 0.7 foot)``; when that exceeds the
    feature size the wave fades to its mean ``duty``.
    """
    w = np.maximum(0.004, 0.7 * foot)
    f = np.mod(x, period)
    a, b = duty * period, period
    # signed distance (metres) inside the "on" interval [0, a) of the periodic wave
    d = np.minimum(f, a - f)
    d = np.where(f < a, d, -np.minimum(f - a, b - f))
    s = np.clip(0.5 + d / (2 * w), 0.0, 1.0)
    fade = np.clip(2.0 * w / (duty * period), 0.0, 1.0) ** 2
    return s * (1 - fade) + duty * fade


def _box(x: np.ndarray, lo: float, hi: float, foot: np.ndarray) -> np.ndarray:
    """Antialiased indicator of ``lo <= x <= hi`` (non-periodic)."""
    w = np.maximum(0.004, 0.7 * foot)
    d = np.minimum(x - lo, hi - x)
    return np.clip(0.5 + d / (2 * w), 0.0, 1.0)


def albedo(mat: Material, uv: np.ndarray, foot: np.ndarray) -> np.ndarray:
    """Surface colour ``(n, 3)`` in [0, 1] at texture coordinates ``uv`` ``(n, 2)`` (metres).

    Args:
        mat: the material.
        uv: surface coordinates in metres.
        foot: ``(n,)`` pixel footprint in metres (antialiasing width); use zeros for none.
    """
    uv = uv.astype(np.float32, copy=False)
    if mat.angle:
        c, s = np.cos(mat.angle), np.sin(mat.angle)
        uv = np.stack([c * uv[:, 0] - s * uv[:, 1], s * uv[:, 0] + c * uv[:, 1]], 1)
    u, v = uv[:, 0], uv[:, 1]
    P = mat.period
    pat = mat.pattern
    if pat == "plain":
        m = np.zeros(len(uv), np.float32)
    elif pat == "noise":
        m = 0.5 + 0.5 * _noise(uv, P, mat.phases, foot)
    elif pat == "leaves":
        m = np.clip(0.5 + 0.9 * _noise(uv, P, mat.phases, foot), 0, 1)
    elif pat == "checker":
        a, b = _square(u, P, foot), _square(v, P, foot)
        m = a + b - 2 * a * b  # soft XOR
    elif pat == "stripes":
        m = _square(u, P, foot, duty=0.35)
    elif pat == "bricks":
        bh = 0.5 * P  # brick height, P = brick length
        row = np.floor(v / bh)
        shift = np.where(np.mod(row, 2) == 0, 0.0, 0.5 * P)
        mortar = 0.012
        in_v = _square(v - mortar, bh, foot, duty=1 - 2 * mortar / bh)
        in_u = _square(u + shift - mortar, P, foot, duty=1 - 2 * mortar / P)
        m = 1.0 - in_u * in_v  # 1 on mortar
    elif pat == "windows":
        # window panes (c2) on a wall (c1): P = window spacing, windows 45% wide, 55% high
        wu = _square(u - 0.25 * P, P, foot, duty=0.45)
        wv = _square(v - 0.2 * P, P, foot, duty=0.55)
        m = wu * wv
    elif pat == "road":
        m = np.zeros(len(uv), np.float32)
        for x0 in mat.lines:
            line = _box(u, abs(x0) - 0.075, abs(x0) + 0.075, foot)
            if x0 < 0:
                line = line * _square(v, 9.0, foot, duty=0.33)
            m = np.maximum(m, line)
    else:  # pragma: no cover - guarded in Material
        raise ValueError(pat)
    col = mat.c1[None, :] * (1 - m[:, None]) + mat.c2[None, :] * m[:, None]
    if mat.grain:
        g = _noise(uv, 0.37 if pat != "road" else 0.21, mat.phases[::-1], foot)
        col = col * (1.0 + mat.grain * g[:, None])
    return col


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
    ndl = np.maximum(normal @ sun.astype(np.float32), 0.0)
    amb = ambient * (0.8 - 0.2 * normal[:, 1])
    return alb * (amb + sun_gain * ndl)[:, None]


def sky_colour(dirs: np.ndarray, horizon: np.ndarray, zenith: np.ndarray) -> np.ndarray:
    """Sky colour ``(n, 3)`` of world ray directions ``(n, 3)`` (a function of elevation only)."""
    d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    e = np.clip(-d[:, 1] / 0.45, 0.0, 1.0)[:, None]
    e = e * e * (3 - 2 * e)
    return horizon[None] * (1 - e) + zenith[None] * e
