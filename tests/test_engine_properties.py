"""Exact invariants of both engines on randomly drawn specs (hypothesis).

Every property here holds exactly for every seed — no statistics: shapes, the learned count
against the learned sets, capacity used and loss as functions of the learned set, learned
sets that only grow where learned quanta are kept, learn steps against the checkpoints,
prerequisite order under ``block``, and bit-identical results whatever is recorded and
however the agents are split over calls. Each property runs on ``exact`` and on
``events``; runs that the events engine refuses (``events_unsupported_reason``) are avoided
by the strategy and, as a last guard, skipped with ``assume``.

Sizes stay small (K ≤ 40 quanta, ≤ 6 agents, ≤ 2000 steps, ≤ 8 checkpoints) and every
kernel argument keeps one type (``compile_simulation`` turns spec fields into float64
arrays), so once the kernels are compiled (≈ 30 s cold, cached on disk after) the file
runs in about 15 s with 100 examples per property.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simquanta import Dataset, Learner, Online, Prerequisites, Quanta, Result, Simulation
from simquanta.result import learned_from_steps
from simquanta.simulate import events_unsupported_reason, run

ENGINES = ["exact", "events"]
FIT_RTOL = 1e-9  # the kernels' capacity slack (simquanta.kernels.codes.FIT_RTOL)
SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.filter_too_much])

# ------------------------------------------------------------------ strategies

def _floats(draw, n, low, high):
    return np.array(draw(st.lists(st.floats(low, high, allow_nan=False), min_size=n,
                                  max_size=n)))


@st.composite
def quanta(draw, *, equal_costs=None, min_quanta=1):
    """K ≤ 40 quanta: Zipf α ∈ [0, 1.5] or explicit frequencies (zeros allowed), τ scalar or
    per quantum in [1, 6], costs equal or per quantum in [0.5, 2], and sometimes random
    losses a_k ∈ [0, 0.5], b_k ∈ [0.5, 2]."""
    k = draw(st.integers(min_quanta, 40))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["alpha"] = draw(st.floats(0.0, 1.5, exclude_min=True))  # alpha > 0
    else:
        weights = _floats(draw, k, 0.0, 1.0)
        weights[weights < 0.2] = 0.0  # some quanta are never used
        if weights.sum() == 0:
            weights[0] = 1.0
        kwargs["frequencies"] = weights
    kwargs["tau"] = draw(st.floats(1.0, 6.0)) if draw(st.booleans()) else _floats(draw, k, 1, 6)
    if equal_costs is None:
        equal_costs = draw(st.booleans())
    kwargs["cost"] = draw(st.floats(0.5, 2.0)) if equal_costs else _floats(draw, k, 0.5, 2.0)
    if draw(st.booleans()):
        kwargs["learned_loss"] = _floats(draw, k, 0.0, 0.5)
        kwargs["unlearned_loss"] = _floats(draw, k, 0.5, 2.0)
    return Quanta(k, **kwargs)


@st.composite
def dags(draw, k, mode=None):
    """Prerequisites over a random DAG on k quanta: edges (i, j) with i < j."""
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if not pairs:
        edges = []
    else:
        chosen = draw(st.lists(st.sampled_from(pairs), min_size=1,
                               max_size=min(len(pairs), 2 * k), unique=True))
        edges = sorted(chosen)
    return Prerequisites(edges, mode=mode or draw(st.sampled_from(["block", "slow"])),
                         factor=draw(st.floats(0.05, 1.0)))


@st.composite
def sims(draw, engine, *, records=True, keeps=False, prerequisites="maybe", mode=None,
         equal_costs=None, finite=False, policy=None):
    """A Simulation for ``engine`` (records: learn steps and learned sets recorded).

    keeps: reject or unlimited capacity (learned quanta are never lost); prerequisites:
    "maybe", "always" or "never"; finite: every agent's capacity finite; policy: fixed or
    drawn. For ``events`` the draw is steered to combinations the engine runs."""
    q = draw(quanta(equal_costs=equal_costs, min_quanta=2 if prerequisites == "always" else 1))
    k = q.n_quanta
    agents = draw(st.integers(1, 6))
    kind = draw(st.sampled_from(["number", "list"] if finite else ["inf", "number", "list"]))
    finite_caps = st.one_of(st.floats(0.0, 8.0), st.floats(0.0, 30.0))
    if kind == "inf":
        capacity = math.inf
    elif kind == "number":
        capacity = draw(finite_caps)
    else:
        each = finite_caps if finite else st.one_of(st.just(math.inf), finite_caps)
        capacity = draw(st.lists(each, min_size=agents, max_size=agents))
    policy = policy or draw(st.sampled_from(["reject", "evict"]))
    if keeps and policy == "evict":
        capacity = math.inf
    if draw(st.booleans()):
        data = Online(steps=draw(st.integers(1, 2000)), batch_size=draw(st.integers(1, 16)))
    else:
        size = draw(st.integers(1, 400))
        data = Dataset(size=size, epochs=draw(st.integers(1, 4)),
                       batch_size=draw(st.integers(1, min(size, 32))))
    prereq = None
    if k >= 2 and (prerequisites == "always"
                   or (prerequisites == "maybe" and draw(st.booleans()))):
        prereq = draw(dags(k, mode))
    if engine == "events":
        if prereq is not None:
            data = Online(steps=min(data.total_steps, 2000), batch_size=data.batch_size)
        capped = bool(np.any(np.isfinite(np.asarray(capacity, dtype=float))))
        if policy == "evict" and capped and (records or prereq is not None
                                             or isinstance(data, Dataset)
                                             or np.ptp(q.cost) != 0):
            if finite:
                policy = "reject"
            else:
                capacity = math.inf
    total = data.total_steps
    if draw(st.booleans()):
        checkpoints = draw(st.integers(1, 8))
    else:
        checkpoints = draw(st.lists(st.integers(1, total), min_size=1, max_size=8, unique=True))
    sim = Simulation(
        quanta=q,
        learner=Learner(capacity=capacity, acquisition=draw(st.sampled_from(["threshold",
                                                                            "geometric"])),
                        policy=policy, prerequisites=prereq),
        data=data, agents=agents, seed=draw(st.integers(0, 2**32)), checkpoints=checkpoints,
        engine=engine, record_learn_steps=records, record_learned_sets=records,
    )
    if engine == "events":
        assume(events_unsupported_reason(sim) is None)
    return sim


def simulate(sim: Simulation, **changes) -> Result:
    """Run ``sim`` (with ``changes`` applied), checking the engine it ran on."""
    if changes:
        sim = dataclasses.replace(sim, **changes)
    result = run(sim)
    assert result.engine == sim.engine
    return result


def keeps_learned(sim: Simulation) -> bool:
    """Learned quanta are never lost: reject, or no agent with finite capacity."""
    return (sim.learner.policy == "reject"
            or not np.any(np.isfinite(sim.learner.capacities(sim.agents))))


def learned_mask(sim: Simulation, result: Result) -> np.ndarray:
    """The learned sets: recorded ones (required under evict with finite capacity)."""
    mask = result.learned_mask()
    if not keeps_learned(sim):
        assert result.learned_sets is not None and result.learned_sets.shape[1] > 0
    return mask


engines = pytest.mark.parametrize("engine", ENGINES)

# ------------------------------------------------------------------ properties


@engines
@SETTINGS
@given(data=st.data())
def test_shapes_and_dtypes(engine, data):
    """loss/learned/used are (agents, C), learn_step (agents, K) int64 with −1 = never (else
    a step in 1..last checkpoint step), learned_sets (agents, C, K) bool; steps, samples,
    frequencies and capacity are labeled consistently with the spec."""
    sim = data.draw(sims(engine))
    r = simulate(sim)
    n, c, k = sim.agents, sim.checkpoint_steps.size, sim.quanta.n_quanta
    assert 1 <= c <= 8
    assert np.array_equal(r.steps, sim.checkpoint_steps)
    assert np.array_equal(r.samples, sim.data.samples_at(sim.checkpoint_steps))
    assert r.loss.shape == (n, c) and r.loss.dtype == np.float64
    assert r.learned.shape == (n, c) and r.learned.dtype == np.int64
    assert r.used.shape == (n, c) and r.used.dtype == np.float64
    assert r.learn_step.shape == (n, k) and r.learn_step.dtype == np.int64
    assert r.learned_sets.shape == (n, c, k) and r.learned_sets.dtype == np.bool_
    assert r.learned_mask().shape == (n, c, k)
    assert r.capacity.shape == (n,)
    assert np.array_equal(r.capacity, sim.learner.capacities(n))
    assert r.frequencies.shape == (k,)
    assert np.array_equal(r.frequencies, sim.quanta.p)
    never = r.learn_step == -1
    assert np.all(never | ((r.learn_step >= 1) & (r.learn_step <= r.steps[-1])))
    assert np.all((r.learned >= 0) & (r.learned <= k))


@engines
@SETTINGS
@given(data=st.data())
def test_learned_count_is_size_of_learned_set(engine, data):
    """learned[i, c] = |learned set of agent i at checkpoint c| = learned_mask().sum(-1)
    (under evict with finite capacity: the recorded learned sets, exact engine only)."""
    sim = data.draw(sims(engine))
    r = simulate(sim)
    assert np.array_equal(learned_mask(sim, r).sum(axis=-1), r.learned)


@engines
@SETTINGS
@given(data=st.data())
def test_used_is_cost_of_learned_set_within_capacity(engine, data):
    """used[i, c] = Σ_{k learned} cost_k (to float rounding) and used ≤ capacity·(1 + 1e-9)
    for every agent and checkpoint; used ≥ 0."""
    sim = data.draw(sims(engine))
    r = simulate(sim)
    mask = learned_mask(sim, r)
    expected = (mask * np.asarray(sim.quanta.cost)).sum(axis=-1)
    assert np.allclose(r.used, expected, rtol=1e-12, atol=1e-12)
    cap = sim.learner.capacities(sim.agents)[:, None]
    assert np.all(r.used <= cap * (1 + FIT_RTOL))
    assert np.all(r.used >= 0)


@engines
@SETTINGS
@given(data=st.data())
def test_loss_is_function_of_learned_set(engine, data):
    """loss[i, c] = Σ_k p_k b_k − Σ_{k learned} p_k (b_k − a_k) within 1e-12, with p_k the
    Result's frequencies."""
    sim = data.draw(sims(engine))
    r = simulate(sim)
    mask = learned_mask(sim, r)
    p = r.frequencies
    a = np.asarray(sim.quanta.learned_loss)
    b = np.asarray(sim.quanta.unlearned_loss)
    expected = np.sum(p * b) - (mask * (p * (b - a))).sum(axis=-1)
    assert np.max(np.abs(r.loss - expected)) <= 1e-12


