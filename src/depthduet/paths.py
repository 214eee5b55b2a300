"""Where things are: the sample data folder, the shipped weights and example inputs, and the
file names that one command writes and another reads."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from depthduet.errors import UserError

__all__ = [
    "PathLike",
    "data_root",
    "weights_dir",
    "project_root",
    "first_missing_parent",
    "remove_empty_folders",
    "PREDICT_RECORD",
    "PREDICT_DEPTH_SUFFIX",
    "examples_dir",
    "list_examples",
    "example_path",
]

#: what a path argument may be: a string or an ``os.PathLike`` (``pathlib.Path``).
PathLike = str | os.PathLike[str]

#: the settings file ``depthduet predict`` writes into its output folder (``depthduet evaluate``
#: recognises such a folder by it).
PREDICT_RECORD = "predict.yaml"
#: ``depthduet predict``'s depth map (metres) of input image STEM: ``STEM + PREDICT_DEPTH_SUFFIX``.
PREDICT_DEPTH_SUFFIX = "_depth.npy"


def project_root() -> Path | None:
    """The source checkout containing this package (``.../src/depthduet`` -> repo), if any."""
    here = Path(__file__).resolve().parent
    root = here.parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def data_root() -> Path | None:
    """The sample data folder: ``$DEPTHDUET_DATA``, else ``../shared/data`` beside the checkout
    (or beside the current directory). ``None`` when none exists."""
    env = os.environ.get("DEPTHDUET_DATA")
    if env:
        return Path(env)
    candidates = []
    root = project_root()
    if root is not None:
        candidates.append(root.parent / "shared" / "data")
    candidates.append(Path.cwd().parent / "shared" / "data")
    candidates.append(Path.cwd() / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def weights_dir() -> Path:
    """Folder of the pretrained weights shipped in the package."""
    return Path(str(resources.files("depthduet") / "weights"))


def first_missing_parent(path: str | os.PathLike[str]) -> Path | None:
    """The topmost of ``path`` and its parents that does not exist (``None`` if ``path`` does):
    what ``mkdir(parents=True)`` would create, and what to remove again if the work fails."""
    p = Path(path)
    return next((q for q in (*reversed(p.parents), p) if not q.exists()), None)


def remove_empty_folders(root: str | os.PathLike[str]) -> None:
    """Remove ``root`` and the folders under it that hold no file (deepest first): undo the
    folders a failed command created, keeping any file written there."""
    root = Path(root)
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()


def examples_dir() -> Path:
    """The folder of the example inputs shipped in the package."""
    return Path(str(resources.files("depthduet") / "examples"))


def list_examples() -> dict[str, dict[str, Any]]:
    """The example inputs shipped in the package: ``{name: {"description", "source",
    "files": {file: what it holds}}}`` (``depthduet example NAME -o DIR`` copies them out)."""
    p = examples_dir() / "examples.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"{p}: cannot read the list of examples: {e}") from None


def example_path(name: str, file: str | None = None) -> Path:
    """The folder of example ``name`` (see :func:`list_examples`), or one ``file`` in it.

    Raises:
        UserError: an unknown example or file (the message lists the known ones).

    Example:
        >>> sorted(list_examples())
        ['driving', 'indoor']
        >>> example_path("indoor", "depth_mm.png").name
        'depth_mm.png'
    """
    known = list_examples()
    if name not in known:
        raise UserError(f"example {name!r}: unknown; examples: {', '.join(sorted(known))}")
    folder = examples_dir() / name
    if file is None:
        return folder
    files = known[name]["files"]
    if file not in files:
        raise UserError(f"example {name!r} has no file {file!r}; files: {', '.join(files)}")
    return folder / file
