"""Split-file readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from depthduet.data import splits
from depthduet.errors import UserError


def test_kitti_split_format(tmp_path: Path) -> None:
    p = tmp_path / "s.txt"
    p.write_text(
        "2011_09_26/2011_09_26_drive_0002_sync 0000000069 l\n\n"
        "# a comment\n2011_09_26/2011_09_26_drive_0002_sync 70 r\n"
        "2011_09_28/2011_09_28_drive_0001_sync 0000000005\n"
    )
    e = splits.read_kitti_split(p)
    assert e[0] == splits.KittiSplitEntry("2011_09_26/2011_09_26_drive_0002_sync", 69, "l")
    assert e[1].side == "r" and e[1].frame == 70 and e[2].side == "l"
    assert e[0].date == "2011_09_26" and e[0].name == "2011_09_26_drive_0002_sync/0000000069_l"
    out = splits.write_kitti_split(tmp_path / "o.txt", e)
    assert out.read_text().splitlines()[1] == "2011_09_26/2011_09_26_drive_0002_sync 0000000070 r"
    assert splits.read_kitti_split(out) == e


@pytest.mark.parametrize(
    "line, msg",
    [
        ("a b c d", r"bad.txt:1: expected '<date>/<drive> <frame> \[l\|r\]'"),
        ("x/y 12a l", "bad.txt:1: frame number '12a' is not an integer"),
        ("x/y 12 m", "bad.txt:1: side must be 'l' or 'r'"),
        ("x/y -1 l", "bad.txt:1: negative frame number"),
    ],
)
def test_kitti_split_errors(tmp_path: Path, line: str, msg: str) -> None:
    (tmp_path / "bad.txt").write_text(line + "\n")
    with pytest.raises(UserError, match=msg):
        splits.read_kitti_split(tmp_path / "bad.txt")


def test_plain_and_index_splits(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("a\n  b  \n# c\n")
    assert splits.read_split(tmp_path / "n.txt") == ["a", "b"]
    (tmp_path / "i.txt").write_text("1\n1449\n")
    assert splits.read_index_split(tmp_path / "i.txt") == [0, 1448]
    assert splits.read_index_split(tmp_path / "i.txt", base=0) == [1, 1449]
    (tmp_path / "z.txt").write_text("0\n")
    with pytest.raises(UserError, match="z.txt:1: index 0 is below the base 1"):
        splits.read_index_split(tmp_path / "z.txt")
    (tmp_path / "e.txt").write_text("# only a comment\n")
    with pytest.raises(UserError, match="e.txt: split file is empty"):
        splits.read_split(tmp_path / "e.txt")
    with pytest.raises(UserError, match="nope.txt: split file not found"):
        splits.read_split(tmp_path / "nope.txt")


def test_nyu_dsr_split_partition() -> None:
    tr, te = splits.nyu_dsr_split("train"), splits.nyu_dsr_split("test")
    assert len(tr) == 1000 and len(te) == 449
    assert sorted(tr + te) == list(range(splits.NYU_LABELLED_COUNT))
    with pytest.raises(UserError, match="unknown NYU DSR split 'val'"):
        splits.nyu_dsr_split("val")


def test_shipped_example() -> None:
    e = splits.read_kitti_split(splits.shipped_split("kitti_example"))
    assert len(e) == 3 and e[1].side == "r"
    with pytest.raises(UserError, match="no shipped split 'eigen'; known: kitti_example"):
        splits.shipped_split("eigen")
