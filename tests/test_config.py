from dataclasses import dataclass, field

import pytest

from depthduet.config import ConfigError, load_config, load_yaml, save_config


@dataclass
class Optim:
    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class Cfg:
    optim: Optim = field(default_factory=Optim)
    epochs: int = 10
    name: str = "x"

    def validate(self) -> None:
        if self.epochs < 0:
            raise ValueError("epochs: must be >= 0")


def test_defaults_file_and_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("epochs: 3\noptim:\n  lr: 0.01\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\nname: child\n")
    cfg = load_config(Cfg, child, ["optim.lr=2e-3", "optim.betas=[0.5,0.9]"])
    assert isinstance(cfg, Cfg) and isinstance(cfg.optim, Optim)
    assert cfg.epochs == 3 and cfg.name == "child"
    assert cfg.optim.lr == pytest.approx(2e-3)
    assert cfg.optim.betas == [0.5, 0.9]


def test_unknown_key_named(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("optim:\n  lrr: 1\n")
    with pytest.raises(ConfigError, match="lrr"):
        load_config(Cfg, p)
    with pytest.raises(ConfigError, match="nope") as e:
        load_config(Cfg, None, ["nope=1"])
    assert "\n" not in str(e.value)  # one line
    with pytest.raises(ConfigError, match=r"valid keys here: lr") as e:
        load_config(Cfg, None, ["optim.lrr=1"])
    with pytest.raises(ConfigError, match=r"valid keys here: .*optim"):
        load_config(Cfg, None, ["optim2.lr=1"])


def test_wrong_type_named():
    with pytest.raises(ConfigError, match="epochs"):
        load_config(Cfg, None, ["epochs=many"])


def test_validate_and_bad_override():
    with pytest.raises(ConfigError, match="epochs"):
        load_config(Cfg, None, ["epochs=-1"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(Cfg, None, ["epochs"])


def test_bad_yaml_and_missing(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="bad.yaml") as e:
        load_yaml(p)
    assert "\n" not in str(e.value)  # one error line, although PyYAML's message spans three
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")
    # a shipped config named without its folder: the error points to it
    with pytest.raises(ConfigError, match="shipped configs of that name: dsr/world_x4.yaml"):
        load_yaml("world_x4")


def test_save_roundtrip(tmp_path):
    cfg = load_config(Cfg, None, ["epochs=7"])
    out = save_config(cfg, tmp_path / "resolved.yaml", extra={"git": "abc"})
    again = load_yaml(out)
    assert again["epochs"] == 7 and again["git"] == "abc"
    assert load_config(Cfg, None, data={k: v for k, v in again.items() if k != "git"}) == cfg
