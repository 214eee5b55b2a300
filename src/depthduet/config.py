"""Typed configuration: dataclasses, YAML files and ``key=value`` overrides.

Every command and recipe describes its settings as a ``@dataclass`` (nested dataclasses for
sections). :func:`load_config` merges, in order,

1. the dataclass defaults,
2. a YAML file (optionally naming ``base: other.yaml`` files it extends, resolved relative to it),
3. ``key=value`` overrides from the command line (dotted keys, YAML-typed values),

and validates the result against the schema: an unknown key or a value of the wrong type raises
:class:`ConfigError` naming the key and the file it came from. :func:`save_config` writes the
resolved configuration as YAML; every command writes it next to its outputs.

Example::

    @dataclass
    class Optim:
        lr: float = 1e-4

    @dataclass
    class Cfg:
        optim: Optim = field(default_factory=Optim)
        epochs: int = 10

    cfg = load_config(Cfg, "configs/dsr/world_x4.yaml", ["optim.lr=2e-4", "epochs=3"])
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from depthduet.errors import UserError
from depthduet.io import atomic_write

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "check_min",
    "check_range",
    "load_config",
    "load_yaml",
    "merge_overrides",
    "resolve_config_path",
    "save_config",
    "to_dict",
    "config_dir",
    "validate_config",
]


class ConfigError(UserError, ValueError):
    """A configuration file or override is invalid (unknown key, wrong type, bad YAML)."""


def check_min(
    name: str, value: float, lo: float = 0, *, strict: bool = False, got: bool = False
) -> None:
    """The check of a ``validate()`` method: raise ``ValueError("<name>: must be >= <lo>")``
    (``> <lo>`` when ``strict``; ``, got <value>`` appended when ``got``) unless ``value`` is
    at least ``lo`` (NaN never is)."""
    if not (value > lo if strict else value >= lo):
        detail = f", got {value}" if got else ""
        raise ValueError(f"{name}: must be {'>' if strict else '>='} {lo}{detail}")


def check_range(name: str, value: float, lo: float, hi: float, *, hi_open: bool = False) -> None:
    """The check of a ``validate()`` method: raise
    ``ValueError("<name>: must be in [<lo>, <hi>], got <value>")`` (``[lo, hi)`` when
    ``hi_open``) unless ``value`` lies in that interval (NaN never does)."""
    if not (lo <= value < hi if hi_open else lo <= value <= hi):
        raise ValueError(f"{name}: must be in [{lo}, {hi}{')' if hi_open else ']'}, got {value}")


def config_dir() -> Path:
    """Directory of the configuration files shipped inside the package (``configs/`` in the repo)."""
    return Path(str(resources.files("depthduet") / "configs"))


def resolve_config_path(name: str | os.PathLike[str]) -> Path:
    """Find a configuration file.

    ``name`` may be a path (``configs/dsr/world_x4.yaml``), or a name relative to the shipped
    configs with or without suffix (``dsr/world_x4``).
    """
    p = Path(name)
    if p.is_file():
        return p
    candidates = [config_dir() / p, config_dir() / p.with_suffix(".yaml")]
    if p.parts and p.parts[0] == "configs":
        rel = Path(*p.parts[1:])
        candidates += [config_dir() / rel, config_dir() / rel.with_suffix(".yaml")]
    for c in candidates:
        if c.is_file():
            return c
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, expected a YAML configuration file")
    names = {p.name, p.with_suffix(".yaml").name}
    similar = sorted(
        str(f.relative_to(config_dir())) for f in config_dir().rglob("*.yaml") if f.name in names
    )
    hint = f"; shipped configs of that name: {', '.join(similar)}" if similar else ""
    raise ConfigError(f"{p}: configuration file not found (looked in . and {config_dir()}){hint}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key that appears twice in one mapping (PyYAML keeps the
    last one silently, so a typo'd override in a long file would go unnoticed)."""


def _mapping_unique(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            continue  # PyYAML reports unhashable keys itself
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_unique)


