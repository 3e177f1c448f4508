"""Flat run configs (CLI flags, TOML files, JSON provenance) ↔ ``Simulation``.

A config is one flat table whose keys are the CLI flags with underscores:

    n_quanta = 100000      alpha = 0.5     offset = 0.0    tau = 5     gamma = -0.19
    acquisition = "threshold"    capacity = "inf"    policy = "reject"
    batch_size = 100    steps = 100000          # online, or:
    dataset_size = 20000    epochs = 5          # multi-epoch
    agents = 64    seed = 0    checkpoints = 40    engine = "auto"

plus the API-only keys listed in ``KEYS``. Unknown keys and wrong types are refused with
the key's name.

Defaults: ``DEFAULTS`` is the one source of the run-config defaults (``simquanta simulate``,
``--config`` files, a sweep's ``[base]``); the CLI's ``--help`` reads it. They describe a
demonstration run (64 agents, K = 10⁴, τ = 5, 10⁵ steps of 100 samples) and deliberately
differ from the Python constructors' defaults (``Quanta(tau=1)``: the bare model, one
exposure learns; ``Online(batch_size=1)``; ``Simulation(agents=1)``), which belong to the
spec classes. With ``fill_defaults=False`` only the constructors' defaults apply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .specs import Dataset, Learner, Online, Prerequisites, Quanta, Simulation
from .validation import invalid, is_integer, is_number, load_toml

__all__ = ["DEFAULTS", "KEYS", "load_toml", "simulation_from_config"]


class _Kind(str):
    """A type as the messages describe it ("an integer"), carrying its own check."""

    check: Callable[[Any], bool]

    def __new__(cls, description: str, check: Callable[[Any], bool]) -> _Kind:
        kind = super().__new__(cls, description)
        kind.check = check
        return kind


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _number_or_inf(value: Any) -> bool:
    return is_number(value) or value == "inf"


_INTEGER = _Kind("an integer", is_integer)
_NUMBER = _Kind("a number", is_number)
_STRING = _Kind("a string", lambda v: isinstance(v, str))
_BOOL = _Kind("true or false", lambda v: isinstance(v, bool))
_LIST_OR_NUMBER = _Kind("a number or a list of numbers",
                        lambda v: is_number(v) or _list_of(is_number)(v))
#: key → the accepted type (its text is what error messages say)
KEYS: dict[str, _Kind] = {
    "n_quanta": _INTEGER,
    "alpha": _NUMBER,
    "offset": _NUMBER,
    "frequencies": _Kind("a list of numbers", _list_of(is_number)),
    "learned_loss": _LIST_OR_NUMBER,
    "unlearned_loss": _LIST_OR_NUMBER,
    "cost": _LIST_OR_NUMBER,
    "tau": _LIST_OR_NUMBER,
    "gamma": _NUMBER,
    "capacity": _Kind('a number, "inf", or a list of numbers',
                      lambda v: _number_or_inf(v) or _list_of(_number_or_inf)(v)),
    "acquisition": _STRING,
    "policy": _STRING,
    "eta": _NUMBER,
    "s0": _NUMBER,
    "speed_n0": _NUMBER,
    "speed_kappa": _NUMBER,
    "prerequisites": _Kind("a table with edges, mode and factor",
                           lambda v: isinstance(v, dict) and set(v) <= {"edges", "mode",
                                                                         "factor"}),
    "batch_size": _INTEGER,
    "steps": _INTEGER,
    "dataset_size": _INTEGER,
    "epochs": _INTEGER,
    "agents": _INTEGER,
    "seed": _INTEGER,
    "checkpoints": _Kind("an integer or a list of integers",
                         lambda v: is_integer(v) or _list_of(is_integer)(v)),
    "engine": _STRING,
    "record_learn_steps": _BOOL,
    "record_learned_sets": _BOOL,
    "record_strength": _BOOL,
    "first_agent": _INTEGER,
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


#: keys that may be null (unset) in a config
_NULLABLE = ("frequencies", "gamma", "prerequisites", "eta", "s0", "speed_n0", "speed_kappa")


def _check_type(key: str, value: Any) -> None:
    kind = KEYS[key]
    if not (key in _NULLABLE if value is None else kind.check(value)):
        raise invalid(key, value, f"must be {kind}")


def _integral(key: str, value: Any) -> Any:
    """An integer key written as an integral float (``steps = 1e6`` in TOML) → int."""
    if KEYS[key] is _INTEGER and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


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
    config = {key: _integral(key, value) for key, value in config.items()}
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
    # Keys the config leaves unset take the spec classes' own defaults (see module docstring).
    prereq = cfg.get("prerequisites")
    learner = Learner(
        **{k: cfg[k] for k in ("acquisition", "policy", "eta", "s0", "speed_n0", "speed_kappa")
           if k in cfg},
        **({"capacity": _capacity(cfg["capacity"])} if "capacity" in cfg else {}),
        prerequisites=None if prereq is None else Prerequisites(
            edges=[tuple(e) if isinstance(e, list) else e for e in prereq.get("edges", [])]
            if isinstance(prereq.get("edges", []), list) else prereq["edges"],
            **{k: prereq[k] for k in ("mode", "factor") if k in prereq}),
    )
    batch = {"batch_size": cfg["batch_size"]} if "batch_size" in cfg else {}
    if "dataset_size" in cfg:
        data: Online | Dataset = Dataset(size=cfg["dataset_size"], **batch,
                                         **{k: cfg[k] for k in ("epochs",) if k in cfg})
    else:
        if "epochs" in cfg:
            raise invalid("epochs", cfg["epochs"], "only applies with dataset_size")
        data = Online(steps=cfg["steps"], **batch)
    return Simulation(
        quanta=quanta, learner=learner, data=data,
        **{k: cfg[k] for k in ("agents", "seed", "checkpoints", "engine", "record_learn_steps",
                               "record_learned_sets", "record_strength", "first_agent")
           if k in cfg},
    )
