"""``depthduet export``: write a model as ONNX or TorchScript and check it against PyTorch."""

from __future__ import annotations

import argparse

HELP = "export a model to ONNX or TorchScript (pre- and post-processing inside), then check it"

DESCRIPTION = """\
Write a shipped model (--model) or a trained run (--checkpoint) as one file that runs without
depthduet: ONNX (onnxruntime, opset 17) or TorchScript (torch.jit.load). Batch, height and
width are dynamic. After writing, the file is run against the PyTorch model on a shipped
example input; when any output differs by more than 1e-4 of its range the file is not
written (exit status 2). Needs `pip install 'depthduet[export]'` for ONNX.

Depth super-resolution (dsr-x2 ... dsr-x16):
  input  lr_depth (B, 1, h, w) float32, any unit; valid where finite and > 0
  output hr_depth (B, 1, s*h, s*w) float32 in the input's unit (0 where invalid),
         hr_valid (B, 1, s*h, s*w) bool (valid iff the input pixel containing it is)
  inside: min-max normalisation from the valid pixels, hole filling (exact for maps up to
  65536 pixels a side), DSRNet, back to units, clipping to the valid input range.
  The caller's part: the whole map runs at once (no tiling: cut big maps into overlapping
  tiles, normalising from the whole map, or use depthduet.load_upsampler); write 0 at
  pixels to ignore; for corner-grid maps (hr[::s]) pad one row and column by repetition
  and crop s//2 pixels on. Percentile-normalised checkpoints are refused.

Monocular depth (mde-driving):
  input  image (B, 3, H, W) float32 RGB in [0, 1], any size
  output depth (B, 1, H, W) float32 metres (relative for a scale-ambiguous model),
         confidence (B, 1, H, W) in (0, 1)
  inside: antialiased bilinear resize to the network's size, DepthNet, bilinear resize
  back, disparity -> depth.

Examples:
  depthduet export --model dsr-x4 --format onnx -o dsr-x4.onnx
  depthduet export --model mde-driving --format torchscript -o mde-driving.pt
  depthduet export --checkpoint runs/dsr_x4 --format onnx -o my_dsr.onnx
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", metavar="NAME", help="shipped model (see `depthduet info`)")
    src.add_argument(
        "--checkpoint", metavar="RUN", help="run folder, checkpoint folder or .safetensors"
    )
    p.add_argument("--format", required=True, choices=("onnx", "torchscript"), help="file type")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")


def run(args: argparse.Namespace) -> int:
    from depthduet.apps.export import export_model

    rep = export_model(args.output, args.format, model=args.model, checkpoint=args.checkpoint)
    diffs = ", ".join(f"{k} {v:.2e}" for k, v in rep.differences.items() if k != "valid_mismatch")
    size = rep.path.stat().st_size / 2**20
    print(f"wrote {rep.path} ({rep.format}, {size:.1f} MiB) from {rep.name}")
    print(f"checked against PyTorch on a shipped example: max |difference| / range: {diffs}")
    return 0
