"""Shared test fixtures: sample-data location, determinism, small thread counts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet.paths import data_root as _data_root

torch.set_num_threads(1)
# the engine tests train a recipe defined in tests/_engine_dummy.py, named in their YAML files
# as a module path, which the command line imports only when allowed
os.environ.setdefault("DEPTHDUET_RECIPE_MODULES", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reads ``../shared/data`` (through the ``data_root`` fixture) carries the
    ``realdata`` marker, so ``-m "not realdata"`` selects exactly the tests that run without it."""
    for item in items:
        if "data_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``../shared/data`` (or ``$DEPTHDUET_DATA``); tests needing it skip when it is absent."""
    root = _data_root()
    if root is None or not root.is_dir():
        pytest.skip("sample data folder ../shared/data not found (set DEPTHDUET_DATA)")
    return root


#: lines that tests add to the end of the pytest report (e.g. how many files the fuzz test tried)
_SUMMARY: list[str] = []


@pytest.fixture
def summary_line():
    """``summary_line(text)``: print ``text`` in the run's closing summary, even without -s."""
    return _SUMMARY.append


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _SUMMARY:
        terminalreporter.write_line(line)
