"""Capability planner: the model-size floor of each task, its data floor, and the
iso-success frontier between them (``simquanta plan``, :func:`plan`).

For every task of a composition graph (or the inner nodes asked for) and a success target
P, the planner searches, over simulated learners:

* **capacity floor** N*: the smallest capacity (cost units; quanta when every cost is 1) at
  which mean task success ≥ P when data and steps are unlimited — *converged* learners.
  ``reject``: online training until every quantum with p_k > 0 has become ready (the events
  engine's cost does not depend on the horizon), so a learner holds the first quanta to
  become ready that fit. ``evict``: the converged state is the limit t → ∞, in which
  exposure counts order the quanta by frequency, so a learner of capacity n holds the n most
  frequent quanta (equal costs; ties between equal frequencies broken at random per agent);
  that limit is evaluated directly (the events engine records no learned sets under evict,
  and the exact engine cannot reach t → ∞).
* **data floor** D*: the smallest training-set size at which success ≥ P with unlimited
  capacity, in the dataset regime trained long enough that every example's exposures count:
  quantum k is learned iff its example count D_k ~ Binomial(D, p_k) reaches ⌈τ_k⌉ (threshold:
  one epoch does it; geometric: E epochs with (1 − 1/τ_k)^(⌈τ_k⌉E) ≤ 10⁻⁶ for every k).
* **steps floor** S*: the smallest number of online steps at the data's batch size with
  unlimited capacity (one simulation with first-learn steps; success at any S is read off).
* **frontier**: for capacities n ≥ N*, the smallest D reaching P with capacity n (same
  dataset rule, the learner's policy), interpolated on a (n, D) grid; the compute-optimal
  point minimises n·D (compute ∝ N·D, N = n × params per quantum).

Search. Every floor is found by monotone bracketing plus bisection on integers: the
range ends are simulated first (the upper end decides "out of reach"), a start guess
brackets the floor (capacity: the evict limit, exact for ``evict``; data: the closed form
P(success) = rule applied to P(Binomial(D, p_k) ≥ ⌈τ_k⌉), exact for read-once graphs of
independent quanta), then bisection (geometric midpoints) until the gap below the floor is
≤ max(1, rtol·floor). Each evaluated point is one simulation of ``agents`` learners with
common random numbers (same seed, same agent streams at every point) whose per-agent task
values serve every task. Under unlimited capacity without prerequisites, quanta are
independent, so the data and steps searches simulate only the graph's quanta plus one lumped
quantum holding the rest of the probability mass (the same joint law of the graph's counts).

Floor estimate: the smallest evaluated point x with mean success ≥ P at x and at every
evaluated point above it. 95 % interval: percentile bootstrap over agents (resampled jointly
at every point, ``simquanta.analysis.stats``) of that estimate; the search also refines the
gaps that hold the interval's ends, to max(1, ci_rtol·x).

Classes (the reference model is the learner's capacity N0 and the data's size D0 —
training-set size — or, online, its steps S0, compared with the steps floor):

* ``out of reach``: no capacity floor or no data floor within the searched ranges (also when
  the task cannot reach P even with every quantum learned);
* ``size-limited``: N0 < N* and D0 ≥ D* — only a bigger model buys it;
* ``data-limited``: N0 ≥ N* and D0 < D* — more data (or steps) buys it at this size;
* ``both``: N0 < N* and D0 < D*;
* ``neither``: N0 ≥ N* and D0 ≥ D* — each floor is met (whether the pair reaches P jointly is
  read off the frontier).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from .analysis import theory
from .analysis.stats import percentile_ci, resample_counts, sem
from .composition import CompositionGraph, parse_quantum, quantum_label
from .simulate import simulate, with_learned_state
from .specs import Dataset, Learner, Online, Quanta, Simulation
from .validation import check_int, check_real, invalid

__all__ = ["CLASSES", "PlanResult", "TaskEvaluator", "TaskPlan", "closed_form_floors", "plan",
           "closed_form_success", "compact_quanta", "evict_dataset_limit", "plan_simulation"]

#: class names, in the order the rule is stated
CLASSES = ("size-limited", "data-limited", "both", "neither", "out of reach")
#: largest training-set size a Dataset accepts
MAX_DATASET = 2**31 - 1
#: geometric rule: epochs until a learnable quantum stays unlearned with probability ≤ this
EPOCH_MISS = 1e-6
#: converged online horizon: this many times the samples the slowest quantum needs on average
HORIZON_FACTOR = 40.0
#: frontier grid: at most this many capacities; D up to this many times the largest floor
MAX_FRONTIER_CAPS = 16
FRONTIER_DATA_SPAN = 30.0
_EPS = 1e-9  # success ≥ target − _EPS counts as reaching it (means of 0/1 values)


def task_names(graph: CompositionGraph, tasks: Sequence[str] | None) -> list[str]:
    """The tasks to plan: the graph's tasks by default (``CompositionGraph.tasks``, the one
    definition), else the given inner-node names, each checked."""
    if tasks is None:
        return list(graph.tasks)
    names = list(tasks)
    if not names:
        raise invalid("tasks", names, "must name at least one task")
    inner = graph.inner_nodes
    for name in names:
        if name not in inner:
            raise invalid("tasks", name, f"is not a node of the graph; its tasks are "
                                         f"{', '.join(graph.tasks)}")
    if len(set(names)) != len(names):
        raise invalid("tasks", names, "lists a task twice")
    return names


@dataclass
class TaskPlan:
    """One task's floors (None: out of reach in the searched range), 95 % intervals
    (an end None: beyond the searched range), class and frontier."""

    name: str
    capacity_floor: int | None
    capacity_floor_ci: tuple[float | None, float | None]
    data_floor: int | None
    data_floor_ci: tuple[float | None, float | None]
    steps_floor: int | None
    steps_floor_ci: tuple[float | None, float | None]
    cls: str
    frontier: list[tuple[int, int]]
    compute_optimal: tuple[int, int] | None
    closed_form_data_floor: int | None = None
    success_at_full: float = float("nan")


@dataclass
class Curve:
    """Mean task success (and its standard error) at the evaluated points of one axis."""

    x: np.ndarray  # (m,)
    mean: np.ndarray  # (m, T)
    sem: np.ndarray  # (m, T)


@dataclass
class PlanResult:
    """What :func:`plan` returns: per-task plans plus the curves and grid behind them."""

    target: float
    tasks: dict[str, TaskPlan]
    reference: dict[str, Any]
    settings: dict[str, Any]
    curves: dict[str, Curve]
    frontier_grid: dict[str, Any] | None
    n_simulations: int
    simulate_calls: int
    wall_seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``simquanta plan --json`` object (null where out of reach)."""

        def num(x):
            if x is None or (isinstance(x, float) and not math.isfinite(x)):
                return None
            return int(x) if float(x).is_integer() else float(x)

        out: dict[str, Any] = {}
        for name, t in self.tasks.items():
            out[name] = {
                "capacity_floor": num(t.capacity_floor),
                "capacity_floor_ci": [num(v) for v in t.capacity_floor_ci],
                "data_floor": num(t.data_floor),
                "data_floor_ci": [num(v) for v in t.data_floor_ci],
                "steps_floor": num(t.steps_floor),
                "steps_floor_ci": [num(v) for v in t.steps_floor_ci],
                "class": t.cls,
                "frontier": [[num(n), num(d)] for n, d in t.frontier],
            }
        return {"target": self.target, "tasks": out}

    def to_dataframe(self):
        """One row per task (pandas): floors, interval ends, class, compute-optimal point,
        parameters beside quanta when ``params_per_quantum`` was given."""
        import pandas as pd

        c = self.settings.get("params_per_quantum")
        rows = []
        for t in self.tasks.values():
            row = {"task": t.name, "class": t.cls}
            for key in ("capacity_floor", "data_floor", "steps_floor"):
                lo, hi = getattr(t, key + "_ci")
                row[key] = getattr(t, key)
                row[key + "_lo"] = lo
                row[key + "_hi"] = hi
            if c is not None:
                row["params_floor"] = None if t.capacity_floor is None else t.capacity_floor * c
            row["compute_optimal_capacity"] = (None if t.compute_optimal is None
                                               else t.compute_optimal[0])
            row["compute_optimal_data"] = (None if t.compute_optimal is None
                                           else t.compute_optimal[1])
            row["frontier_points"] = len(t.frontier)
            rows.append(row)
        return pd.DataFrame(rows).set_index("task")


