"""Run logs: CSV tables (train.csv, val.csv, rounds.csv), a text log and optional TensorBoard.

Only the main process (rank 0) writes; the other processes get a :class:`RunLog` with
``enabled=False`` whose methods do nothing, so engine code calls them unconditionally.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from depthduet.io import atomic_write

__all__ = ["CSVLog", "RunLog", "format_value"]


def format_value(v: Any) -> str:
    """How a value appears in a CSV cell: floats with 9 significant digits, others as str."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.9g}"
    return str(v)


class CSVLog:
    """An append-only CSV table whose columns grow when new keys appear.

    Rows are dicts; a row with a key not in the header rewrites the file once with the union
    of columns (earlier rows get empty cells). Each row is flushed immediately.

    Args:
        path: the CSV file.
        append: keep existing rows (resume); otherwise the file is started afresh.
    """

    def __init__(self, path: str | os.PathLike[str], append: bool = False) -> None:
        self.path = Path(path)
        self.header: list[str] = []
        if append and self.path.is_file():
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                self.header = next(reader, [])
        elif self.path.exists():
            self.path.unlink()

    def rows(self) -> list[dict[str, str]]:
        """All rows written so far (values as strings)."""
        if not self.path.is_file():
            return []
        with open(self.path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def _rewrite(self, header: list[str], rows: list[dict[str, str]]) -> None:
        text = io.StringIO()
        w = csv.DictWriter(text, fieldnames=header, restval="")
        w.writeheader()
        w.writerows(rows)
        atomic_write(self.path, lambda f: f.write(text.getvalue().encode("utf-8")))
        self.header = header

    def append(self, row: dict[str, Any]) -> None:
        """Add one row (keys become columns)."""
        cells = {str(k): format_value(v) for k, v in row.items()}
        new = [k for k in cells if k not in self.header]
        if new or not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rewrite(self.header + new, self.rows())
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=self.header, restval="").writerow(cells)

    def truncate_after(self, step: int, epoch: int | None = None) -> int:
        """Drop rows logged after a checkpoint: ``step`` column greater than ``step`` or
        ``epoch`` column greater than ``epoch``. Returns the number of rows dropped."""
        if not self.path.is_file():
            return 0

        def after(r: dict[str, str]) -> bool:
            if r.get("step") and float(r["step"]) > step:
                return True
            return epoch is not None and bool(r.get("epoch")) and float(r["epoch"]) > epoch

        rows = self.rows()
        keep = [r for r in rows if not after(r)]
        if len(keep) != len(rows):
            self._rewrite(self.header, keep)
        return len(rows) - len(keep)


class RunLog:
    """Text log (``train.log`` + console), CSV tables and TensorBoard scalars of one run.

    Args:
        out_dir: the run folder.
        enabled: False on non-main processes (everything becomes a no-op).
        append: resuming: keep existing logs.
        tensorboard: write TensorBoard event files under ``out_dir/tb`` (skipped with a warning
            when TensorBoard is not installed); opened by :meth:`open_tensorboard`.
        console: also print log lines (through ``tqdm.write`` so progress bars stay intact).
    """

    TABLES = ("train", "val", "rounds")

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        enabled: bool = True,
        append: bool = False,
        tensorboard: bool = False,
        console: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.enabled = enabled
        self.console = console
        self.tables: dict[str, CSVLog] = {}
        self._text = None
        self._tb = None
        self._want_tb = tensorboard
        if not enabled:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for t in self.TABLES:
            self.tables[t] = CSVLog(self.out_dir / f"{t}.csv", append=append)
        self._text = open(self.out_dir / "train.log", "a" if append else "w", encoding="utf-8")

    def open_tensorboard(self, purge_step: int | None = None) -> None:
        """Start TensorBoard logging (if asked for at construction).

        Args:
            purge_step: on resume, the first step after the checkpoint: events at or after it
                (written by the interrupted run after its last checkpoint) are discarded.
        """
        if not (self.enabled and self._want_tb) or self._tb is not None:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:  # tensorboard is an optional extra at run time
            warnings.warn(f"TensorBoard logging disabled: {e}", stacklevel=2)
            return
        self._tb = SummaryWriter(log_dir=str(self.out_dir / "tb"), purge_step=purge_step)

    def info(self, msg: str) -> None:
        """One line to ``train.log`` (timestamped) and the console."""
        if not self.enabled:
            return
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        assert self._text is not None
        self._text.write(f"{stamp} {msg}\n")
        self._text.flush()
        if self.console:
            from tqdm import tqdm

            tqdm.write(msg, file=sys.stdout)

    def row(self, table: str, row: dict[str, Any]) -> None:
        """Append a row to ``<table>.csv``."""
        if self.enabled:
            self.tables[table].append(row)

    def scalars(self, prefix: str, values: dict[str, Any], step: int) -> None:
        """Numeric entries of ``values`` to TensorBoard as ``<prefix>/<key>``."""
        if self._tb is None:
            return
        for k, v in values.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            self._tb.add_scalar(f"{prefix}/{k}", v, step)

    def truncate_after(self, step: int, epoch: int | None = None) -> None:
        """Resume: drop CSV rows logged after global step ``step`` / epoch ``epoch``."""
        for t in self.tables.values():
            t.truncate_after(step, epoch)

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