@engines
@SETTINGS
@given(data=st.data())
def test_kept_learned_sets_grow_and_match_learn_steps(engine, data):
    """Under reject (or unlimited capacity) learned sets only grow over checkpoints (so do
    learned and used; loss never rises), learn steps are −1 or in 1..steps[−1], and k is in
    the learned set at checkpoint c iff 0 ≤ learn_step[k] ≤ steps[c] (for the exact engine
    the recorded sets come from the kernel's state, independently of its learn steps)."""
    sim = data.draw(sims(engine, keeps=True))
    r = simulate(sim)
    sets = r.learned_sets
    assert np.all(sets[:, 1:] >= sets[:, :-1])
    assert np.all(np.diff(r.learned, axis=1) >= 0)
    assert np.all(np.diff(r.used, axis=1) >= -1e-12)
    assert np.all(np.diff(r.loss, axis=1) <= 1e-12)
    ls = r.learn_step
    assert np.all((ls == -1) | ((ls >= 1) & (ls <= r.steps[-1])))
    assert np.array_equal(sets, learned_from_steps(ls, r.steps))
    assert np.array_equal(sets[:, -1], ls >= 0)


@SETTINGS
@given(data=st.data())
def test_exact_evict_sets_hold_only_acquired_quanta(data):
    """Exact engine, evict with finite capacity: each recorded learned set holds only quanta
    first learned at or before that checkpoint (evicted ones may be missing from it)."""
    sim = data.draw(sims("exact", finite=True, policy="evict"))
    r = simulate(sim)
    assert np.all(r.learned_sets <= learned_from_steps(r.learn_step, r.steps))