# ---------------------------------------------------------------------------- search


class _Axis:
    """Per-agent task values at integer points of one axis, evaluated on demand, cached."""

    def __init__(self, name: str, run: Callable[[list[int]], np.ndarray], lo: int, hi: int):
        self.name, self.run, self.lo, self.hi = name, run, lo, hi
        self.cache: dict[int, np.ndarray] = {}

    def ensure(self, xs) -> None:
        new = sorted({int(min(max(x, self.lo), self.hi)) for x in xs} - set(self.cache))
        if new:
            for x, v in zip(new, self.run(new), strict=True):
                self.cache[x] = np.asarray(v, dtype=np.float64)

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        xs = np.array(sorted(self.cache), dtype=np.int64)
        return xs, np.stack([self.cache[int(x)] for x in xs])  # (m, R, T)


def _floor_index(p: np.ndarray, target: float) -> np.ndarray:
    """Index along axis −2 of the smallest point at and above which every value reaches the
    target; the axis length where the last point does not."""
    ok = p >= target - _EPS
    suffix = np.flip(np.logical_and.accumulate(np.flip(ok, axis=-2), axis=-2), axis=-2)
    m = p.shape[-2]
    return np.where(suffix.any(axis=-2), suffix.argmax(axis=-2), m)


def _mid(lo: int, hi: int) -> int:
    """Geometric midpoint of (lo + 1, hi + 1), minus 1, strictly inside (lo, hi)."""
    m = int(round(math.sqrt((lo + 1.0) * (hi + 1.0)) - 1.0))
    return min(max(m, lo + 1), hi - 1)