def load_yaml(path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML mapping, following ``base:`` (a file name or a list of them) recursively.

    Keys of the file override keys of its bases (deep merge of mappings).

    Raises:
        ConfigError: a missing, unreadable, non-UTF-8 or invalid file, a key given twice in one
            mapping, or a ``base:`` chain that comes back to a file already in it.
    """
    path = resolve_config_path(path)
    real = path.resolve()
    if real in _chain:
        cycle = " -> ".join(p.name for p in (*_chain, real))
        raise ConfigError(f"{path}: base: files form a cycle ({cycle})")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except yaml.YAMLError as e:
        detail = " ".join(str(e).split())  # PyYAML's message spans lines: keep one
        raise ConfigError(f"{path}: not valid YAML: {detail}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    bases = data.pop("base", None)
    if bases is None:
        return data
    merged: dict[str, Any] = {}
    for b in [bases] if isinstance(bases, str) else list(bases):
        bp = Path(b)
        if not bp.is_absolute():
            local = path.parent / bp
            bp = local if local.is_file() or local.with_suffix(".yaml").is_file() else bp
        if bp.suffix == "" and bp.with_suffix(".yaml").is_file():
            bp = bp.with_suffix(".yaml")
        merged = _deep_merge(merged, load_yaml(bp, (*_chain, real)))
    return _deep_merge(merged, data)


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected key=value (e.g. optim.lr=1e-4)")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part.isidentifier() for part in key.split(".")):
        raise ConfigError(f"override {item!r}: {key!r} is not a dotted key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def merge_overrides(base: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key=value`` strings to a plain nested dict (values parsed as YAML scalars/lists)."""
    out = _deep_merge({}, base)
    for item in overrides:
        key, value = _parse_override(item)
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value
    return out


def _schema_error(
    e: OmegaConfBaseException, source: str, cfg: DictConfig | None = None
) -> ConfigError:
    """One-line error naming the key; for an unknown key, the keys that exist at its level."""
    key = getattr(e, "full_key", None) or ""
    msg = (getattr(e, "msg", None) or str(e) or type(e).__name__).splitlines()[0]
    where = f" (from {source})" if source else ""
    if key and cfg is not None and isinstance(e, ConfigKeyError):
        parent = OmegaConf.select(cfg, key.rpartition(".")[0]) if "." in key else cfg
        if isinstance(parent, DictConfig):
            msg += f" (valid keys here: {', '.join(str(k) for k in parent.keys())})"
    if key:
        return ConfigError(f"config key {key!r}{where}: {msg}")
    return ConfigError(f"config{where}: {msg}")


def load_config(
    schema: type[T],
    path: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    *,
    data: dict[str, Any] | None = None,
) -> T:
    """Build a validated ``schema`` instance from defaults, a YAML file and overrides.

    Args:
        schema: a dataclass type (nested dataclasses allowed).
        path: YAML file or shipped config name; ``None`` for defaults only.
        overrides: ``key=value`` strings, applied after the file.
        data: an already-loaded mapping applied between the file and the overrides.

    Returns:
        An instance of ``schema`` (real dataclass objects, not OmegaConf nodes).

    Raises:
        ConfigError: unknown key, wrong type or unreadable file; the message names the key.
    """
    if not dataclasses.is_dataclass(schema):
        raise TypeError(f"{schema!r} is not a dataclass")
    cfg: DictConfig = OmegaConf.structured(schema)
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        layers.append((str(resolve_config_path(path)), load_yaml(path)))
    if data:
        layers.append(("<data>", data))
    for source, layer in layers:
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.create(layer))
        except OmegaConfBaseException as e:
            raise _schema_error(e, source, cfg) from None
    for item in overrides:
        key, value = _parse_override(item)
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([f"{key}={_dump(value)}"]))
        except OmegaConfBaseException as e:
            raise _schema_error(e, f"override {item!r}", cfg) from None
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        raise _schema_error(e, "") from None
    validate_config(obj)
    return obj  # type: ignore[return-value]


def validate_config(cfg: Any) -> None:
    """The checks of a loaded file on a configuration built in Python: no NaN or infinity
    anywhere, and ``validate()`` of every section; a one-line :class:`ConfigError` naming the
    key otherwise."""
    _check_finite(cfg, "")
    _check_post_init(cfg)


def _check_finite(value: Any, key: str) -> None:
    """Refuse NaN and infinity anywhere in a configuration (``optim.lr=nan`` passes every
    ``<= 0`` check and trains NaN weights); the message names the key."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key}: {value} is not a finite number")
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _check_finite(getattr(value, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]")


def _dump(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def _check_post_init(obj: Any) -> None:
    """Call ``validate()`` on every dataclass in the tree that defines it."""
    if dataclasses.is_dataclass(obj):
        validate = getattr(obj, "validate", None)
        if callable(validate):
            try:
                validate()
            except ValueError as e:
                raise ConfigError(str(e)) from None
        for f in dataclasses.fields(obj):
            _check_post_init(getattr(obj, f.name))


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain nested dict of a config dataclass (tuples become lists, paths strings)."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, os.PathLike):
            return os.fspath(v)
        if hasattr(v, "value") and hasattr(v, "name") and type(v).__module__ != "builtins":
            return v.value  # enums
        return v

    return conv(cfg)


def save_config(
    cfg: Any, path: str | os.PathLike[str], extra: dict[str, Any] | None = None
) -> Path:
    """Write the resolved configuration as YAML (atomically, with ``fsync``:
    :func:`depthduet.io.atomic_write`); ``extra`` adds top-level keys.

    Returns the written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_dict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)
    if extra:
        data = {**data, **extra}
    text = yaml.safe_dump(data, sort_keys=False)
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))
