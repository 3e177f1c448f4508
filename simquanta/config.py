"""Flat run configs (CLI flags, TOML files, JSON provenance) ↔ ``Simulation``.

A config is one flat table whose keys are the CLI flags with underscores:

    n_quanta = 100000      alpha = 0.5     offset = 0.0    tau = 5     gamma = -0.19
    acquisition = "threshold"    capacity = "inf"    policy = "reject"
    batch_size = 100    steps = 100000          # online, or:
    dataset_size = 20000    epochs = 5          # multi-epoch
    agents = 64    seed = 0    checkpoints = 40    engine = "auto"

plus the API-only keys listed in ``KEYS``. Unknown keys and wrong types are refused with
the key's name.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from .specs import Dataset, Learner, Online, Prerequisites, Quanta, Simulation, invalid

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_NUMBER = "a number"
_LIST_OR_NUMBER = "a number or a list of numbers"
#: key → human description of the accepted type (used in error messages)
KEYS: dict[str, str] = {
    "n_quanta": "an integer",
    "alpha": _NUMBER,
    "offset": _NUMBER,
    "frequencies": "a list of numbers",
    "learned_loss": _LIST_OR_NUMBER,
    "unlearned_loss": _LIST_OR_NUMBER,
    "cost": _LIST_OR_NUMBER,
    "tau": _LIST_OR_NUMBER,
    "gamma": _NUMBER,
    "capacity": 'a number, "inf", or a list of numbers',
    "acquisition": "a string",
    "policy": "a string",
    "eta": _NUMBER,
    "s0": _NUMBER,
    "speed_n0": _NUMBER,
    "speed_kappa": _NUMBER,
    "prerequisites": "a table with edges, mode and factor",
    "batch_size": "an integer",
    "steps": "an integer",
    "dataset_size": "an integer",
    "epochs": "an integer",
    "agents": "an integer",
    "seed": "an integer",
    "checkpoints": "an integer or a list of integers",
    "engine": "a string",
    "record_learn_steps": "true or false",
    "record_learned_sets": "true or false",
    "record_strength": "true or false",
    "first_agent": "an integer",
}

DEFAULTS: dict[str, Any] = {
    "n_quanta": 10_000,
    "alpha": 0.5,
    "offset": 0.0,
    "tau": 5.0,
    "acquisition": "threshold",
    "capacity": "inf",
    "policy": "reject",
    "batch_size": 100,
    "steps": 100_000,
    "agents": 64,
    "seed": 0,
    "checkpoints": 40,
    "engine": "auto",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_type(key: str, value: Any) -> None:
    kind = KEYS[key]
    ok = True
    if value is None:
        ok = key in ("frequencies", "gamma", "prerequisites", "eta", "s0", "speed_n0",
                     "speed_kappa")
    elif kind == "an integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == _NUMBER:
        ok = _is_number(value)
    elif kind == "a string":
        ok = isinstance(value, str)
    elif kind == "true or false":
        ok = isinstance(value, bool)
    elif kind in (_LIST_OR_NUMBER, "a list of numbers"):
        is_list = isinstance(value, list) and all(_is_number(v) for v in value)
        ok = is_list or (kind == _LIST_OR_NUMBER and _is_number(value))
    elif key == "capacity":
        ok = (_is_number(value) or value == "inf"
              or (isinstance(value, list) and all(_is_number(v) or v == "inf" for v in value)))
    elif key == "checkpoints":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, list) and all(isinstance(v, int) for v in value))
    elif key == "prerequisites":
        ok = isinstance(value, dict) and set(value) <= {"edges", "mode", "factor"}
    if not ok:
        raise invalid(key, value, f"must be {kind}")


def _capacity(value: Any) -> float | list[float]:
    if isinstance(value, list):
        return [math.inf if v == "inf" else float(v) for v in value]
    return math.inf if value == "inf" else float(value)


def simulation_from_config(config: dict[str, Any], *, fill_defaults: bool = True) -> Simulation:
    """Build a validated Simulation from a flat config (see module docstring)."""
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        raise invalid(unknown[0], config[unknown[0]],
                      f"unknown key; allowed keys: {', '.join(KEYS)}")
    for key, value in config.items():
        _check_type(key, value)
    cfg = dict(DEFAULTS) if fill_defaults else {}
    if "dataset_size" in config:
        cfg.pop("steps", None)
    cfg.update({k: v for k, v in config.items() if v is not None or k not in cfg})
    if "steps" in cfg and "dataset_size" in cfg:
        raise invalid("dataset_size", cfg["dataset_size"],
                      "give either steps (online) or dataset_size (multi-epoch), not both")
    if "steps" not in cfg and "dataset_size" not in cfg:
        raise invalid("steps", None, "give steps (online) or dataset_size (multi-epoch)")
    quanta = Quanta(**{k: cfg[k] for k in (
        "n_quanta", "alpha", "offset", "frequencies", "learned_loss", "unlearned_loss", "cost",
        "tau", "gamma") if k in cfg})
    prereq = cfg.get("prerequisites")
    learner = Learner(
        capacity=_capacity(cfg.get("capacity", "inf")),
        acquisition=cfg.get("acquisition", "threshold"),
        policy=cfg.get("policy", "reject"),
        prerequisites=None if prereq is None else Prerequisites(
            edges=[tuple(e) for e in prereq.get("edges", [])],
            mode=prereq.get("mode", "block"), factor=prereq.get("factor", 0.1)),
        **{k: cfg[k] for k in ("eta", "s0", "speed_n0", "speed_kappa") if k in cfg},
    )
    batch = cfg.get("batch_size", 1)
    if "dataset_size" in cfg:
        data: Online | Dataset = Dataset(size=cfg["dataset_size"], epochs=cfg.get("epochs", 1),
                                         batch_size=batch)
    else:
        if "epochs" in cfg:
            raise invalid("epochs", cfg["epochs"], "only applies with dataset_size")
        data = Online(steps=cfg["steps"], batch_size=batch)
    return Simulation(
        quanta=quanta, learner=learner, data=data,
        **{k: cfg[k] for k in ("agents", "seed", "checkpoints", "engine", "record_learn_steps",
                               "record_learned_sets", "record_strength", "first_agent")
           if k in cfg},
    )


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file; syntax errors become ValueError naming the file and line."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise invalid("config", str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config = {str(path)!r} is invalid: {exc}") from None
