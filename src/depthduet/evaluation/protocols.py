"""Named evaluation protocols: which pixels count, caps, clamping, units, aggregation.

"My numbers don't match the paper" usually comes from one of these details, so each protocol
fixes all of them and every result records them (see :func:`summarize`):

``kitti-eigen``
    KITTI Eigen split with raw LiDAR ground truth (697 images; monodepth2 ``eigen``).
    Garg crop (:func:`garg_crop_box`), ground truth kept where ``1e-3 < gt < 80`` m, predictions
    clamped to ``[1e-3, 80]`` (after median scaling when that is switched on), the seven
    :func:`~depthduet.evaluation.metrics.depth_errors` per image, then averaged over images.
    The ground truth must be camera-frame depth: the ``z`` of each LiDAR point after
    ``R0_rect @ Tr_velo_to_cam`` (rectified camera 2), projected with ``P2`` and keeping the
    nearest return per pixel (monodepth2's ``export_gt_depth.py``); not the LiDAR range
    (larger by ``1 / cos`` of the viewing angle, about 30 % at the image's left and right
    edges) nor the LiDAR ``x`` coordinate (the LiDAR sits about 0.27 m behind camera 0).
``kitti-eigen-benchmark``
    KITTI Eigen split with the improved (accumulated) ground truth (652 images; monodepth2
    ``eigen_benchmark``). No crop; ground truth kept where ``gt > 0`` and inside the same caps
    ``1e-3 < gt < 80`` m; predictions clamped to ``[1e-3, 80]``; per image, then averaged.
``kitti-eigen-benchmark-garg``
    The same with the Garg crop, as METHOD.md B.6 writes it ("Garg crop" for both ground-truth
    sets). Papers differ on this; report which of the two a number uses.
``nyu-eigen``
    NYU Depth v2 Eigen test split (654 images; BTS). Eigen crop (:func:`eigen_nyu_crop_box`),
    ground truth kept where ``1e-3 < gt < 10`` m, predictions clamped to ``[1e-3, 10]``;
    per image, then averaged.
``nyu-dsr``
    NYU v2 depth super-resolution (449 test images): a 6-pixel border is cropped on every side,
    every valid ground-truth pixel counts, RMSE and MAD reported in centimetres (inputs are
    assumed in metres; ``unit=`` says otherwise); per image, then averaged.
``middlebury-dsr``
    Middlebury depth super-resolution: RMSE and MAD on the disparity values as given (after the
    reader's ``scale``), full image, every valid ground-truth pixel; per image, then averaged.
``sintel-dsr``
    MPI Sintel depth super-resolution: RMSE and MAD on the values as given, full image, every
    valid ground-truth pixel; per image, then averaged.

Median scaling (``median(gt) / median(pred)`` per image on the evaluated pixels, monodepth2)
is a separate switch of :func:`evaluate_image`, never implied by a protocol name.

Predictions whose size differs from the ground truth are resized to it with bilinear
interpolation (half-pixel centres, no antialiasing: ``cv2.resize`` / ``F.interpolate(...,
align_corners=False)``), unless ``allow_resize=False``. Prediction pixels marked invalid (NaN,
inf, or the reader's invalid flag) are *not* dropped: they hold 0, which the depth protocols
clamp to the minimum depth, so a method cannot improve its score by abstaining; their number is
reported as ``n_pred_invalid``. ``missing="exclude"`` instead leaves them out of the metrics
(for depth-SR inputs with holes, where an output pixel has no value when its LR pixel is a
hole): the numbers then describe only the predicted pixels, and ``n_pred_invalid`` says how
many were left out, so compare rows by both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from depthduet.errors import UserError
from depthduet.evaluation.crops import (
    EIGEN_NYU_CROP,
    GARG_CROP,
    Box,
    border_crop_box,
    eigen_nyu_crop_box,
    garg_crop_box,
)
from depthduet.evaluation.maps import (
    checked_maps,
    depth_from_inverse,
    prediction_on_grid,
    resize_bilinear,
)
from depthduet.evaluation.metrics import DEPTH_METRICS, DSR_METRICS
from depthduet.evaluation.scoring import ImageResult, image_errors, scored_pixels

__all__ = [
    "GARG_CROP",
    "EIGEN_NYU_CROP",
    "UNITS_TO_METRES",
    "MISSING_RULES",
    "PROTOCOLS",
    "Protocol",
    "ImageResult",
    "garg_crop_box",
    "eigen_nyu_crop_box",
    "border_crop_box",
    "get_protocol",
    "resize_bilinear",
    "evaluate_image",
    "summarize",
    "evaluate_arrays",
]

#: how pixels without a valid prediction are scored (:func:`evaluate_image` ``missing``)
MISSING_RULES: tuple[str, ...] = ("zero", "exclude")
#: multiplicative factors from a unit to metres.
UNITS_TO_METRES: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001}


@dataclass(frozen=True)
class Protocol:
    """A named evaluation protocol (see the module docstring for the list).

    Attributes:
        name: registry name (``kitti-eigen``...).
        task: ``"depth"`` (seven depth errors) or ``"dsr"`` (RMSE and MAD).
        description: one line for tables.
        crop: ``"garg"``, ``"eigen-nyu"``, ``"border"`` or ``"none"``.
        border: pixels dropped on each side for ``crop="border"``.
        min_depth, max_depth: ground truth is kept where ``min_depth < gt < max_depth`` (in
            ``report_unit``); ``None`` means no cap.
        clamp_pred: clamp predictions to ``[min_depth, max_depth]`` before the metrics.
        input_unit: the unit values are assumed to be in (after the reader's ``scale``).
        report_unit: the unit of caps and reported errors.
        reference: where the protocol comes from.
    """

    name: str
    task: str
    description: str
    crop: str = "none"
    border: int = 0
    min_depth: float | None = None
    max_depth: float | None = None
    clamp_pred: bool = False
    input_unit: str = "m"
    report_unit: str = "m"
    reference: str = ""

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric keys this protocol reports, in table order."""
        return DEPTH_METRICS if self.task == "depth" else DSR_METRICS

    @property
    def is_dsr(self) -> bool:
        """True for the depth super-resolution protocols."""
        return self.task == "dsr"

    def crop_box(self, height: int, width: int) -> Box | None:
        """``(top, bottom, left, right)`` (exclusive ends) for an ``(H, W)`` map, or ``None``."""
        if self.crop == "garg":
            return garg_crop_box(height, width)
        if self.crop == "eigen-nyu":
            return eigen_nyu_crop_box(height, width)
        if self.crop == "border":
            return border_crop_box(height, width, self.border)
        if self.crop == "none":
            return None
        raise ValueError(f"protocol {self.name}: unknown crop {self.crop!r}")

    def crop_rule(self) -> str:
        """The crop in words (recorded in results)."""
        return {
            "garg": "Garg: rows [int(0.40810811 H), int(0.99189189 H)), "
            "cols [int(0.03594771 W), int(0.96405229 W))",
            "eigen-nyu": "Eigen NYU: rows 45:471, cols 41:601 on 480x640, scaled proportionally "
            "(rounded half up) for other sizes",
            "border": f"{self.border}-pixel border on each side",
            "none": "full image",
        }[self.crop]

    def unit_factor(self, unit: str | None) -> float:
        """Factor turning values given in ``unit`` into ``report_unit``.

        ``None`` means the protocol's ``input_unit``. Only metric protocols (``m``/``cm``/``mm``)
        accept another unit.

        Raises:
            UserError: a unit this protocol cannot convert.
        """
        if unit is None or unit == self.input_unit:
            unit = self.input_unit
        if self.report_unit not in UNITS_TO_METRES:
            if unit != self.input_unit:
                raise UserError(
                    f"protocol {self.name} evaluates {self.input_unit} values as given; "
                    f"unit {unit!r} is not accepted"
                )
            return 1.0
        if unit not in UNITS_TO_METRES:
            known = ", ".join(UNITS_TO_METRES)
            raise UserError(f"protocol {self.name}: unknown unit {unit!r} (known: {known})")
        return UNITS_TO_METRES[unit] / UNITS_TO_METRES[self.report_unit]

    def caps_mask(self, gt: np.ndarray, gt_valid: np.ndarray) -> np.ndarray:
        """``(H, W)`` bool: valid, finite, ``gt > 0`` and inside the depth caps (no crop)."""
        m = gt_valid & np.isfinite(gt) & (gt > 0)
        if self.min_depth is not None:
            m &= gt > self.min_depth
        if self.max_depth is not None:
            m &= gt < self.max_depth
        return m

    def mask(self, gt: np.ndarray, gt_valid: np.ndarray) -> np.ndarray:
        """Pixels evaluated by this protocol.

        Args:
            gt: ``(H, W)`` ground truth in ``report_unit``.
            gt_valid: ``(H, W)`` bool validity of ``gt``.

        Returns:
            ``(H, W)`` bool: valid, ``gt > 0``, inside the caps and inside the crop.
        """
        m = self.caps_mask(gt, gt_valid)
        box = self.crop_box(*gt.shape)
        if box is not None:
            crop = np.zeros_like(m)
            t, b, l, r = box
            crop[t:b, l:r] = True
            m &= crop
        return m

    def describe(self) -> dict[str, Any]:
        """Everything that defines the protocol, for the JSON output."""
        return {
            "protocol": self.name,
            "description": self.description,
            "reference": self.reference,
            "task": self.task,
            "crop": {"kind": self.crop, "rule": self.crop_rule()},
            "caps": {
                "gt_min_exclusive": self.min_depth,
                "gt_max_exclusive": self.max_depth,
                "clamp_pred": ([self.min_depth, self.max_depth] if self.clamp_pred else None),
                "unit": self.report_unit,
            },
            "metrics_order": list(self.metrics),
            "aggregation": "metrics per image, then the mean over images",
        }


def _kitti_eigen(name: str, description: str, crop: str, reference: str) -> Protocol:
    """A KITTI Eigen-split protocol: depth, 1e-3 < gt < 80 m, predictions clamped to that."""
    return Protocol(
        name=name,
        task="depth",
        description=description,
        crop=crop,
        min_depth=1e-3,
        max_depth=80.0,
        clamp_pred=True,
        reference=reference,
    )


def _dsr_full_image(name: str, dataset: str, values: str, unit: str) -> Protocol:
    """A depth SR protocol of METHOD.md A's evaluation scored on the whole image, in the unit the
    maps are given in (``unit``, also the reported one)."""
    return Protocol(
        name=name,
        task="dsr",
        description=f"{dataset} depth SR, RMSE/MAD on {values}, full image",
        input_unit=unit,
        report_unit=unit,
        reference="METHOD.md A (Evaluation)",
    )


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        _kitti_eigen(
            "kitti-eigen",
            "KITTI Eigen split, raw LiDAR GT, Garg crop, 1e-3 < gt < 80 m",
            "garg",
            "Eigen et al. NIPS 2014; Garg et al. ECCV 2016; monodepth2 'eigen'",
        ),
        _kitti_eigen(
            "kitti-eigen-benchmark",
            "KITTI Eigen split, improved GT, full image, gt > 0, 1e-3 < gt < 80 m",
            "none",
            "Uhrig et al. 3DV 2017 (improved GT); monodepth2 'eigen_benchmark'",
        ),
        _kitti_eigen(
            "kitti-eigen-benchmark-garg",
            "KITTI Eigen split, improved GT, Garg crop, 1e-3 < gt < 80 m",
            "garg",
            "METHOD.md B.6 (Garg crop for both GT sets); Uhrig et al. 3DV 2017",
        ),
        Protocol(
            name="nyu-eigen",
            task="depth",
            description="NYU v2 Eigen test split, Eigen crop, 1e-3 < gt < 10 m",
            crop="eigen-nyu",
            min_depth=1e-3,
            max_depth=10.0,
            clamp_pred=True,
            reference="Eigen et al. NIPS 2014; BTS (Lee et al. 2019) eval",
        ),
        Protocol(
            name="nyu-dsr",
            task="dsr",
            description="NYU v2 depth SR, 6-pixel border crop, RMSE/MAD in cm",
            crop="border",
            border=6,
            input_unit="m",
            report_unit="cm",
            reference="common NYU v2 DSR protocol (1000 train / 449 test), METHOD.md A",
        ),
        _dsr_full_image("middlebury-dsr", "Middlebury", "disparity values", "disparity"),
        _dsr_full_image("sintel-dsr", "MPI Sintel", "the values as given", "as-given"),
    )
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``.

    Raises:
        UserError: unknown name (the message lists the known ones).
    """
    try:
        return PROTOCOLS[name]
    except KeyError:
        known = ", ".join(PROTOCOLS)
        raise UserError(f"unknown protocol {name!r}; known: {known}") from None


def evaluate_image(
    protocol: Protocol | str,
    gt: Any,
    pred: Any,
    *,
    gt_valid: Any = None,
    pred_valid: Any = None,
    median_scaling: bool = False,
    allow_resize: bool = True,
    unit: str | None = None,
    name: str = "image",
    pred_inverse: bool = False,
    missing: str = "zero",
) -> ImageResult:
    """Evaluate one prediction against its ground truth under a named protocol.

    Steps, in order:

    1. resize the prediction to the ground-truth size if needed and allowed (bilinear; with
       invalid prediction pixels, normalised so they do not bleed into their neighbours);
    2. invert it if it holds inverse depth (``pred_inverse``);
    3. convert both to ``protocol.report_unit`` (``unit`` is the input unit);
    4. keep the pixels of :meth:`Protocol.mask` (valid, ``gt > 0``, caps, crop);
    5. optionally multiply the prediction by ``median(gt) / median(pred)`` over those pixels
       (the ratio is computed before clamping, as monodepth2 does);
    6. clamp it to the caps if the protocol says so (invalid predictions, held as 0, become
       the minimum depth);
    7. compute the metrics in float64.

    Args:
        protocol: a :class:`Protocol` or its name.
        gt: ``(H, W)`` ground truth (numpy or torch; ``(1, H, W)`` is squeezed).
        pred: ``(h, w)`` prediction in the same unit as ``gt``.
        gt_valid: ``(H, W)`` bool; default ``isfinite(gt) & (gt > 0)``.
        pred_valid: ``(h, w)`` bool; default ``isfinite(pred)``. Invalid predictions count as 0.
        median_scaling: apply per-image median scaling (for scale-ambiguous methods only).
        allow_resize: resize a prediction of another size; ``False`` makes that an error.
        unit: unit of ``gt``/``pred`` (``m``, ``cm``, ``mm`` for metric protocols); ``None`` =
            the protocol's input unit.
        name: image id for messages and results.
        pred_inverse: ``pred`` holds inverse depth (e.g. monodepth2's ``pred_disps.npy``): it is
            resized first, then ``depth = 1 / pred`` (as monodepth2's evaluation does);
            non-positive values become invalid predictions.
        missing: ``zero`` (invalid predictions count as 0, the default of every published
            protocol) or ``exclude`` (they are left out of the metrics; still counted in
            ``n_pred_invalid``).

    Returns:
        An :class:`ImageResult`.

    Raises:
        UserError: wrong shapes, size mismatch with resizing forbidden, no pixel left to
            evaluate, or a non-positive prediction median under median scaling. The message
            names the image.
    """
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    if missing not in MISSING_RULES:
        raise UserError(f"missing={missing!r}: expected one of {', '.join(MISSING_RULES)}")
    g, gv, p, pv = checked_maps(gt, pred, gt_valid, pred_valid, name)
    p, pv, resized = prediction_on_grid(p, pv, g.shape, allow_resize=allow_resize, name=name)
    if pred_inverse:
        p, pv = depth_from_inverse(p, pv)
    factor = proto.unit_factor(unit)
    g, p = g * factor, p * factor
    m, n_missing = scored_pixels(proto, g, gv, pv, missing, name)
    metrics, ratio = image_errors(proto, g[m], p[m], median_scaling=median_scaling, name=name)
    return ImageResult(
        name=name,
        metrics=metrics,
        n_pixels=int(m.sum()),
        ratio=ratio,
        resized=resized,
        n_pred_invalid=n_missing,
        crop_box=proto.crop_box(*g.shape),
        shape=(int(g.shape[0]), int(g.shape[1])),
        missing=missing,
    )


def summarize(
    protocol: Protocol | str,
    results: Sequence[ImageResult] | Iterable[ImageResult],
    *,
    median_scaling: bool,
    method: str = "prediction",
    unit: str | None = None,
    degradation: dict[str, Any] | None = None,
    allow_resize: bool = True,
    per_image: bool = True,
) -> dict[str, Any]:
    """Average per-image results into one JSON-friendly record.

    The record states everything that defines the number: ``protocol``, ``crop`` (rule and the
    boxes used per image size), ``caps``, ``median_scaling`` (and the ratios' mean / std /
    median when on), ``unit``, ``n_images``, ``degradation`` (DSR protocols; ``None`` when the
    prediction came from elsewhere), the averaged ``metrics`` (float64 mean over images) and,
    when ``per_image``, every image's numbers.

    Raises:
        UserError: no results.
    """
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    results = list(results)
    if not results:
        raise UserError(f"protocol {proto.name}: nothing to evaluate (0 images)")
    rec: dict[str, Any] = {"method": method}
    rec.update(proto.describe())
    boxes = {}
    for r in results:
        boxes[f"{r.shape[0]}x{r.shape[1]}"] = list(r.crop_box) if r.crop_box else None
    rec["crop"]["boxes"] = boxes
    rec["unit"] = {
        "input": unit or proto.input_unit,
        "reported": proto.report_unit,
        "factor": proto.unit_factor(unit),
    }
    rec["median_scaling"] = bool(median_scaling)
    if median_scaling:
        ratios = np.array([r.ratio for r in results], dtype=np.float64)
        rec["median_ratios"] = {
            "mean": float(ratios.mean()),
            "std": float(ratios.std()),
            "median": float(np.median(ratios)),
        }
    rec["resize"] = {
        "allowed": allow_resize,
        "method": "bilinear, half-pixel centres, no antialias",
        "n_resized": sum(r.resized for r in results),
    }
    if proto.is_dsr or degradation is not None:
        rec["degradation"] = degradation
    rec["n_images"] = len(results)
    rec["n_pixels"] = int(sum(r.n_pixels for r in results))
    rec["n_pred_invalid"] = int(sum(r.n_pred_invalid for r in results))
    rules = {r.missing for r in results}
    if len(rules) > 1:
        raise UserError(f"protocol {proto.name}: images scored by different missing rules {rules}")
    rec["missing_predictions"] = rules.pop()  # zero: counted as 0; exclude: left out
    kept = rec["n_pixels"] + (
        rec["n_pred_invalid"] if rec["missing_predictions"] == "exclude" else 0
    )
    rec["pred_invalid_fraction"] = rec["n_pred_invalid"] / max(kept, 1)  # of the protocol's pixels
    rec["metrics"] = {
        k: float(np.mean(np.array([r.metrics[k] for r in results], dtype=np.float64)))
        for k in proto.metrics
    }
    if per_image:
        rec["per_image"] = [r.to_dict() for r in results]
    return rec


def evaluate_arrays(
    protocol: Protocol | str,
    gts: Sequence[Any],
    preds: Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    median_scaling: bool = False,
    allow_resize: bool = True,
    unit: str | None = None,
    pred_inverse: bool = False,
    method: str = "prediction",
    degradation: dict[str, Any] | None = None,
    per_image: bool = False,
    missing: str = "zero",
) -> dict[str, Any]:
    """Evaluate in-memory maps (one ground truth per prediction) and summarise them.

    A convenience for scripts and validation loops: :func:`evaluate_image` per pair (ground
    truth validity ``gt > 0`` and finite), then :func:`summarize`.

    Args:
        protocol: protocol or name.
        gts: ``N`` ground-truth maps ``(H_i, W_i)`` (numpy or torch).
        preds: ``N`` predictions ``(h_i, w_i)``.
        names: optional ids (default ``"0", "1", ...``).
        median_scaling, allow_resize, unit, pred_inverse, missing: as in
            :func:`evaluate_image`.
        method, degradation, per_image: as in :func:`summarize`.

    Returns:
        The :func:`summarize` record (``metrics`` holds the per-image means).

    Raises:
        UserError: different numbers of maps, or any per-image error (naming the image).
    """
    gts, preds = list(gts), list(preds)
    if len(gts) != len(preds):
        raise UserError(f"{len(gts)} ground-truth maps but {len(preds)} predictions")
    ids = [str(i) for i in range(len(gts))] if names is None else [str(n) for n in names]
    if len(ids) != len(gts):
        raise UserError(f"{len(ids)} names for {len(gts)} maps")
    results = [
        evaluate_image(
            protocol,
            g,
            p,
            median_scaling=median_scaling,
            allow_resize=allow_resize,
            unit=unit,
            name=n,
            pred_inverse=pred_inverse,
            missing=missing,
        )
        for g, p, n in zip(gts, preds, ids)
    ]
    return summarize(
        protocol,
        results,
        median_scaling=median_scaling,
        method=method,
        unit=unit,
        degradation=degradation,
        allow_resize=allow_resize,
        per_image=per_image,
    )
