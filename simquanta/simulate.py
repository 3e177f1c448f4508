"""``simulate``: validate a run, pick an engine, run its kernel, wrap a Result."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from .compile import compile_simulation
from .kernels import events
from .kernels.exact import run_exact
from .result import Result, learned_from_steps
from .specs import DataRegime, Dataset, Learner, Online, Quanta, Simulation, invalid

if TYPE_CHECKING:
    from .composition import CompositionGraph


def simulate(
    quanta: Quanta,
    learner: Learner | None = None,
    data: DataRegime | None = None,
    *,
    agents: int = 1,
    seed: int = 0,
    checkpoints: int | Sequence[int] = 40,
    engine: Literal["exact", "events", "auto"] = "auto",
    record_learn_steps: bool = False,
    record_learned_sets: bool = False,
    record_strength: bool = False,
    first_agent: int = 0,
    graph: CompositionGraph | str | os.PathLike[str] | None = None,
    nodes: Literal["tasks", "all"] = "tasks",
) -> Result:
    """Simulate ``agents`` independent learners acquiring quanta from sampled data.

    Agent i (i = first_agent, first_agent + 1, ...) draws from its own random stream
    derived from (seed, i), so results are identical for any thread count and any split
    of the agents over calls. Returns a Result with per-checkpoint loss (bits per
    sample), number learned and capacity used per agent.

    Engines: ``exact`` applies every sample (cost ∝ samples); ``events`` draws
    acquisition times directly (cost ∝ K log K, independent of the number of samples;
    online exposures are Poissonized); ``auto`` runs ``events`` when it supports the run
    and ``exact`` otherwise, and says why in ``Result.notes``.

    ``graph`` (a CompositionGraph or a .toml/.json file): record what its leaves read and
    fill ``Result.task_success`` (agent × checkpoint × task) with every task's success —
    a task is a node no other node uses (unless the file marks it ``task = true/false``);
    ``nodes="all"`` reports every inner node. The graph's content travels with the Result
    (``Result.graph``, saved in its file).

    ``checkpoints=n`` gives n distinct log-spaced steps from 1 to the last step (every step
    when n is at least the number of steps).
    """
    sim = Simulation(
        quanta=quanta,
        learner=learner if learner is not None else Learner(),
        data=data if data is not None else Online(steps=1000),
        agents=agents,
        seed=seed,
        checkpoints=checkpoints,
        engine=engine,
        record_learn_steps=record_learn_steps,
        record_learned_sets=record_learned_sets,
        record_strength=record_strength,
        first_agent=first_agent,
    )
    return run(sim, graph=graph, nodes=nodes)


def events_unsupported_reason(sim: Simulation) -> str | None:
    """Why the events engine cannot run ``sim`` exactly, or None if it can."""
    learner = sim.learner
    finite = bool(np.any(np.isfinite(learner.capacity)))
    if learner.acquisition in ("logistic", "resource"):
        family = learner.acquisition
        if isinstance(sim.data, Dataset):
            return f"{family} in the dataset regime needs the exact engine"
        if family == "logistic" and learner.prerequisites is not None:
            return "logistic with prerequisites needs the exact engine"
        if family == "logistic" and learner.policy == "evict" and finite:
            return "logistic with evict needs the exact engine"
    if isinstance(sim.data, Dataset) and learner.prerequisites is not None:
        return "prerequisites in the dataset regime need the exact engine"
    if learner.policy == "evict" and finite:
        if isinstance(sim.data, Dataset):
            return "evict in the dataset regime needs the exact engine"
        if learner.prerequisites is not None:
            return "evict with prerequisites needs the exact engine"
        if np.ptp(sim.quanta.cost) != 0:
            return "evict with unequal costs needs the exact engine"
        if sim.record_learn_steps:
            return "first-learn steps under evict need the exact engine"
        if sim.record_learned_sets:
            return "learned sets under evict need the exact engine"
    return None


def with_learned_state(sim: Simulation) -> Simulation:
    """``sim`` recording each agent's learned set at every checkpoint, as evaluating
    composition-graph tasks needs: first-learn steps where learned quanta are kept, the
    learned sets themselves under evict with finite capacity (quanta can be lost), the
    strengths under the logistic family (``Result.leaf_values``)."""
    if sim.learner.acquisition == "logistic":  # continuous leaves read the strengths
        return dataclasses.replace(sim, record_strength=True)
    finite = np.isfinite(sim.learner.capacity)
    if sim.learner.policy == "evict" and finite.any():
        return dataclasses.replace(sim, record_learned_sets=True)
    return dataclasses.replace(sim, record_learn_steps=True)


#: resource family: auto runs events only beyond this many samples per agent per K²
#: (both engines pay O(K) per ready event; events draws two variates per quantum in progress
#: there, ~10× the exact engine's countdown reset, which adds ~2 ns per sample:
#: benchmarks/README.md "Dynamics families")
RESOURCE_EVENTS_SAMPLES_PER_K2 = 10.0


def events_approximation(sim: Simulation) -> str | None:
    """Why auto prefers exact for ``sim`` although events can run it — events would only
    approximate it, or cost more — or None."""
    finite = bool(np.any(np.isfinite(sim.learner.capacity)))
    if sim.learner.policy == "evict" and finite:
        return ("evict with finite capacity: events breaks exposure-count ties "
                "approximately (see kernels/events.py)")
    k = sim.quanta.n_quanta
    samples = int(sim.data.samples_at(sim.checkpoint_steps[-1:])[0])
    if sim.learner.acquisition == "resource" and samples < RESOURCE_EVENTS_SAMPLES_PER_K2 * k * k:
        return (f"resource with {samples} samples per agent < 10 K²: the exact engine is "
                "faster (both pay O(K) per ready event)")
    return None


def choose_engine(sim: Simulation) -> tuple[str, str | None]:
    """(engine to run, note for the Result)."""
    reason = events_unsupported_reason(sim)
    if sim.engine == "events" and reason is not None:
        raise invalid("engine", "events", f"not supported for this run: {reason}; use "
                                          "engine = exact or auto")
    if sim.engine == "auto":
        reason = reason or events_approximation(sim)
        if reason is None:
            return "events", "engine auto: events"
        return "exact", f"engine auto: exact ({reason})"
    return sim.engine, None


def run(sim: Simulation, *, progress: bool = False,
        graph: CompositionGraph | str | os.PathLike[str] | None = None,
        nodes: Literal["tasks", "all"] = "tasks", max_memory=None) -> Result:
    """Run a validated Simulation.

    ``progress=True`` shows a progress bar (tqdm, on stderr) over agents: the agents are
    run in chunks, which changes nothing in the results because every agent's stream
    depends only on (seed, agent index). ``graph``/``nodes``: as in :func:`simulate`
    (the graph is checked against the run before anything runs). Before anything is seeded
    or allocated the run's memory is estimated and refused (``ValueError``) past
    ``max_memory`` (default 80 % of the available memory; ``resources.memory_limit``).
    """
    if graph is not None:
        from .composition import load_graph

        graph = load_graph(graph)
        graph.validate(sim.quanta.n_quanta)
        if nodes not in ("tasks", "all"):
            raise invalid("nodes", nodes, 'must be "tasks" or "all"')
        sim = with_learned_state(sim)
    result = _run(sim, progress, max_memory)
    return result if graph is None else result.with_graph(graph, nodes=nodes)


#: seconds a first run of each engine spends compiling on the project's 2-vCPU machine when
#: it is idle (twice that under load; README "Performance"): exact 15 s; events by variant,
#: 9 s (resource) to 12 s (counting) and 17 s (logistic)
COMPILE_SECONDS = {"exact": "15", "events": "10–20"}


def kernel_of(engine: str, c):
    """The numba entry kernel that runs compiled run ``c`` on ``engine``."""
    if engine == "exact":
        return run_exact
    return events.entry_for(c.quanta, c.learner, c.prereq, c.data)


def compile_notice(engine: str, kernel) -> str | None:
    """The one-line message to show before running ``engine``'s ``kernel`` when it will be
    compiled (not loaded from numba's cache), else None."""
    if not will_compile(kernel):
        return None
    return (f"compiling the {engine} simulation kernel (first run only, "
            f"~{COMPILE_SECONDS[engine]} s)…")


def will_compile(kernel) -> bool:
    """True when calling a numba ``cache=True`` kernel will compile it: nothing compiled or
    loaded in this process yet and no cache index on disk (numba writes one per kernel)."""
    if kernel.overloads:
        return False
    index = getattr(getattr(getattr(kernel, "_cache", None), "_cache_file", None),
                    "_index_path", None)
    return index is None or not os.path.exists(index)


def _run(sim: Simulation, progress: bool, max_memory) -> Result:
    from .resources import check_memory, estimate

    check_memory(estimate(sim), max_memory, what="this run")
    engine, note = choose_engine(sim)
    c = compile_simulation(sim, engine)
    notice = compile_notice(engine, kernel_of(engine, c))
    if notice is not None:
        print(notice, file=sys.stderr, flush=True)
    samples = sim.data.samples_at(c.checkpoints)
    n_chunks = min(sim.agents, PROGRESS_CHUNKS) if progress else 1
    bounds = np.linspace(0, sim.agents, n_chunks + 1).round().astype(int)
    parts = []
    start = time.perf_counter()
    bar = _progress_bar(sim.agents, engine) if progress else None
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        parts.append(_run_kernel(engine, sim, c, samples, lo, hi))
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - start
    # One part (no progress bar) is used as is: concatenating would copy arrays that may be
    # as large as the recording memory limit.
    loss, learned, used, learn_step, sets, strength = (
        parts[0] if len(parts) == 1
        else (np.concatenate(arrays) for arrays in zip(*parts, strict=True)))
    q = sim.quanta
    clamp_loss_residue(loss, learned, q.p, q.learned_loss, q.unlearned_loss,
                       full_is_exact=sim.learner.acquisition != "logistic")
    if sim.record_strength and sim.learner.acquisition != "logistic":
        # the counting families' strength is 0 or 1: their learned sets
        strength = Result.strength_from_sets(sets if sim.record_learned_sets else
                                             learned_from_steps(learn_step, c.checkpoints))
    return Result(
        engine=engine,
        steps=c.checkpoints,
        samples=samples,
        loss=loss,
        learned=learned,
        used=used,
        capacity=c.learner.capacity,
        frequencies=c.quanta.p,
        config=sim.to_config(),
        learn_step=learn_step if sim.record_learn_steps else None,
        learned_sets=sets if sim.record_learned_sets else None,
        strength=strength if sim.record_strength else None,
        wall_seconds=wall,
        notes=() if note is None else (note,),
    )


#: number of agent chunks when a progress bar is shown
PROGRESS_CHUNKS = 20


def _progress_bar(total: int, engine: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="agent", desc=f"simulate ({engine})", leave=False)


def clamp_loss_residue(loss: np.ndarray, learned: np.ndarray, p: np.ndarray,
                       learned_loss: np.ndarray, unlearned_loss: np.ndarray, *,
                       full_is_exact: bool) -> None:
    """In place: the kernels keep loss as Σ p_k b_k − Σ_learned p_k (b_k − a_k), which leaves
    float residue (~1e-17) where the true value is exact — clamp to the lowest reachable loss
    Σ p_k min(a_k, b_k), and (``full_is_exact``: a counting family, whose learned quanta cost
    exactly a_k; logistic strengths stay below 1) an agent holding every quantum has exactly
    Σ p_k a_k. np.sum, not np.dot: a threaded BLAS leaves its worker threads spinning after
    the call, which took a core from the numba threads of the next run (measured 2× slower),
    and its sums depend on the BLAS thread count."""
    np.maximum(loss, float(np.sum(p * np.minimum(learned_loss, unlearned_loss))), out=loss)
    if full_is_exact:
        loss[learned == p.shape[0]] = float(np.sum(p * learned_loss))


def _run_kernel(engine: str, sim: Simulation, c, samples: np.ndarray, lo: int, hi: int):
    """Agents lo..hi−1 of the compiled run: (loss, learned, used, learn_step, learned sets,
    logistic strengths)."""
    states, learner = c.for_agents(lo, hi)
    kernel = kernel_of(engine, c)
    if engine == "exact":
        return kernel(states, c.table, c.quanta, learner, c.prereq, c.data, samples, c.record)
    loss, learned, used, learn_step, strength = kernel(
        states, c.quanta, learner, c.prereq, c.data, samples.astype(np.float64), c.record)
    # events records learned sets only where learned quanta are kept (not under evict with
    # finite capacity: events_unsupported_reason), so they follow from first-learn steps.
    sets = (learned_from_steps(learn_step, c.checkpoints) if sim.record_learned_sets
            else np.zeros((hi - lo, 0, 0), dtype=np.bool_))
    return loss, learned, used, learn_step, sets, strength
