"""Immutable, validated specifications of a simulation.

Conventions (Michaud et al. 2023): quanta are indexed k = 1..K in the equations and
0..K−1 in arrays; use frequencies follow the paper's Zipf law p_k ∝ (k + offset)^−(α+1);
losses are in bits per sample; capacity is in the same units as the per-quantum costs.

Every constructor validates its fields and raises ``ValueError`` naming the field, the
value and what is allowed, before anything is compiled or allocated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np

from .kernels import codes
from .validation import as_float_array, check_choice, check_int, check_real, invalid

ACQUISITIONS = tuple(codes.ACQUISITIONS)
POLICIES = tuple(codes.POLICIES)
PREREQUISITE_MODES = tuple(codes.PREREQUISITE_MODES)
ENGINES = ("exact", "events", "auto")
#: recorded per-agent arrays (learn steps: 8 bytes per agent and quantum; learned sets: 1 byte
#: per agent, checkpoint and quantum) are refused beyond this size.
LEARN_STEPS_MAX_BYTES = 2 * 1024**3
#: every step and sample count is an int64
INT64_MAX = 2**63 - 1
#: seeds are integers in [0, 2^64)
SEED_MAX = 2**64 - 1
#: per-quantum losses lie within ±LOSS_MAX bits, so every sum of them stays finite
LOSS_MAX = 1e300

ArrayLike = float | Sequence[float] | np.ndarray


def _per_quantum(field_name: str, value: ArrayLike, n_quanta: int, *, low: float,
                 low_open: bool = False) -> np.ndarray:
    """A scalar broadcast to K values, or an array of exactly K finite values >= low."""
    arr = as_float_array(field_name, value)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n_quanta):
        raise invalid(field_name, value, f"must be a number or an array of n_quanta = "
                                         f"{n_quanta} numbers")
    if not np.all(np.isfinite(arr)):
        raise invalid(field_name, value, "must be finite")
    if np.any(np.abs(arr) > LOSS_MAX):
        raise invalid(field_name, value, f"every value must lie within ±{LOSS_MAX:g}")
    bad = arr <= low if low_open else arr < low
    if np.any(bad):
        worst = float(np.ravel(arr)[np.argmax(np.ravel(bad))])
        raise invalid(field_name, worst, f"every value must be {'>' if low_open else '>='} {low}")
    if arr.ndim == 0:  # a read-only view with stride 0: no K-sized copy per field
        return np.broadcast_to(arr.astype(float), (n_quanta,))
    out = arr.astype(float)
    out.setflags(write=False)
    return out


def normalized_frequencies(freq: np.ndarray) -> np.ndarray:
    """p_k = f_k / Σ_j f_j for non-negative f with a positive maximum, computed as
    (f / max f) / Σ (f / max f): the sum of huge values would overflow."""
    freq = freq / freq.max()
    return freq / freq.sum()


def zipf_mandelbrot(n_quanta: int, alpha: float, offset: float = 0.0) -> np.ndarray:
    """p_k = (k + offset)^−(α+1) / Σ_j (j + offset)^−(α+1), k = 1..K (float64[K]; inputs
    assumed valid: K ≥ 1, α > −1, offset > −1)."""
    k = np.arange(1, n_quanta + 1, dtype=float)
    # Work in logs relative to the largest term so huge K and large α never underflow.
    with np.errstate(over="ignore", invalid="ignore"):
        log_w = -(alpha + 1.0) * np.log(k + offset)
        w = np.exp(log_w - log_w.max())
    if not np.all(np.isfinite(w)):
        # (α+1)·log(k+offset) overflowed (α near the float limit): the exponent relative to
        # k = 1, −(α+1)·(log(k+offset) − log(1+offset)) ≤ 0, cannot.
        with np.errstate(over="ignore"):
            w = np.exp(-(alpha + 1.0) * (np.log(k + offset) - np.log(1.0 + offset)))
    return w / w.sum()


def _freeze(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, eq=False)
class Quanta:
    """K quanta: use frequencies, losses, capacity costs and exposure thresholds.

    Frequencies: ``frequencies`` if given (any non-negative array, normalised), else the
    Zipf–Mandelbrot law p_k = (k + offset)^−(α+1) / Σ_j (j + offset)^−(α+1), k = 1..K.
    ``offset = 0`` is the paper's Zipf law.

    Losses: a sample that uses quantum k costs ``unlearned_loss`` b_k bits while k is not
    learned and ``learned_loss`` a_k once it is (defaults 1 and 0).

    Thresholds: with ``gamma=None``, τ_k = ``tau`` (scalar or per quantum). With a number
    γ, τ_k = τ · (p_k / p_ref)^−γ, where p_ref is the largest p_k for γ >= 0 and the
    smallest for γ < 0, so τ is the smallest threshold and expected steps to learn k
    scale as τ_k / p_k ∝ p_k^−(1+γ) (γ = 0: the paper's assumption; γ ≈ −0.19 matches the
    p_k^−0.81 the paper measured on sparse parity).
    """

    n_quanta: int
    alpha: float = 0.5
    offset: float = 0.0
    frequencies: ArrayLike | None = None
    learned_loss: ArrayLike = 0.0
    unlearned_loss: ArrayLike = 1.0
    cost: ArrayLike = 1.0
    tau: ArrayLike = 1.0
    gamma: float | None = None

    def __post_init__(self) -> None:
        k = check_int("n_quanta", self.n_quanta, 1)
        _freeze(self, "n_quanta", k)
        # α > 0: the model's power law (L_n − L∞ ∝ n^−α, ζ(α+1) finite); a flatter or
        # arbitrary law goes in through ``frequencies``.
        _freeze(self, "alpha", check_real("alpha", self.alpha, low=0.0, low_open=True))
        _freeze(self, "offset", check_real("offset", self.offset, low=-1.0, low_open=True))
        if self.frequencies is not None:
            freq = as_float_array("frequencies", self.frequencies)
            if freq.shape != (k,):
                raise invalid("frequencies", self.frequencies,
                              f"must be an array of n_quanta = {k} numbers")
            if not np.all(np.isfinite(freq)) or np.any(freq < 0):
                raise invalid("frequencies", self.frequencies,
                              "must be finite and non-negative")
            if freq.max() <= 0:
                raise invalid("frequencies", self.frequencies, "must have a positive sum")
            freq = normalized_frequencies(freq)
            freq.setflags(write=False)
            _freeze(self, "frequencies", freq)
        _freeze(self, "learned_loss", _per_quantum("learned_loss", self.learned_loss, k,
                                                   low=-math.inf))
        _freeze(self, "unlearned_loss", _per_quantum("unlearned_loss", self.unlearned_loss, k,
                                                     low=-math.inf))
        _freeze(self, "cost", _per_quantum("cost", self.cost, k, low=0.0))
        _freeze(self, "tau", _per_quantum("tau", self.tau, k, low=1.0))
        if self.gamma is not None:
            _freeze(self, "gamma", check_real("gamma", self.gamma, low=-1.0, high=10.0))
            if np.ptp(self.tau) != 0:
                raise invalid("tau", self.tau, "must be a single number when gamma is set")

    @cached_property
    def p(self) -> np.ndarray:
        """Use frequencies p_k (sum 1), float64[K]."""
        if self.frequencies is not None:
            return np.asarray(self.frequencies)
        p = zipf_mandelbrot(self.n_quanta, self.alpha, self.offset)
        p.setflags(write=False)
        return p

    @cached_property
    def gamma_factor(self) -> np.ndarray | None:
        """(p_k / p_ref)^−γ (dimensionless, float64[K]), or None without γ: the factor
        that multiplies τ (and divides the logistic rate η) so that the samples to learn k
        scale as p_k^−(1+γ)."""
        if self.gamma is None:
            return None
        p = self.p
        positive = p[p > 0]
        p_ref = positive.max() if self.gamma >= 0 else positive.min()
        with np.errstate(divide="ignore"):
            factor = np.where(p > 0, p / p_ref, 1.0) ** (-self.gamma)
        factor.setflags(write=False)
        return factor

    @cached_property
    def thresholds(self) -> np.ndarray:
        """Exposure thresholds τ_k >= 1, float64[K] (the threshold rule uses ⌈τ_k⌉)."""
        if self.gamma is None:
            return np.asarray(self.tau)
        tau = np.clip(self.tau[0] * self.gamma_factor, 1.0, 1e15)
        tau.setflags(write=False)
        return tau

    @cached_property
    def loss_gain(self) -> np.ndarray:
        """Loss removed by learning k: p_k (b_k − a_k), bits per sample."""
        return self.p * (self.unlearned_loss - self.learned_loss)

    def to_config(self) -> dict[str, Any]:
        return {
            "n_quanta": self.n_quanta,
            "alpha": self.alpha,
            "offset": self.offset,
            "frequencies": None if self.frequencies is None else self.p.tolist(),
            "learned_loss": _compact(self.learned_loss),
            "unlearned_loss": _compact(self.unlearned_loss),
            "cost": _compact(self.cost),
            "tau": _compact(self.tau),
            "gamma": self.gamma,
        }


def _compact(arr: np.ndarray) -> float | list[float]:
    """A per-quantum array as one number when constant, else a list (for configs)."""
    return float(arr[0]) if np.ptp(arr) == 0 else arr.tolist()


@dataclass(frozen=True, eq=False)
class Prerequisites:
    """A DAG over quanta: ``edges`` are (prerequisite, dependent) pairs of 0-based indices.

    ``block``: exposures of a quantum do not count while any prerequisite has never been
    learned. ``slow``: each such exposure counts with probability ``factor``.
    """

    edges: Sequence[tuple[int, int]]
    mode: Literal["block", "slow"] = "block"
    factor: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.edges, (str, bytes, dict)) or not isinstance(
                self.edges, (Sequence, np.ndarray)):
            raise invalid("prerequisites.edges", self.edges,
                          "must be a list of (prerequisite, dependent) pairs")
        check_choice("prerequisites.mode", self.mode, PREREQUISITE_MODES)
        _freeze(self, "factor", check_real("prerequisites.factor", self.factor, low=0.0,
                                           high=1.0, low_open=True))
        edges = []
        for edge in self.edges:
            if (not isinstance(edge, (tuple, list)) or len(edge) != 2
                    or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                               for v in edge) or min(edge) < 0):
                raise invalid("prerequisites.edges", edge,
                              "each edge must be a pair (prerequisite, dependent) of "
                              "quantum indices >= 0")
            if edge[0] == edge[1]:
                raise invalid("prerequisites.edges", edge, "a quantum cannot require itself")
            edges.append((int(edge[0]), int(edge[1])))
        _freeze(self, "edges", tuple(edges))
        cycle = _find_cycle(self.edges)
        if cycle:
            raise invalid("prerequisites.edges", cycle, "must form no cycle (this one does)")

    def validate_for(self, n_quanta: int) -> None:
        for edge in self.edges:
            if max(edge) >= n_quanta:
                raise invalid("prerequisites.edges", edge,
                              f"quantum indices must be < n_quanta = {n_quanta}")

    def to_config(self) -> dict[str, Any]:
        return {"edges": [list(e) for e in self.edges], "mode": self.mode, "factor": self.factor}


def _find_cycle(edges: Sequence[tuple[int, int]]) -> list[int] | None:
    import networkx as nx

    graph = nx.DiGraph(list(edges))
    try:
        return [u for u, _ in nx.find_cycle(graph)]
    except nx.NetworkXNoCycle:
        return None


@dataclass(frozen=True, eq=False)
class Learner:
    """The agent: capacity (cost units; a number, inf, or one value per agent), the
    dynamics family (``acquisition``), the capacity policy, optional prerequisites between
    quanta, the family's parameters and an optional size-dependent speed.

    Families (``simquanta.kernels.acquisition``, one module each):

    - ``threshold``: quantum k is ready at its ⌈τ_k⌉-th exposure.
    - ``geometric``: each exposure makes it ready with probability 1/τ_k.
    - ``logistic`` (Nam et al. 2024): continuous strength s(c) = 1/(1 + (1/s0 − 1)e^{−η c})
      after c exposures, ``eta`` η > 0 per exposure (scaled per quantum like τ when
      ``Quanta.gamma`` is set: η_k = η (p_k/p_ref)^γ), ``s0`` ∈ (0, ½); k holds a capacity
      slot from the exposure at which s reaches ½, and without one stays below ½.
    - ``resource`` (Liu et al. 2025): exposures of the quanta still in progress count
      1/U(t), U the share of the gradient signal still in play: a shared update budget.

    Policies: ``reject`` — a ready quantum that does not fit stays unlearned (first come,
    first kept); ``evict`` — it replaces learned quanta with strictly fewer exposures so far
    (fewest first), re-trying at each later exposure.

    Size-dependent speed: with ``speed_n0`` = n0 set, an agent of capacity n needs
    f = (1 + n0/n)^κ times the exposures (η divided by f), κ = ``speed_kappa`` (default 1):
    narrow models learn the same quantum slower; f = 1 at unlimited capacity.
    """

    capacity: float | Sequence[float] = math.inf
    acquisition: Literal["threshold", "geometric", "logistic", "resource"] = "threshold"
    policy: Literal["reject", "evict"] = "reject"
    prerequisites: Prerequisites | None = None
    eta: float | None = None
    s0: float | None = None
    speed_n0: float | None = None
    speed_kappa: float | None = None

    def __post_init__(self) -> None:
        check_choice("acquisition", self.acquisition, ACQUISITIONS)
        check_choice("policy", self.policy, POLICIES)
        cap = as_float_array("capacity", self.capacity)
        if cap.ndim > 1 or (cap.ndim == 1 and cap.size == 0):
            raise invalid("capacity", self.capacity, "must be a number or a 1-D list")
        if np.any(np.isnan(cap)) or np.any(cap < 0):
            raise invalid("capacity", self.capacity, "must be >= 0 (inf allowed)")
        if cap.ndim == 0:
            _freeze(self, "capacity", float(cap))
        else:
            cap.setflags(write=False)
            _freeze(self, "capacity", cap)
        if self.prerequisites is not None and not isinstance(self.prerequisites, Prerequisites):
            raise invalid("prerequisites", self.prerequisites, "must be a Prerequisites")
        self._check_family_parameters()
        if self.speed_n0 is None:
            if self.speed_kappa is not None:
                raise invalid("speed_kappa", self.speed_kappa, "needs speed_n0 (the law "
                                                               "f = (1 + n0/n)^kappa)")
        else:
            _freeze(self, "speed_n0", check_real("speed_n0", self.speed_n0, low=0.0))
            kappa = 1.0 if self.speed_kappa is None else self.speed_kappa
            _freeze(self, "speed_kappa", check_real("speed_kappa", kappa, low=0.0, high=10.0))
        if self.acquisition == "resource":
            if self.policy == "evict":
                raise invalid("policy", self.policy, "acquisition = resource supports reject "
                                                     "only (evict compares exposure counts, "
                                                     "which the shared budget reweights)")
            if self.prerequisites is not None and self.prerequisites.mode == "slow":
                raise invalid("prerequisites.mode", "slow", "acquisition = resource supports "
                                                            "block prerequisites only")

    def _check_family_parameters(self) -> None:
        """Each dynamics parameter is given only to a family that reads it (defaults from
        ``codes.PARAMETER_DEFAULTS``)."""
        used = codes.FAMILY_PARAMETERS[self.acquisition]
        for name in ("eta", "s0"):
            value = getattr(self, name)
            if name not in used:
                if value is not None:
                    users = [f for f, names in codes.FAMILY_PARAMETERS.items() if name in names]
                    raise invalid(name, value, f"is only used by acquisition = "
                                               f"{' or '.join(users)}, not {self.acquisition}")
                continue
            if value is None:
                value = codes.PARAMETER_DEFAULTS[name]
            if name == "eta":
                value = check_real("eta", value, low=0.0, low_open=True)
            else:
                value = check_real("s0", value, low=0.0, low_open=True, high=0.5)
                if value == 0.5:
                    raise invalid("s0", value, "must lie in (0, 0.5): s0 is the strength of "
                                               "an unseen quantum, below the learned mark ½")
            _freeze(self, name, value)

    def capacities(self, n_agents: int) -> np.ndarray:
        """Capacity of each agent, float64[n_agents]."""
        if np.ndim(self.capacity) == 0:
            return np.full(n_agents, float(self.capacity))
        if len(self.capacity) != n_agents:
            raise invalid("capacity", list(self.capacity),
                          f"a per-agent list must have agents = {n_agents} values")
        return np.asarray(self.capacity, dtype=float)

    def speed_factors(self, n_agents: int) -> np.ndarray:
        """f = (1 + n0/n)^κ per agent (n its capacity; 1 without a speed law or at n = ∞),
        float64[n_agents], capped at 1e12 (a capacity-0 agent learns nothing anyway)."""
        if self.speed_n0 is None:
            return np.ones(n_agents)
        with np.errstate(divide="ignore", invalid="ignore"):
            # n0 = 0 is no speed law, also at capacity 0 (0/0 would give NaN)
            ratio = (np.zeros(n_agents) if self.speed_n0 == 0
                     else self.speed_n0 / self.capacities(n_agents))
            factor = (1.0 + ratio) ** self.speed_kappa
        return np.minimum(factor, 1e12)

    def to_config(self) -> dict[str, Any]:
        cap = self.capacity
        config = {
            "capacity": _inf_str(cap) if np.ndim(cap) == 0 else [_inf_str(c) for c in cap],
            "acquisition": self.acquisition,
            "policy": self.policy,
            "prerequisites": None if self.prerequisites is None else self.prerequisites.to_config(),
        }
        # Only what is set, so configs (and sweep cell keys) of the counting families are
        # what they were before these fields existed.
        for name in ("eta", "s0", "speed_n0", "speed_kappa"):
            if getattr(self, name) is not None:
                config[name] = getattr(self, name)
        return config


def _inf_str(x: float) -> float | str:
    return "inf" if math.isinf(x) else float(x)


@dataclass(frozen=True)
class Online:
    """Online (single-epoch) data: ``steps`` steps, each a fresh batch of ``batch_size``
    samples drawn with replacement."""

    steps: int
    batch_size: int = 1

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1)
        check_int("steps", self.steps, 1)
        if self.steps * self.batch_size > INT64_MAX:
            raise invalid("steps", self.steps, f"steps × batch_size = {self.steps} × "
                                               f"{self.batch_size} samples exceeds 2^63 − 1 "
                                               "(int64); reduce steps or batch_size")

    @property
    def total_steps(self) -> int:
        return self.steps

    def samples_at(self, steps: np.ndarray) -> np.ndarray:
        """Samples seen after the given steps: steps × batch size."""
        return np.asarray(steps, dtype=np.int64) * self.batch_size

    def to_config(self) -> dict[str, Any]:
        return {"steps": self.steps, "batch_size": self.batch_size}


@dataclass(frozen=True)
class Dataset:
    """Multi-epoch data: a training set of ``size`` samples drawn once per agent, presented
    for ``epochs`` epochs in freshly shuffled batches of ``batch_size`` (the last batch of
    an epoch may be smaller). A quantum with fewer than ⌈τ_k⌉ examples is never learned."""

    size: int
    epochs: int = 1
    batch_size: int = 1

    def __post_init__(self) -> None:
        check_int("batch_size", self.batch_size, 1)
        check_int("dataset_size", self.size, 1)
        check_int("epochs", self.epochs, 1)
        if self.size < self.batch_size:
            raise invalid("dataset_size", self.size,
                          f"must be >= batch_size = {self.batch_size}")
        if self.size >= 2**31:
            raise invalid("dataset_size", self.size, "must be < 2^31")
        if self.epochs * self.size > INT64_MAX:
            raise invalid("epochs", self.epochs, f"epochs × dataset_size = {self.epochs} × "
                                                 f"{self.size} samples exceeds 2^63 − 1 "
                                                 "(int64); reduce epochs or dataset_size")

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.size // self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def samples_at(self, steps: np.ndarray) -> np.ndarray:
        """Samples presented after the given steps (repeats counted)."""
        steps = np.asarray(steps, dtype=np.int64)
        epochs, within = np.divmod(steps, self.steps_per_epoch)
        return epochs * self.size + np.minimum(within * self.batch_size, self.size)

    def to_config(self) -> dict[str, Any]:
        return {"dataset_size": self.size, "epochs": self.epochs, "batch_size": self.batch_size}


DataRegime = Online | Dataset


def checkpoint_steps(checkpoints: int | Sequence[int], total_steps: int) -> np.ndarray:
    """Checkpoint steps: a count n → n distinct steps log-spaced from 1 to total_steps
    (rounded; where rounding would repeat a step the next ones move up by one, so a count
    always gives exactly n, or every step when n >= total_steps); a list → those steps,
    sorted, duplicates dropped."""
    if isinstance(checkpoints, (int, np.integer)) and not isinstance(checkpoints, bool):
        count = check_int("checkpoints", checkpoints, 1)
        if count >= total_steps:  # every step (more cannot be distinct; bounds memory)
            return np.arange(1, total_steps + 1, dtype=np.int64)
        if count == 1:
            return np.array([total_steps], dtype=np.int64)
        grid = np.round(np.geomspace(1.0, float(total_steps), count))
        # float(total_steps) may round up past int64 (2^63 − 1 → 2^63): clip as floats
        # below 2^63, cast, and end exactly at total_steps.
        grid = np.minimum(grid, 2.0**62).astype(np.int64)
        grid[-1] = total_steps
        grid = np.maximum(grid, np.arange(1, count + 1))  # strictly increasing ...
        grid = np.maximum.accumulate(grid - np.arange(count)) + np.arange(count)
        # ... and room for the later ones below total_steps
        return np.minimum(grid, total_steps - np.arange(count)[::-1])
    try:
        steps = np.asarray(checkpoints)
    except (TypeError, ValueError):
        steps = None
    if (steps is None or steps.ndim != 1 or steps.size == 0
            or not np.issubdtype(steps.dtype, np.integer)
            or any(isinstance(c, (bool, np.bool_)) for c in np.ravel(
                np.asarray(checkpoints, dtype=object)))):
        raise invalid("checkpoints", checkpoints, "must be a count >= 1 or a list of steps")
    if steps.min() < 1 or steps.max() > total_steps:
        raise invalid("checkpoints", checkpoints,
                      f"steps must lie within the run, 1..{total_steps}")
    return np.unique(steps.astype(np.int64))


@dataclass(frozen=True, eq=False)
class Simulation:
    """Everything that defines a run: quanta, learner, data, agents, seed, checkpoints."""

    quanta: Quanta
    learner: Learner = field(default_factory=Learner)
    data: DataRegime = field(default_factory=lambda: Online(steps=1000))
    agents: int = 1
    seed: int = 0
    checkpoints: int | Sequence[int] = 40
    engine: Literal["exact", "events", "auto"] = "auto"
    record_learn_steps: bool = False
    record_learned_sets: bool = False
    record_strength: bool = False
    first_agent: int = 0
    #: the checkpoint steps, resolved from ``checkpoints`` at construction
    checkpoint_steps: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name, kind in (("quanta", Quanta), ("learner", Learner)):
            if not isinstance(getattr(self, name), kind):
                raise invalid(name, getattr(self, name), f"must be a {kind.__name__}")
        if not isinstance(self.data, (Online, Dataset)):
            raise invalid("data", self.data, "must be Online(...) or Dataset(...)")
        check_int("agents", self.agents, 1)
        check_int("seed", self.seed, 0)
        if self.seed > SEED_MAX:
            raise invalid("seed", self.seed, "must be an integer in [0, 2^64)")
        check_int("first_agent", self.first_agent, 0)
        if self.first_agent + self.agents > INT64_MAX:
            raise invalid("first_agent", self.first_agent,
                          "first_agent + agents must be < 2^63 (agent indices are int64)")
        check_choice("engine", self.engine, ENGINES)
        if not isinstance(self.record_learn_steps, bool):
            raise invalid("record_learn_steps", self.record_learn_steps, "must be true or false")
        for name in ("record_learned_sets", "record_strength"):
            if not isinstance(getattr(self, name), bool):
                raise invalid(name, getattr(self, name), "must be true or false")
        _freeze(self, "checkpoint_steps", checkpoint_steps(self.checkpoints,
                                                           self.data.total_steps))
        if self.record_learned_sets:
            need = self.agents * self.checkpoint_steps.size * self.quanta.n_quanta
            if need > LEARN_STEPS_MAX_BYTES:
                raise invalid("record_learned_sets", True,
                              f"agents × checkpoints × n_quanta bytes = {need / 2**30:.1f} GiB "
                              f"exceeds the {LEARN_STEPS_MAX_BYTES / 2**30:.0f} GiB limit; "
                              "record fewer agents or checkpoints per call")
        if self.record_strength:
            need = self.agents * self.checkpoint_steps.size * self.quanta.n_quanta * 8
            if need > LEARN_STEPS_MAX_BYTES:
                raise invalid("record_strength", True,
                              f"agents × checkpoints × n_quanta × 8 bytes = {need / 2**30:.1f} "
                              f"GiB exceeds the {LEARN_STEPS_MAX_BYTES / 2**30:.0f} GiB limit; "
                              "record fewer agents or checkpoints per call")
        if self.record_learn_steps:
            need = self.agents * self.quanta.n_quanta * 8
            if need > LEARN_STEPS_MAX_BYTES:
                raise invalid("record_learn_steps", True,
                              f"agents × n_quanta × 8 bytes = {need / 2**30:.1f} GiB exceeds "
                              f"the {LEARN_STEPS_MAX_BYTES / 2**30:.0f} GiB limit; record "
                              "fewer agents per call (results are split-invariant)")
        if np.ndim(self.learner.capacity) == 1 and len(self.learner.capacity) != self.agents:
            raise invalid("capacity", list(self.learner.capacity),
                          f"a per-agent list must have agents = {self.agents} values")
        if self.learner.prerequisites is not None:
            self.learner.prerequisites.validate_for(self.quanta.n_quanta)

    def to_config(self) -> dict[str, Any]:
        """Flat, JSON-serialisable config (the same fields as the CLI and TOML files)."""
        config: dict[str, Any] = {}
        config.update(self.quanta.to_config())
        config.update(self.learner.to_config())
        config.update(self.data.to_config())
        checkpoints = self.checkpoints
        if np.ndim(checkpoints) == 0:
            checkpoints = int(checkpoints)
        else:
            checkpoints = [int(c) for c in checkpoints]
        config.update({
            "agents": self.agents,
            "seed": self.seed,
            "checkpoints": checkpoints,
            "engine": self.engine,
            "record_learn_steps": self.record_learn_steps,
            "record_learned_sets": self.record_learned_sets,
            "first_agent": self.first_agent,
        })
        if self.record_strength:  # only when set: older configs and cell keys unchanged
            config["record_strength"] = True
        return config