@engines
@SETTINGS
@given(data=st.data())
def test_block_prerequisites_learned_first(engine, data):
    """Prerequisites(mode="block"): a learned quantum's first-learn step is ≥ that of each of
    its prerequisites, and none is learned while a prerequisite has never been learned;
    where learned quanta are kept, every learned set is closed under prerequisites."""
    sim = data.draw(sims(engine, prerequisites="always", mode="block"))
    r = simulate(sim)
    ls = r.learn_step
    for pre, dep in sim.learner.prerequisites.edges:
        learned = ls[:, dep] >= 0
        assert np.all(ls[learned, pre] >= 0), (pre, dep)
        assert np.all(ls[learned, pre] <= ls[learned, dep]), (pre, dep)
        if keeps_learned(sim):
            mask = r.learned_mask()
            assert np.all(mask[:, :, dep] <= mask[:, :, pre]), (pre, dep)


@engines
@SETTINGS
@given(data=st.data())
def test_recording_changes_nothing(engine, data):
    """Recording learn steps and/or learned sets leaves loss, learned and used
    bit-identical; the learn steps recorded with or without learned sets are identical."""
    sim = data.draw(sims(engine))
    both = simulate(sim)
    variants = [simulate(sim, record_learn_steps=s, record_learned_sets=t)
                for s, t in [(False, False), (True, False), (False, True)]]
    for other in variants:
        for name in ("loss", "learned", "used"):
            assert getattr(other, name).tobytes() == getattr(both, name).tobytes(), name
    assert variants[1].learn_step.tobytes() == both.learn_step.tobytes()
    assert variants[2].learned_sets.tobytes() == both.learned_sets.tobytes()


