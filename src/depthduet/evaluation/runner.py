"""Evaluate sets of predictions (files, interpolation baselines, a model) under one protocol.

This is what ``depthduet evaluate`` runs: :func:`run_evaluation` takes an
:class:`EvaluateSettings`, reads every ground-truth map once, evaluates each *row* on it
(the user's prediction files, the ``bicubic`` / ``nearest`` baselines of the DSR protocols,
a DSR / monocular model) and returns a JSON-friendly report; :func:`format_table` prints it.
The rows of a model come from ``depthduet.apps.evaluate``, which runs the models (this layer
holds no inference).
Every row records the protocol, crop, caps, median scaling, number of images and, for the DSR
protocols, how the LR input was made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.errors import UserError
from depthduet.evaluation.baselines import (
    DEGRADATIONS,
    UPSAMPLERS,
    degradation_record,
    downsample_depth,
    lr_size_mismatch,
    upsample_depth,
)
from depthduet.evaluation.predictions import MapSet, match_sets, open_set
from depthduet.evaluation.protocols import (
    ImageResult,
    Protocol,
    evaluate_image,
    get_protocol,
    summarize,
)

__all__ = [
    "EvaluateSettings",
    "ModelRows",
    "Row",
    "format_table",
    "lr_provider",
    "resolve_settings",
    "run_evaluation",
]

#: warn when more than this fraction of an image's valid ground truth lies outside the caps.
CAPS_WARN_FRACTION = 0.5


@dataclass
class EvaluateSettings:
    """Everything ``depthduet evaluate`` needs (also written as YAML next to the JSON).

    Attributes:
        protocol: protocol name (``depthduet.evaluation.protocols.PROTOCOLS``).
        gt: ground-truth folder / stack / file.
        pred: prediction folder / stack / file (``None``: only baselines / model rows).
        name: label of the prediction row (default: the prediction path's name).
        median_scaling: per-image median scaling of every row (never implied).
        allow_resize: resize predictions of another size to the ground truth (bilinear).
        unit: unit of the values after scaling (``m``/``cm``/``mm`` for metric protocols).
        gt_scale, pred_scale: stored units per unit (KITTI PNG 256, mm PNG 1000...).
        gt_key, pred_key: array names inside ``.npz`` / ``.mat`` files.
        recursive: search sub-folders (names are relative paths without suffix).
        allow_pickle: accept object-array ``.npy`` / ``.npz`` (monodepth2's ``gt_depths.npz``);
            trusted files only.
        pred_inverse: the prediction files hold inverse depth (monodepth2's ``pred_disps.npy``):
            resized to the ground truth, then inverted.
        baselines: interpolation baselines (``bicubic``, ``nearest``), DSR protocols only.
        scale: DSR factor (needed by baselines and DSR models).
        lr_from: how the LR input is made: ``bicubic``/``nearest`` from the ground truth, or
            ``given`` (files in ``lr``); for the prediction row it is only recorded.
        lr, lr_scale, lr_key: the given LR maps.
        lr_grid: the DSR model's LR grid (``center``/``point``/``corner``, default by ``lr_from``).
        checkpoint: a trained run / checkpoint to evaluate (DSR or monocular by protocol).
        model: a shipped pretrained model name (``dsr-x4``, ``mde-driving``...).
        images: RGB images for a monocular model, matched to the ground truth by name.
        device: device for model inference.
        per_image: include every image's numbers in the report.
        missing: pixels without a valid prediction count as 0 (``zero``, every published
            protocol) or are left out of the metrics (``exclude``); their number is reported
            either way.
    """

    protocol: str = "kitti-eigen"
    gt: str = ""
    pred: str | None = None
    name: str | None = None
    median_scaling: bool = False
    allow_resize: bool = True
    unit: str | None = None
    gt_scale: float | None = None
    pred_scale: float | None = None
    gt_key: str | None = None
    pred_key: str | None = None
    recursive: bool = False
    allow_pickle: bool = False
    pred_inverse: bool = False
    baselines: list[str] = field(default_factory=list)
    scale: int | None = None
    lr_from: str | None = None
    lr: str | None = None
    lr_scale: float | None = None
    lr_key: str | None = None
    lr_grid: str | None = None
    checkpoint: str | None = None
    model: str | None = None
    images: str | None = None
    device: str = "auto"
    per_image: bool = True
    missing: str = "zero"


def resolve_settings(cfg: EvaluateSettings) -> EvaluateSettings:
    """A copy with defaults made explicit, for the settings file: ``lr_from`` becomes ``given``
    with ``lr``, else ``bicubic`` when the LR is made here (baselines, a DSR model); a DSR
    model's ``lr_grid`` becomes ``point`` for ``nearest`` LR (``hr[s//2::s]``), else ``center``."""
    model = get_protocol(cfg.protocol).is_dsr and bool(cfg.checkpoint or cfg.model)
    out = dataclasses.replace(cfg)
    if cfg.lr_from is None and (cfg.lr or cfg.baselines or model):
        out.lr_from = "given" if cfg.lr else "bicubic"
    if out.lr_grid is None and model:
        out.lr_grid = "point" if out.lr_from == "nearest" else "center"
    return out


@dataclass
class Row:
    """One method evaluated on every ground-truth map (one line of the table).

    Attributes:
        label: the method's name in the table.
        predict: ``predict(gi, name, gt) -> (values, valid)``: the prediction for ground-truth
            map ``gi`` (``(H, W)`` values and a bool mask, or ``None``: valid where > 0).
        degradation: how the LR input was made (DSR protocols), recorded in the report.
        notes: lines printed under the row. describe: the model's description.
        results: filled by :func:`run_evaluation`, one per map.
    """

    label: str
    predict: Callable[[int, str, Any], tuple[np.ndarray, np.ndarray | None]]
    degradation: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    describe: dict[str, Any] | None = None
    results: list[ImageResult] = field(default_factory=list)
    source: Callable[[int, str], str] | None = None  # (gi, gt source) -> name for messages
    inverse: bool = False  # values are inverse depth (inverted after resizing)
    first_resize: dict[str, Any] | None = None  # the first resized prediction: name, from, to


def _gt_check(
    proto: Protocol, factor: float, gt: Any, gt_src: str, pred_src: str | None
) -> dict[str, Any] | None:
    """Check one ground-truth map against the protocol's caps and crop before evaluating it.

    Returns:
        ``None``, or when more than :data:`CAPS_WARN_FRACTION` of its valid pixels inside the
        crop lie outside the min / max depth caps, a record of them (file, counts, value range).
        The crop itself is the protocol, not a warning.

    Raises:
        UserError: no pixel left to evaluate (naming the ground truth, the prediction, the
            number of valid pixels, their range and the caps, with a ``--gt-scale`` hint).
    """
    g = np.asarray(gt.values, np.float64)
    if g.ndim != 2:
        return None  # evaluate_image reports the shape
    g = g * factor
    valid = np.asarray(gt.valid, bool) & np.isfinite(g) & (g > 0)
    n_valid = int(valid.sum())
    in_caps = proto.caps_mask(g, valid)
    n_in = int(in_caps.sum())
    try:
        box = proto.crop_box(*g.shape)
    except UserError as e:
        raise UserError(f"{gt_src}: {e}") from None
    if box is None:
        n_crop, n_left = n_valid, n_in
    else:
        t, b, l, r = box
        n_crop, n_left = int(valid[t:b, l:r].sum()), int(in_caps[t:b, l:r].sum())
    unit = proto.report_unit
    lo, hi = (float(g[valid].min()), float(g[valid].max())) if n_valid else (0.0, 0.0)
    caps = (
        f"{proto.min_depth if proto.min_depth is not None else 0} < gt < "
        f"{proto.max_depth if proto.max_depth is not None else 'inf'} {unit}"
    )
    if n_left == 0:
        head = f"{gt_src}: no ground-truth pixel left to evaluate under {proto.name}"
        if pred_src:
            head += f" (prediction {pred_src})"
        if n_valid == 0:
            raise UserError(f"{head}: the map has no valid pixel (all zero, negative or NaN)")
        what = f"{n_valid} valid pixels, values {lo:.4g}..{hi:.4g} {unit}"
        if n_in:
            raise UserError(
                f"{head}: {what}; {n_in} inside the caps {caps}, none inside the crop "
                f"({proto.crop_rule()})"
            )
        hint = ""
        if proto.max_depth is not None and hi >= proto.max_depth:
            hint = (
                "; values beyond the cap suggest another unit: pass --gt-scale (stored units "
                "per metre, e.g. 256 for KITTI 16-bit PNG, 1000 for millimetres)"
            )
        elif proto.min_depth is not None and lo <= proto.min_depth:
            hint = "; values below the cap suggest another unit: check --gt-scale"
        raise UserError(f"{head}: {what}, all outside the caps {caps}{hint}")
    n_out = n_crop - n_left  # inside the crop, dropped by the caps alone
    if n_out > CAPS_WARN_FRACTION * n_crop:
        return {
            "gt": gt_src,
            "n_valid": n_crop,
            "n_outside_caps": n_out,
            "range": [lo, hi],
            "caps": caps,
        }
    return None


def _caps_warning(proto: Protocol, capped: list[dict[str, Any]], n: int) -> str:
    first = capped[0]
    lo, hi = first["range"]
    pct = 100.0 * first["n_outside_caps"] / first["n_valid"]
    return (
        f"{first['gt']}: {first['n_outside_caps']} of {first['n_valid']} valid ground-truth "
        f"pixels in the crop ({pct:.1f}%; values {lo:.4g}..{hi:.4g} {proto.report_unit}) lie "
        "outside the "
        f"caps {first['caps']} of {proto.name} and are not evaluated; {len(capped)} of {n} "
        "images lose more than half of their ground truth this way. Is the ground truth in "
        "another unit? Pass --gt-scale (stored units per metre, e.g. 256 for KITTI 16-bit PNG)"
    )


def _check(cfg: EvaluateSettings, proto: Protocol) -> None:
    if not cfg.gt:
        raise UserError("--gt: the ground truth is required")
    if cfg.pred is None and not cfg.baselines and not cfg.checkpoint and not cfg.model:
        raise UserError("nothing to evaluate: give --pred, --baseline, --checkpoint or --model")
    if cfg.checkpoint and cfg.model:
        raise UserError("--checkpoint and --model: give one of them")
    for b in cfg.baselines:
        if b not in UPSAMPLERS:
            raise UserError(f"--baseline {b!r}: known baselines are {', '.join(UPSAMPLERS)}")
    if cfg.baselines and not proto.is_dsr:
        raise UserError(
            f"--baseline: interpolation baselines belong to the DSR protocols, not {proto.name}"
        )
    if cfg.lr_from is not None and cfg.lr_from not in (*DEGRADATIONS, "given"):
        raise UserError(
            f"--lr-from {cfg.lr_from!r}: expected one of {', '.join(DEGRADATIONS)} or given"
        )
    if cfg.lr_from == "given" and not cfg.lr:
        raise UserError("--lr-from given needs --lr DIR (the LR maps)")
    if cfg.lr and cfg.lr_from not in (None, "given"):
        raise UserError(f"--lr given but --lr-from is {cfg.lr_from!r}; use --lr-from given")
    if cfg.baselines and cfg.scale is None:
        raise UserError("--baseline needs --scale (the DSR factor)")
    if cfg.scale is not None and cfg.scale < 1:
        raise UserError(f"--scale {cfg.scale}: must be a positive integer")
    if cfg.images and proto.is_dsr:
        raise UserError(f"--images: protocol {proto.name} upsamples depth, it takes no images")


def lr_provider(
    cfg: EvaluateSettings, gt_set: MapSet, scale: int
) -> tuple[Callable[[int, Any], tuple[np.ndarray, np.ndarray]], dict[str, Any]]:
    """``(lr_of, record)``: the LR map per ground-truth index, ``lr_of(gi, gt) -> (values
    (h, w) float64, valid (h, w) bool)``, read from ``cfg.lr`` or made from the ground truth as
    ``cfg.lr_from`` says; and the record of how they are made."""
    lr_from = cfg.lr_from or "bicubic"
    if lr_from == "given":
        lr_set = _open(cfg, cfg.lr, cfg.lr_scale, cfg.lr_key, "LR")
        pairs = {gi: oi for gi, oi, _ in match_sets(gt_set, lr_set, "LR")}

        def given(gi: int, gt: Any) -> tuple[np.ndarray, np.ndarray]:
            m = lr_set.read(pairs[gi])
            problem = lr_size_mismatch(m.values.shape, gt.values.shape, scale)
            if problem:
                raise UserError(
                    f"{lr_set.sources[pairs[gi]]}: {problem}, the size of its ground truth "
                    f"{gt_set.sources[gi]} (wrong --scale, or LR and GT files paired wrongly?)"
                )
            return m.values.astype(np.float64), m.valid

        rec = degradation_record("given", scale)
        rec["lr"] = str(cfg.lr)
        return given, rec

    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def made(gi: int, gt: Any) -> tuple[np.ndarray, np.ndarray]:
        if gi not in cache:
            cache.clear()
            cache[gi] = downsample_depth(gt.values, gt.valid, scale, lr_from)
        return cache[gi]

    return made, degradation_record(lr_from, scale)


def _open(cfg: EvaluateSettings, path: Any, scale: float | None, key: str | None, what: str):
    """The :class:`~depthduet.evaluation.predictions.MapSet` of ``path`` (read as ``cfg``
    says: sub-folders, pickled arrays)."""
    return open_set(
        path,
        scale=scale,
        key=key,
        recursive=cfg.recursive,
        what=what,
        allow_pickle=cfg.allow_pickle,
    )


#: ``model_rows(cfg, protocol, gt_set) -> rows``: the rows of ``cfg.checkpoint`` /
#: ``cfg.model`` (the models run above this layer: ``depthduet.apps.evaluate``)
ModelRows = Callable[[EvaluateSettings, Protocol, MapSet], list[Row]]


def run_evaluation(
    cfg: EvaluateSettings,
    progress: Callable[[int, int, str], None] | None = None,
    model_rows: ModelRows | None = None,
) -> dict[str, Any]:
    """Evaluate every requested row on every ground-truth map.

    Args:
        cfg: the settings.
        progress: optional callback ``(i, n, name)`` after each image.
        model_rows: makes the rows of a model (``cfg.checkpoint`` / ``cfg.model``);
            ``depthduet.apps.evaluate.run_evaluation`` passes the one that runs them.

    Returns:
        ``{"protocol", "protocol_description", "gt", "pred", "n_images", "results": [row
        records], "warnings": [lines]}``; each row record is
        :func:`depthduet.evaluation.protocols.summarize`'s, plus ``notes`` and, when
        predictions were resized, ``resize.first`` (name, from and to sizes). When some
        ground-truth maps have more than half of their valid pixels outside the protocol's
        depth caps (ground truth in another unit?), ``gt_outside_caps`` counts them and names
        the first, and ``warnings`` says so.

    Raises:
        UserError: bad settings, missing / mismatched / unreadable files, a ground-truth map
            with no pixel left under the protocol (naming the file), a model to evaluate
            without ``model_rows``.
    """
    proto = get_protocol(cfg.protocol)
    stated_lr_from = cfg.lr_from
    cfg = resolve_settings(cfg)
    _check(cfg, proto)
    proto.unit_factor(cfg.unit)  # validate early
    gt_set = _open(cfg, cfg.gt, cfg.gt_scale, cfg.gt_key, "ground truth")
    pred = None if cfg.pred is None else _prediction_row(cfg, proto, gt_set, stated_lr_from)
    rows = ([] if pred is None else [pred.row]) + _baseline_rows(cfg, gt_set)
    if cfg.checkpoint or cfg.model:
        if model_rows is None:
            raise UserError("--checkpoint/--model: models are evaluated by depthduet.apps.evaluate")
        rows += model_rows(cfg, proto, gt_set)
    names = list(gt_set.names) if pred is None else pred.names
    capped = _evaluate_rows(cfg, proto, gt_set, rows, names, pred, progress)
    results = [_row_record(cfg, proto, row) for row in rows]
    return _report(cfg, proto, len(gt_set), results, capped)


@dataclass
class _Predictions:
    """The row of the user's prediction files, with the name and the source of the
    prediction of each ground-truth map."""

    row: Row
    names: list[str]
    sources: list[str]


def _prediction_row(
    cfg: EvaluateSettings, proto: Protocol, gt_set: MapSet, stated_lr_from: str | None
) -> _Predictions:
    pred_set = _open(cfg, cfg.pred, cfg.pred_scale, cfg.pred_key, "prediction")
    pairs = {gi: (oi, name) for gi, oi, name in match_sets(gt_set, pred_set)}

    def from_files(gi: int, name: str, gt: Any) -> tuple[np.ndarray, np.ndarray]:
        m = pred_set.read(pairs[gi][0])
        return m.values, m.valid

    rec = None
    if proto.is_dsr:
        rec = {
            "lr_from": stated_lr_from or "unstated",
            "scale": cfg.scale,
            "note": "predictions supplied as files; the degradation is what --lr-from states",
        }
    sources = [pred_set.sources[pairs[gi][0]] for gi in range(len(gt_set))]
    row = Row(
        cfg.name or Path(cfg.pred).name,  # type: ignore[arg-type]
        from_files,
        rec,
        source=lambda gi, src: sources[gi],
        inverse=cfg.pred_inverse,
    )
    return _Predictions(row, [pairs[gi][1] for gi in range(len(gt_set))], sources)


def _baseline_rows(cfg: EvaluateSettings, gt_set: MapSet) -> list[Row]:
    """The interpolation baselines: the LR of each ground-truth map, upsampled back."""
    if not cfg.baselines:
        return []
    s = int(cfg.scale)  # type: ignore[arg-type]
    lr_of, rec = lr_provider(cfg, gt_set, s)
    rows = []
    for method in cfg.baselines:

        def base(gi: int, name: str, gt: Any, method: str = method):
            lr, lr_valid = lr_of(gi, gt)
            return upsample_depth(lr, lr_valid, s, gt.values.shape, method)

        full = dict(rec)
        full.update(degradation_record(rec["lr_from"], s, method))
        if "lr" in rec:
            full["lr"] = rec["lr"]
        rows.append(Row(f"{method} (baseline)", base, full))
    return rows


def _evaluate_rows(
    cfg: EvaluateSettings,
    proto: Protocol,
    gt_set: MapSet,
    rows: list[Row],
    names: list[str],
    pred: _Predictions | None,
    progress: Callable[[int, int, str], None] | None,
) -> list[dict[str, Any]]:
    """Evaluate every row on every ground-truth map (each read once); returns the records of
    the maps with most of their ground truth outside the caps (:func:`_gt_check`)."""
    n = len(gt_set)
    factor = proto.unit_factor(cfg.unit)
    capped: list[dict[str, Any]] = []
    for gi in range(n):
        gt = gt_set.read(gi)
        src = gt_set.sources[gi]
        record = _gt_check(proto, factor, gt, src, None if pred is None else pred.sources[gi])
        if record is not None:
            capped.append(record)
        for row in rows:
            _evaluate_one(cfg, proto, row, gi, names[gi], gt, src)
        if progress is not None:
            progress(gi + 1, n, names[gi])
    return capped


def _evaluate_one(
    cfg: EvaluateSettings, proto: Protocol, row: Row, gi: int, name: str, gt: Any, src: str
) -> None:
    """Evaluate ``row``'s prediction of ground-truth map ``gi`` into ``row.results``."""
    values, valid = row.predict(gi, name, gt)
    result = evaluate_image(
        proto,
        gt.values,
        values,
        gt_valid=gt.valid,
        pred_valid=valid,
        median_scaling=cfg.median_scaling,
        allow_resize=cfg.allow_resize,
        unit=cfg.unit,
        pred_inverse=row.inverse,
        name=row.source(gi, src) if row.source else f"{src} ({row.label})",
        missing=cfg.missing,
    )
    result.name = name
    row.results.append(result)
    if result.resized and row.first_resize is None:
        shape = np.shape(np.squeeze(values)) if np.ndim(values) > 2 else np.shape(values)
        size = [int(v) for v in shape]
        row.first_resize = {"name": name, "from": size, "to": list(result.shape)}


def _row_record(cfg: EvaluateSettings, proto: Protocol, row: Row) -> dict[str, Any]:
    """The report's record of one row (:func:`~depthduet.evaluation.protocols.summarize`'s,
    plus the first resize, notes and the model's description)."""
    rec = summarize(
        proto,
        row.results,
        median_scaling=cfg.median_scaling,
        method=row.label,
        unit=cfg.unit,
        degradation=row.degradation,
        allow_resize=cfg.allow_resize,
        per_image=cfg.per_image,
    )
    if row.first_resize is not None:
        rec["resize"]["first"] = row.first_resize
    if row.inverse:
        rec["prediction_values"] = "inverse depth, resized bilinearly then inverted (1/x)"
    if row.notes:
        rec["notes"] = row.notes
    if row.describe:
        rec["model"] = row.describe
    return rec


def _report(
    cfg: EvaluateSettings,
    proto: Protocol,
    n: int,
    results: list[dict[str, Any]],
    capped: list[dict[str, Any]],
) -> dict[str, Any]:
    from depthduet import __version__

    report: dict[str, Any] = {
        "protocol": proto.name,
        "protocol_description": proto.description,
        "gt": str(cfg.gt),
        "pred": cfg.pred,
        "n_images": n,
        "depthduet_version": __version__,
        "results": results,
        "warnings": [],
    }
    if capped:
        report["gt_outside_caps"] = {
            "threshold_fraction": CAPS_WARN_FRACTION,
            "n_images": len(capped),
            "first": capped[0],
        }
        report["warnings"].append(_caps_warning(proto, capped, n))
    return report


def _fmt(v: float) -> str:
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4f}" if abs(v) < 100 else f"{v:.2f}"
    return f"{v:.3e}"


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of a :func:`run_evaluation` report (the protocol stated first)."""
    proto = get_protocol(report["protocol"])
    first = report["results"][0]
    caps = first["caps"]
    unit = first["unit"]["reported"]
    lines = [
        f"protocol: {proto.name} - {proto.description}",
        f"crop: {first['crop']['rule']}",
        "caps: gt in ({}, {}) {}, predictions clamped: {}".format(
            caps["gt_min_exclusive"] if caps["gt_min_exclusive"] is not None else "0",
            caps["gt_max_exclusive"] if caps["gt_max_exclusive"] is not None else "inf",
            unit,
            "yes" if caps["clamp_pred"] else "no",
        ),
        f"median scaling: {'ON (per image)' if first['median_scaling'] else 'off'}; "
        f"images: {report['n_images']}; aggregation: {first['aggregation']}",
    ]
    keys = list(proto.metrics)
    heads = [
        k if proto.task == "depth" or unit in ("disparity", "as-given") else f"{k}[{unit}]"
        for k in keys
    ]
    extra = "lr_from" if proto.is_dsr else ("ratio mean/std" if first["median_scaling"] else "")
    width = max(12, *(len(r["method"]) for r in report["results"]))
    header = f"{'method':<{width}}  " + "  ".join(f"{h:>10}" for h in heads)
    if extra:
        header += f"  {extra}"
    lines += [header, "-" * len(header)]
    for r in report["results"]:
        line = f"{r['method']:<{width}}  " + "  ".join(f"{_fmt(r['metrics'][k]):>10}" for k in keys)
        if proto.is_dsr:
            deg = r.get("degradation") or {}
            line += f"  {deg.get('lr_from', 'unstated')}"
            if deg.get("scale"):
                line += f" x{deg['scale']}"
        elif r.get("median_ratios"):
            mr = r["median_ratios"]
            line += f"  {mr['mean']:.3f} / {mr['std']:.3f}"
        lines.append(line)
        if r.get("n_pred_invalid"):
            left_out = r.get("missing_predictions") == "exclude"
            how = "are left out (--missing exclude)" if left_out else "count as 0"
            lines.append(
                f"  note: {r['n_pred_invalid']} ground-truth pixels "
                f"({100 * r['pred_invalid_fraction']:.2f}%) had no prediction and {how}"
            )
        resize = r.get("resize") or {}
        if resize.get("n_resized"):
            line = (
                f"  note: {resize['n_resized']} of {r['n_images']} predictions resized "
                "bilinearly to the ground-truth size"
            )
            first = resize.get("first")
            if first:
                (h, w), (gh, gw) = first["from"], first["to"]
                line += f" (first: {first['name']}, {h}x{w} -> {gh}x{gw})"
            lines.append(line)
        for note in r.get("notes", []):
            lines.append(f"  note: {note}")
    return "\n".join(lines)