def _search(axis: _Axis, target: float, starts: Sequence[int], *, rtol: float,
            ci_rtol: float, n_boot: int, rng: np.random.Generator,
            max_rounds: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bracket and bisect every task's floor on ``axis``; returns (floor, ci_lo, ci_hi) per
    task, ``inf`` where the upper end of the range does not reach the target."""
    axis.ensure([axis.lo, axis.hi, *starts])
    counts = None
    for _ in range(max_rounds):
        xs, values = axis.table()
        n_agents = values.shape[1]
        if counts is None:
            counts = resample_counts(rng, n_boot, n_agents) / n_agents
        idx = _floor_index(values.mean(axis=1), target)  # (T,)
        m, _, n_t = values.shape
        flat = np.ascontiguousarray(values.transpose(1, 0, 2)).reshape(n_agents, m * n_t)
        boot = _floor_index((counts @ flat).reshape(-1, m, n_t), target)  # (B, T)
        sentinel = np.append(xs.astype(float), np.inf)
        lo_ci, hi_ci = percentile_ci(np.where(boot < xs.size, sentinel[boot], 2.0 * axis.hi + 1))
        need = set()
        for t in range(idx.size):
            ends = [(sentinel[idx[t]], rtol), (lo_ci[t], ci_rtol), (hi_ci[t], ci_rtol)]
            for x, tol in ends:
                if not math.isfinite(x) or x > axis.hi:
                    continue
                j = int(np.searchsorted(xs, x, side="left"))
                if j == 0 or j >= xs.size:
                    continue
                if xs[j] - xs[j - 1] > max(1.0, tol * xs[j]):
                    need.add(_mid(int(xs[j - 1]), int(xs[j])))
        if not need:
            break
        axis.ensure(need)
    floor = sentinel[idx]

    def clip(v):
        return np.where(v > axis.hi, np.inf, v)

    return floor, clip(np.floor(lo_ci)), clip(np.ceil(hi_ci))


def _ci_pair(lo: float, hi: float) -> tuple[float | None, float | None]:
    return (float(lo) if math.isfinite(lo) else None, float(hi) if math.isfinite(hi) else None)


# ------------------------------------------------------------------------ model pieces


def _relabel(graph: CompositionGraph, mapping: dict[int, int]) -> CompositionGraph:
    """The graph with quantum k renamed mapping[k] (files spell quanta q<k>)."""
    data = graph.to_dict()

    def token(c: str) -> str:
        k = parse_quantum(c)
        return c if k is None else quantum_label(mapping[k])

    for entry in data["nodes"].values():
        entry["children"] = [token(c) for c in entry["children"]]
    if "quanta" in data:
        data["quanta"] = {token(k): v for k, v in data["quanta"].items()}
    return CompositionGraph.from_dict(data)


def compact_quanta(quanta: Quanta, keep: list[int]) -> Quanta:
    """The kept quanta (same p_k, τ_k) plus one lumped quantum holding the rest of the mass:
    the joint law of the kept quanta's counts is unchanged."""
    p = quanta.p[keep]
    tau = quanta.thresholds[keep]
    rest = max(0.0, 1.0 - float(p.sum()))
    if rest > 1e-12:
        p = np.append(p, rest)
        tau = np.append(tau, 1.0)
    return Quanta(p.size, frequencies=p, tau=tau)


def _epochs(learner: Learner, tau: np.ndarray) -> int:
    """Epochs after which every learnable quantum is learned (geometric: up to EPOCH_MISS)."""
    if learner.acquisition == "threshold":
        return 1
    tau = np.asarray(tau, dtype=float)
    tau = tau[tau > 1.0]
    if tau.size == 0:
        return 1
    need = np.ceil(tau - 1e-9)
    per = math.log(EPOCH_MISS) / (need * np.log1p(-1.0 / tau))
    return max(1, int(math.ceil(float(per.max()))))


class TaskEvaluator:
    """Per-agent values of the planned tasks from learned states: ``full`` reads states over
    all K quanta, ``compact`` over the graph's quanta in ascending order (then anything)."""

    def __init__(self, graph: CompositionGraph, names: list[str]):
        self.keep = np.array(graph.quanta, dtype=np.int64)
        self.small = _relabel(graph, {int(k): i for i, k in enumerate(self.keep)})
        _, all_names = self.small.evaluate(np.zeros((1, self.keep.size), dtype=bool),
                                           all_nodes=True)
        self.cols = [all_names.index(n) for n in names]

    def compact(self, learned: np.ndarray) -> np.ndarray:
        values, _ = self.small.evaluate(learned[..., : self.keep.size], all_nodes=True)
        return values[..., self.cols]

    def full(self, learned: np.ndarray) -> np.ndarray:
        return self.compact(learned[..., self.keep])


# ------------------------------------------------------------------------------ plan


def plan_simulation(graph: CompositionGraph | str | os.PathLike, sim: Simulation,
                    **kwargs) -> PlanResult:
    """:func:`plan` for a Simulation (quanta, learner, data, agents and seed taken from it)."""
    return plan(graph, sim.quanta, sim.learner, sim.data, agents=sim.agents, seed=sim.seed,
                **kwargs)


def plan(graph: CompositionGraph | str | os.PathLike, quanta: Quanta,
         learner: Learner | None = None, data: Online | Dataset | None = None, *,
         target: float = 0.9, tasks: Sequence[str] | None = None, agents: int = 200,
         seed: int = 0, rtol: float = 0.02, ci_rtol: float = 0.05,
         capacity_range: tuple[int, int] | None = None,
         data_range: tuple[int, int] | None = None, frontier: bool = True,
         frontier_agents: int | None = None, n_boot: int = 400,
         params_per_quantum: float | None = None) -> PlanResult:
    """Capacity, data and steps floors of each task, with 95 % intervals, its class and
    iso-success frontier (module docs give every rule).

    ``graph``: a CompositionGraph or a .toml/.json path; ``learner``: the family, policy and
    reference capacity; ``data``: the batch size and the reference data (Online steps or
    Dataset size). ``capacity_range``/``data_range``: (low, high) searched; defaults
    (0, total cost of all quanta) and (1, 2³¹ − 1). ``rtol``: bisection tolerance (relative,
    at least 1); ``ci_rtol``: resolution of the interval ends.
    """
    start = time.perf_counter()
    if not isinstance(graph, CompositionGraph):
        graph = CompositionGraph.load(graph)
    if not isinstance(quanta, Quanta):
        raise invalid("quanta", quanta, "must be a Quanta")
    learner = Learner() if learner is None else learner
    data = Online(steps=1000, batch_size=1) if data is None else data
    if not isinstance(learner, Learner):
        raise invalid("learner", learner, "must be a Learner")
    if not isinstance(data, (Online, Dataset)):
        raise invalid("data", data, "must be Online(...) or Dataset(...)")
    target = float(check_real("target", target, low=0.0, low_open=True, high=1.0))
    if target >= 1.0:
        raise invalid("target", target, "must lie in (0, 1)")
    check_int("agents", agents, 2)
    check_int("seed", seed, 0)
    rtol = check_real("rtol", rtol, low=0.0, high=1.0, low_open=True)
    ci_rtol = check_real("ci_rtol", ci_rtol, low=0.0, high=1.0, low_open=True)
    check_int("n_boot", n_boot, 20)
    if params_per_quantum is not None:
        params_per_quantum = check_real("params_per_quantum", params_per_quantum, low=0.0,
                                        low_open=True)
    if learner.acquisition not in ("threshold", "geometric"):
        raise invalid("acquisition", learner.acquisition,
                      "plan supports the counting families threshold and geometric")
    if np.ndim(learner.capacity) != 0:
        raise invalid("capacity", list(learner.capacity),
                      "plan takes one reference capacity, not one per agent")
    evict = learner.policy == "evict"
    if evict and (np.ptp(quanta.cost) != 0 or learner.prerequisites is not None):
        raise invalid("policy", "evict", "plan supports evict with equal costs and no "
                                         "prerequisites (its converged state is then the "
                                         "most frequent quanta)")
    graph.validate(quanta.n_quanta)
    names = task_names(graph, tasks)
    total_cost = float(np.sum(quanta.cost))
    cap_default = (0, int(math.ceil(total_cost)))
    cap_lo, cap_hi = _range("capacity_range", capacity_range, cap_default)
    data_lo, data_hi = _range("data_range", data_range, (1, MAX_DATASET))
    if data_hi > MAX_DATASET:
        raise invalid("data_range", data_range, f"must end at most at {MAX_DATASET}")
    frontier_agents = max(16, agents // 5) if frontier_agents is None else \
        check_int("frontier_agents", frontier_agents, 2)

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # many small kernel calls: thread start-up would dominate
    try:
        result = _plan(graph, quanta, learner, data, target, names, agents, seed, rtol,
                       ci_rtol, capacity_range, data_range, cap_default, cap_lo, cap_hi,
                       data_lo, data_hi, frontier, frontier_agents, n_boot,
                       params_per_quantum, evict)
    finally:
        numba.set_num_threads(threads)
    result.wall_seconds = time.perf_counter() - start
    return result


def _plan(graph, quanta, learner, data, target, names, agents, seed, rtol, ci_rtol,
          capacity_range, data_range, cap_default, cap_lo, cap_hi, data_lo, data_hi,
          frontier, frontier_agents, n_boot, params_per_quantum, evict) -> PlanResult:
    n_tasks = len(names)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 13]))
    counter = {"simulations": 0, "calls": 0}
    ev = TaskEvaluator(graph, names)
    evaluate = ev.full
    full = ev.compact(np.ones((1, ev.keep.size), dtype=bool))[0]
    notes: list[str] = []
    batch = data.batch_size
    base = dict(agents=agents, seed=seed, checkpoints=1)

    def run(sim: Simulation):
        counter["calls"] += 1
        return simulate(sim.quanta, sim.learner, sim.data, agents=sim.agents, seed=sim.seed,
                        checkpoints=sim.checkpoints, engine=sim.engine,
                        record_learn_steps=sim.record_learn_steps,
                        record_learned_sets=sim.record_learned_sets)

    # ---------------------------------------------------------------- capacity axis
    p_order = np.argsort(-quanta.p, kind="stable")
    cost_unit = float(quanta.cost[0])

    def top_mask(n: int, agents_: int, rng_: np.random.Generator) -> np.ndarray:
        """Converged evict: the floor(n / cost) most frequent quanta (ties at random)."""
        m = min(quanta.n_quanta, int(math.floor(n / cost_unit + 1e-9)) if cost_unit > 0
                else quanta.n_quanta)
        mask = np.zeros((agents_, quanta.n_quanta), dtype=bool)
        if m == 0:
            return mask
        p = quanta.p
        cut = p[p_order[m - 1]]
        sure = p > cut
        mask[:, sure] = True
        tied = np.flatnonzero(p == cut)
        left = m - int(sure.sum())
        if tied.size == left:
            mask[:, tied] = True
        else:
            for a in range(agents_):
                mask[a, rng_.choice(tied, size=left, replace=False)] = True
        return mask

    def capacity_values(ns: list[int]) -> list[np.ndarray]:
        out = []
        for n in ns:
            if evict:
                tie_rng = np.random.default_rng(np.random.SeedSequence([seed, n]))
                out.append(evaluate(top_mask(n, agents, tie_rng)))
                continue
            if n == 0:
                out.append(evaluate(np.zeros((agents, quanta.n_quanta), dtype=bool)))
                continue
            steps = _converged_steps(quanta.p, quanta.thresholds, learner, n, batch,
                                     quanta.n_quanta)
            sim = with_learned_state(Simulation(
                quanta, dataclasses.replace(learner, capacity=float(n)),
                Online(steps=steps, batch_size=batch), engine="auto", **base))
            res = run(sim)
            counter["simulations"] += 1
            out.append(evaluate(res.learned_mask()[:, -1, :]))
        return out

    cap_axis = _Axis("capacity", capacity_values, cap_lo, cap_hi)
    guess = []
    for t in range(n_tasks):  # the evict limit: exact under evict, a start under reject
        g = _limit_floor(lambda n: evaluate(top_mask(n, 1, rng))[0], t, target, cap_lo, cap_hi)
        if g is not None:
            guess += [g] if evict else [g, min(cap_hi, 2 * g + 1)]
    cap_floor, cap_ci_lo, cap_ci_hi = _search(
        cap_axis, target, guess, rtol=rtol, ci_rtol=ci_rtol, n_boot=n_boot, rng=rng)
    if evict:
        notes.append("capacity floors under evict: the converged limit (the most frequent "
                     "quanta), evaluated directly")

    # -------------------------------------------------------------------- data axis
    compact_q = compact_quanta(quanta, graph.quanta)
    if learner.prerequisites is None:  # unlimited capacity: quanta are independent
        small_q, small_eval = compact_q, ev.compact
    else:
        small_q, small_eval = quanta, ev.full
    free = dataclasses.replace(learner, capacity=math.inf, policy="reject", speed_n0=None,
                               speed_kappa=None)
    epochs = _epochs(learner, quanta.thresholds[graph.quanta])

    def data_values(ds: list[int]) -> list[np.ndarray]:
        out = []
        for d in ds:
            sim = with_learned_state(Simulation(
                small_q, free, Dataset(size=int(d), epochs=epochs, batch_size=1),
                engine="auto", **base))
            res = run(sim)
            counter["simulations"] += 1
            out.append(small_eval(res.learned_mask()[:, -1, :]))
        return out

    closed = closed_form_floors(ev, compact_q, target, data_lo, data_hi)
    data_axis = _Axis("data", data_values, data_lo, data_hi)
    starts = []
    for d in closed:
        if d is not None:
            starts += [max(data_lo, int(d / 1.15)), min(data_hi, int(math.ceil(d * 1.15)))]
    data_floor, data_ci_lo, data_ci_hi = _search(
        data_axis, target, starts, rtol=rtol, ci_rtol=ci_rtol, n_boot=n_boot, rng=rng)

    # ------------------------------------------------------------------- steps axis
    graph_p = quanta.p[graph.quanta]
    graph_tau = quanta.thresholds[graph.quanta]
    live = graph_p > 0
    horizon = (HORIZON_FACTOR * float(np.max(np.ceil(graph_tau[live] - 1e-9) / graph_p[live]))
               if live.any() else float(batch))
    if learner.prerequisites is not None:
        horizon *= 10.0
    steps_hi = max(1, int(math.ceil(horizon / batch)))
    sim = with_learned_state(Simulation(small_q, free, Online(steps=steps_hi, batch_size=batch),
                                        engine="auto", **base))
    learn_step = run(sim).learn_step
    counter["simulations"] += 1
    learn_step = np.where(learn_step < 0, np.iinfo(np.int64).max, learn_step)

    def steps_values(ss: list[int]) -> list[np.ndarray]:
        return [small_eval(learn_step <= s) for s in ss]

    steps_axis = _Axis("steps", steps_values, 1, steps_hi)
    step_starts = [int(math.ceil(d / batch)) for d in closed if d is not None]
    steps_floor, steps_ci_lo, steps_ci_hi = _search(
        steps_axis, target, step_starts, rtol=rtol, ci_rtol=ci_rtol, n_boot=n_boot, rng=rng)

    # -------------------------------------------------------------- bracketing checks
    for axis, floor, given, label in ((cap_axis, cap_floor, capacity_range, "capacity_range"),
                                      (data_axis, data_floor, data_range, "data_range")):
        if given is None:
            continue
        for t, name in enumerate(names):
            if floor[t] == axis.lo and axis.lo > (cap_default[0] if axis is cap_axis else 1):
                p_lo = float(axis.cache[axis.lo][:, t].mean())
                raise invalid(label, list(given),
                              f"does not bracket task {name!r}: P(success) = {p_lo:.3g} >= "
                              f"target {target} already at its lower end {axis.lo}")

    # ------------------------------------------------------------------------ frontier
    grid = None
    fronts: list[list[tuple[int, int]]] = [[] for _ in names]
    if frontier:
        grid = _frontier_grid(quanta, learner, names, evaluate, cap_floor, data_floor,
                              cap_hi, data_hi, epochs, frontier_agents, seed, counter, run,
                              evict, top_mask_fn=None)
        if grid is not None:
            fronts = _frontier_points(grid, target, cap_floor)

    # ---------------------------------------------------------------------- results
    n0 = float(learner.capacity)
    if isinstance(data, Dataset):
        ref_data, ref_floor = data.size, data_floor
        reference = {"capacity": n0, "dataset_size": data.size}
    else:
        ref_data, ref_floor = data.steps, steps_floor
        reference = {"capacity": n0, "steps": data.steps, "batch_size": batch}
    out: dict[str, TaskPlan] = {}
    for t, name in enumerate(names):
        reach = (math.isfinite(cap_floor[t]) and math.isfinite(data_floor[t])
                 and full[t] >= target - _EPS)
        if not reach:
            cls = "out of reach"
        else:
            small = n0 < cap_floor[t]
            short = ref_data < ref_floor[t]
            cls = ("both" if small and short else "size-limited" if small
                   else "data-limited" if short else "neither")
        front = fronts[t]
        best = None
        if front:
            best = min(front, key=lambda nd: nd[0] * nd[1])
        out[name] = TaskPlan(
            name=name,
            capacity_floor=_int_or_none(cap_floor[t]),
            capacity_floor_ci=_ci_pair(cap_ci_lo[t], cap_ci_hi[t]),
            data_floor=_int_or_none(data_floor[t]),
            data_floor_ci=_ci_pair(data_ci_lo[t], data_ci_hi[t]),
            steps_floor=_int_or_none(steps_floor[t]),
            steps_floor_ci=_ci_pair(steps_ci_lo[t], steps_ci_hi[t]),
            cls=cls, frontier=front, compute_optimal=best,
            closed_form_data_floor=closed[t], success_at_full=float(full[t]))
    curves = {name: _curve(axis) for name, axis in
              (("capacity", cap_axis), ("data", data_axis), ("steps", steps_axis))}
    settings = {"agents": agents, "seed": seed, "rtol": rtol, "ci_rtol": ci_rtol,
                "n_boot": n_boot, "epochs": epochs, "capacity_range": [cap_lo, cap_hi],
                "data_range": [data_lo, data_hi], "steps_range": [1, steps_hi],
                "frontier_agents": frontier_agents, "params_per_quantum": params_per_quantum,
                "acquisition": learner.acquisition, "policy": learner.policy,
                "tasks": names}
    return PlanResult(target=target, tasks=out, reference=reference, settings=settings,
                      curves=curves, frontier_grid=grid,
                      n_simulations=counter["simulations"], simulate_calls=counter["calls"],
                      wall_seconds=0.0, notes=notes)


