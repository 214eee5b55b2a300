"""The project's files speak of the project: no development-process words in README, docs, src,
tests or benchmarks. Only code meanings of "session" are allowed (a POSIX session started with
``start_new_session``, pytest's session scope, onnxruntime's ``InferenceSession``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"session|this machine|this host|the issues", re.IGNORECASE)
CODE_MEANINGS = (
    "start_new_session",
    'scope="session"',
    "InferenceSession",  # onnxruntime's class
)
SUFFIXES = {".py", ".md", ".sh", ".yaml", ".yml", ".txt", ".toml", ".cfg", ".json"}


def _files() -> list[Path]:
    out = [ROOT / "README.md"]
    for folder in ("docs", "src", "tests", "benchmarks", "experiments"):
        base = ROOT / folder
        if base.is_dir():
            out += [
                p
                for p in base.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES and "egg-info" not in str(p)
            ]
    return out


def test_no_development_process_words() -> None:
    me = Path(__file__).resolve()
    hits = []
    for p in _files():
        if p.resolve() == me:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines()):
            if FORBIDDEN.search(line) and not any(c in line for c in CODE_MEANINGS):
                hits.append(f"{p.relative_to(ROOT)}:{i + 1}: {line.strip()[:100]}")
    assert not hits, f"{len(hits)} lines:\n" + "\n".join(hits[:40])
