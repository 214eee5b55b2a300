"""Names in natural order: ``Df_2`` before ``Df_10``, ``dsr-x2`` before ``dsr-x16``.

The one sort key of the package for file, sample and model names.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

__all__ = ["natural_key"]


def natural_key(
    p: str | os.PathLike[str], *, whole: bool = False, fold_case: bool = True
) -> list[Any]:
    """Sort key treating digit runs as numbers: ``Df_2`` < ``Df_10``.

    The text is cut into runs of digits and the runs between them; a digit run compares as an
    integer, the text runs as strings. The key is a list of both, starting with a string
    (``""`` when the text starts with a digit), so two keys always compare.

    Args:
        p: a path or a name.
        whole: key the whole text ``os.fspath(p)`` (folders included, exactly as written;
            e.g. the sample names of a prediction set, ``"drive/0005"``) instead of the last
            path component ``Path(p).name`` (the default: files listed from a folder).
        fold_case: compare the text runs in lower case (the default: ``B2`` sorts with
            ``b2``); ``False`` keeps the case, so upper-case letters sort before lower-case
            ones (``B2`` < ``a1``).

    Returns:
        The key: ``[text, number, text, ...]``.

    >>> natural_key("scans/Df_10.mat")
    ['df_', 10, '.mat']
    >>> natural_key("scans/Df_10", whole=True, fold_case=False)
    ['scans/Df_', 10, '']
    """
    name = os.fspath(p) if whole else Path(p).name
    parts = re.split(r"(\d+)", name)
    if fold_case:
        return [int(t) if t.isdigit() else t.lower() for t in parts]
    return [int(t) if t.isdigit() else t for t in parts]