def _int_or_none(x: float) -> int | None:
    return int(x) if math.isfinite(x) else None


def _curve(axis: _Axis) -> Curve:
    xs, values = axis.table()
    return Curve(x=xs, mean=values.mean(axis=1), sem=sem(values, axis=1))


def _range(label: str, given, default: tuple[int, int]) -> tuple[int, int]:
    if given is None:
        return default
    try:
        lo, hi = (int(v) for v in given)
        ok = all(float(v).is_integer() for v in given)
    except (TypeError, ValueError):
        raise invalid(label, given, "must be two integers (low, high)") from None
    if not ok or lo < default[0] or hi <= lo:
        raise invalid(label, list(given), f"must be two integers with {default[0]} <= low < high")
    return lo, hi


def _converged_steps(p: np.ndarray, tau: np.ndarray, learner: Learner, n: int, batch: int,
                     n_quanta: int) -> int:
    """Online steps after which every quantum with p_k > 0 has become ready (HORIZON_FACTOR
    times its mean need), scaled by the speed law at capacity n and by prerequisites."""
    live = p > 0
    need = float(np.max(np.ceil(tau[live] - 1e-9) / p[live]))
    factor = 1.0
    if learner.speed_n0 is not None:
        factor = (1.0 + learner.speed_n0 / n) ** learner.speed_kappa
    if learner.prerequisites is not None:
        factor *= 10.0
    return max(1, int(math.ceil(HORIZON_FACTOR * need * factor / batch)))


