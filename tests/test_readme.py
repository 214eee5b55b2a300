"""Every command in the README's "Commands at a glance" block runs as written, in a folder that
looks like a fresh clone (only ``configs/``) and without the sample data."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands(section: str = "## Commands at a glance") -> list[str]:
    """The shell commands of the first ```bash block after ``section`` (continuations joined,
    comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(section)
    block = re.search(r"```bash\n(.*?)```", text[start:], re.S)
    assert block, f"no bash block under {section!r}"
    joined = block.group(1).replace("\\\n", " ")
    cmds = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if line:
            cmds.append(line)
    return cmds


def test_readme_block_is_found_and_uses_depthduet() -> None:
    cmds = readme_commands()
    assert len(cmds) >= 8 and all(c.split()[0] in ("depthduet", "python") for c in cmds)


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    (tmp_path / "configs").symlink_to(ROOT / "src" / "depthduet" / "configs")
    env = {**os.environ, "DEPTHDUET_DATA": str(tmp_path / "no-sample-data")}
    bindir = Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    for cmd in readme_commands():
        res = subprocess.run(
            shlex.split(cmd), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert res.returncode == 0, f"{cmd}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