@engines
@SETTINGS
@given(data=st.data())
def test_agent_chunks_reproduce_rows(engine, data):
    """Running agents [0, n) as chunks [0, m) and [m, n) with first_agent = m (per-agent
    capacities sliced alike) reproduces every row bit for bit, recorded arrays included
    where the engine records them."""
    sim = data.draw(sims(engine, records=False))
    record = events_unsupported_reason(
        dataclasses.replace(sim, record_learn_steps=True, record_learned_sets=True)) is None
    sim = dataclasses.replace(sim, record_learn_steps=record, record_learned_sets=record)
    whole = simulate(sim)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, sim.agents), max_size=3)))
                  | {0, sim.agents})
    cap = sim.learner.capacity
    names = ["loss", "learned", "used"] + (["learn_step", "learned_sets"] if record else [])
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        learner = dataclasses.replace(
            sim.learner, capacity=cap if np.ndim(cap) == 0 else list(cap[lo:hi]))
        part = simulate(sim, agents=hi - lo, first_agent=lo, learner=learner)
        assert np.array_equal(part.agent_index, np.arange(lo, hi))
        for name in names:
            assert getattr(part, name).tobytes() == getattr(whole, name)[lo:hi].tobytes(), name


@engines
@SETTINGS
@given(data=st.data())
def test_equal_costs_bound_learned_count(engine, data):
    """Equal costs c, finite capacity C (reject, and evict too): learned ≤ ⌊C/c·(1 + 1e-9)⌋
    at every checkpoint, and used = learned·c to float rounding."""
    sim = data.draw(sims(engine, records=False, equal_costs=True, finite=True))
    r = simulate(sim)
    c = float(sim.quanta.cost[0])
    slots = np.floor(sim.learner.capacities(sim.agents) / c * (1 + FIT_RTOL))
    assert np.all(r.learned <= slots[:, None])
    assert np.allclose(r.used, r.learned * c, rtol=1e-12, atol=1e-12)
    p = r.frequencies
    a, b = np.asarray(sim.quanta.learned_loss), np.asarray(sim.quanta.unlearned_loss)
    assert np.all(r.loss >= np.sum(p * a) - 1e-12) and np.all(r.loss <= np.sum(p * b) + 1e-12)