def _limit_floor(success: Callable[[int], np.ndarray], t: int, target: float, lo: int,
                 hi: int) -> int | None:
    """Smallest n in [lo, hi] with success(n)[t] ≥ target for a monotone success (bisection);
    None if hi does not reach it."""
    if success(hi)[t] < target - _EPS:
        return None
    if success(lo)[t] >= target - _EPS:
        return lo
    a, b = lo, hi
    while b - a > 1:
        m = (a + b) // 2
        if success(m)[t] >= target - _EPS:
            b = m
        else:
            a = m
    return b


def closed_form_success(ev: TaskEvaluator, compact_q: Quanta, sizes: np.ndarray) -> np.ndarray:
    """P(success) with quanta learned independently iff D_k ≥ ⌈τ_k⌉, D_k ~ Binomial(D, p_k):
    the rule applied to probabilities (exact for read-once graphs). ``compact_q``: the graph's
    quanta then the lumped rest (:func:`compact_quanta`). Shape (len(sizes), T)."""
    prob = 1.0 - theory.dataset_unlearnable_prob(
        np.asarray(sizes, dtype=float), compact_q.p, compact_q.thresholds)  # (C, K')
    return ev.compact(np.clip(prob, 0.0, 1.0))


def closed_form_floors(ev: TaskEvaluator, compact_q: Quanta, target: float, lo: int,
                        hi: int) -> list[int | None]:
    """Closed-form data floor of each task (start of the data bracket), None if unreachable."""
    out: list[int | None] = []
    grid = np.unique(np.round(np.geomspace(lo, hi, 200)).astype(np.int64))
    succ = closed_form_success(ev, compact_q, grid)
    for t in range(succ.shape[1]):
        ok = np.flatnonzero(succ[:, t] >= target - _EPS)
        if ok.size == 0:
            out.append(None)
            continue
        j = int(ok[0])
        if j == 0:
            out.append(int(grid[0]))
            continue
        a, b = int(grid[j - 1]), int(grid[j])
        while b - a > 1:
            m = (a + b) // 2
            if closed_form_success(ev, compact_q, np.array([m]))[0, t] >= target - _EPS:
                b = m
            else:
                a = m
        out.append(b)
    return out


