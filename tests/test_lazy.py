"""depthduet.lazy: packages that import their public names on first use."""

from __future__ import annotations

import sys
import types

import pytest

from depthduet.lazy import lazy_exports


def _package(name: str, modules: dict[str, list[str]]) -> types.ModuleType:
    pkg = types.ModuleType(name)
    sys.modules[name] = pkg
    pkg.__all__, pkg.__getattr__, pkg.__dir__ = lazy_exports(name, modules)
    return pkg


def test_names_are_sorted_imported_once_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "_lazy_probe", raising=False)
    pkg = _package("_lazy_probe", {"json": ["loads", "dumps"], "math": ["pi"]})
    try:
        assert pkg.__all__ == ["dumps", "loads", "pi"]
        assert "pi" in dir(pkg) and "pi" not in vars(pkg)
        assert pkg.pi == pytest.approx(3.141592653589793)
        assert vars(pkg)["pi"] == pkg.pi  # kept: the next look-up is a plain attribute
        import json

        assert pkg.loads is json.loads
    finally:
        del sys.modules["_lazy_probe"]


def test_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    pkg = _package("_lazy_probe2", {"math": ["pi"]})
    try:
        with pytest.raises(AttributeError, match="module '_lazy_probe2' has no attribute 'tau'"):
            pkg.tau  # noqa: B018
        assert not hasattr(pkg, "e")
    finally:
        del sys.modules["_lazy_probe2"]


def test_a_name_listed_under_two_modules_is_refused() -> None:
    with pytest.raises(ValueError, match="'pi' listed in math and cmath"):
        lazy_exports("_lazy_probe3", {"math": ["pi"], "cmath": ["pi"]})


def test_models_take_the_depth_vocabulary_from_depthduet_depth() -> None:
    import depthduet.depth as d
    import depthduet.models as m

    assert (m.normalize_depth, m.denormalize_depth, m.fill_invalid) == (
        d.normalize_depth,
        d.denormalize_depth,
        d.fill_invalid,
    )
    assert set(m.__all__) >= {"DSRNet", "normalize_depth", "fill_invalid", "prepare_lr"}