def closed_form_data_floor(graph: CompositionGraph, quanta: Quanta, task: str,
                           target: float) -> int | None:
    """The data floor in closed form (independent quanta, unlimited capacity, read-once
    graph): smallest D with rule(P(Binomial(D, p_k) ≥ ⌈τ_k⌉)) ≥ target."""
    ev = TaskEvaluator(graph, [task])
    return closed_form_floors(ev, compact_quanta(quanta, graph.quanta), target, 1, MAX_DATASET)[0]


# --------------------------------------------------------------------------- frontier


def _frontier_grid(quanta, learner, names, evaluate, cap_floor, data_floor, cap_hi, data_hi,
                   epochs, agents, seed, counter, run, evict, top_mask_fn=None):
    """Mean success on a (capacity, D) grid: capacities from each reachable task's capacity
    floor up to 6× it, D from the smallest data floor up to FRONTIER_DATA_SPAN × the
    largest, 4 per decade."""
    ok = np.isfinite(cap_floor) & np.isfinite(data_floor)
    if not ok.any():
        return None
    factors = np.array([1.0, 1.25, 1.5, 2.0, 3.0, 6.0])
    caps = np.unique(np.clip(np.round(np.outer(np.maximum(cap_floor[ok], 1.0), factors)),
                             1, cap_hi).astype(np.int64))
    if caps.size > MAX_FRONTIER_CAPS:
        caps = np.unique(np.round(np.geomspace(caps[0], caps[-1], MAX_FRONTIER_CAPS))
                         .astype(np.int64))
    d_lo = max(1, int(np.min(data_floor[ok])))
    d_hi = int(min(data_hi, np.max(data_floor[ok]) * FRONTIER_DATA_SPAN))
    per_decade = 4
    n_d = max(2, int(round(per_decade * math.log10(max(d_hi / d_lo, 10.0)))) + 1)
    sizes = np.unique(np.round(np.geomspace(d_lo, max(d_hi, d_lo + 1), n_d)).astype(np.int64))
    success = np.empty((caps.size, sizes.size, len(names)))
    for j, d in enumerate(sizes):
        if evict:
            rng = np.random.default_rng(np.random.SeedSequence([seed, 7, j]))
            for i, n in enumerate(caps):
                success[i, j] = evaluate(evict_dataset_limit(quanta, int(d), int(n), agents,
                                                              rng)).mean(axis=0)
            continue
        for i, n in enumerate(caps):  # one call per capacity: common random numbers
            sim = with_learned_state(Simulation(
                quanta, dataclasses.replace(learner, capacity=float(n)),
                Dataset(size=int(d), epochs=epochs, batch_size=1), agents=agents,
                seed=seed, checkpoints=1, engine="auto"))
            res = run(sim)
            counter["simulations"] += 1
            success[i, j] = evaluate(res.learned_mask()[:, -1, :]).mean(axis=0)
    return {"capacity": caps, "data": sizes, "success": success, "agents": agents}


def evict_dataset_limit(quanta: Quanta, d: int, n: int, agents: int,
                         rng: np.random.Generator) -> np.ndarray:
    """Converged evict on a training set of d samples: per agent the (at most) n learnable
    quanta (D_k ≥ ⌈τ_k⌉) with the most examples, ties at random."""
    counts = rng.multinomial(d, quanta.p, size=agents)
    need = np.ceil(quanta.thresholds - 1e-9)
    learnable = counts >= need
    key = np.where(learnable, counts + rng.random(counts.shape), -1.0)
    m = min(n, quanta.n_quanta)
    mask = np.zeros_like(learnable)
    if m > 0:
        top = np.argpartition(-key, m - 1, axis=1)[:, :m]
        np.put_along_axis(mask, top, True, axis=1)
    return mask & learnable


def _frontier_points(grid, target: float, cap_floor: np.ndarray) -> list[list[tuple[int, int]]]:
    """Per task, the (n, D) pairs that just reach the target: for each grid capacity
    n ≥ N*, D interpolated (log D linear in success) at the crossing of the grid."""
    caps, sizes, success = grid["capacity"], grid["data"], grid["success"]
    log_d = np.log(sizes.astype(float))
    out = []
    for t in range(success.shape[2]):
        pts = []
        for i, n in enumerate(caps):
            if not math.isfinite(cap_floor[t]) or n < cap_floor[t]:
                continue
            row = success[i, :, t]
            j = int(_floor_index(row[:, None], target)[0])
            if j >= sizes.size:
                continue
            if j == 0:
                d = float(sizes[0])
            else:
                a, b = row[j - 1], row[j]
                frac = 1.0 if b == a else float(np.clip((target - a) / (b - a), 0.0, 1.0))
                d = math.exp(log_d[j - 1] + frac * (log_d[j] - log_d[j - 1]))
            pts.append((int(n), int(math.ceil(d))))
        out.append(pts)
    return out
