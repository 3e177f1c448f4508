"""The exact engine against a naive replay, closed forms, invariants and itself.

- naive: ``tests/naive.py`` replays every agent's random stream in pure Python with
  explicit per-quantum state; learn steps, learned counts and used capacity must agree
  exactly and loss to 1e-12.
- theory: mean loss / mean number learned over agents within 4 standard errors + 1e-3 of
  the closed forms at every checkpoint (seeds fixed once).
- reproducibility: bit-identical for 1 and 2 numba threads and for any split of agents.
- properties (hypothesis): capacity, loss bounds, monotonicity, evict → top-n by frequency.
- Result: netCDF round trip, plain-xarray view, learned_mask.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from simquanta import Dataset, Learner, Online, Prerequisites, Quanta, Result, Simulation
from simquanta.analysis.theory import dataset_unlearned_prob, expected_loss
from simquanta.kernels.random import agent_states, bounded_int, geometric_trials, next_u64
from simquanta.kernels.sampling import alias_draw, build_alias_table
from simquanta.simulate import run, simulate

sys.path.insert(0, str(Path(__file__).parent))


def simulate_exact(*args, **kwargs) -> Result:
    """``simulate`` pinned to the exact engine (``auto`` may pick another one)."""
    result = simulate(*args, engine="exact", **kwargs)
    assert result.engine == "exact"
    return result


from naive import (  # noqa: E402
    Xoshiro256StarStar,
    alias_table,
    assert_kernel_matches_naive,
    pack_alias_table,
)

# ------------------------------------------------------------------ random primitives


def _stream(seed=5, agent=3):
    return agent_states(seed, agent, 1)[0]


def test_xoshiro_reference_values():
    # Hand-derived from the algorithm: with s = (1, 2, 3, 4) the first output is
    # rotl(2·5, 7)·9 = 11520, the second rotl(0·5, 7)·9 = 0.
    rng = Xoshiro256StarStar([1, 2, 3, 4])
    assert [rng.next_u64(), rng.next_u64()] == [11520, 0]


def test_xoshiro_matches_kernel():
    s = _stream().copy()
    rng = Xoshiro256StarStar(s)
    assert [rng.next_u64() for _ in range(2000)] == [int(next_u64(s)) for _ in range(2000)]
    assert rng.s == [int(v) for v in s]


@pytest.mark.parametrize("q", [1.0, 0.999, 0.5, 1 / 3, 0.2, 1e-3, 1e-9, 1e-15])
def test_geometric_matches_kernel(q):
    s = _stream(5).copy()
    rng = Xoshiro256StarStar(s)
    assert [rng.geometric(q) for _ in range(500)] == [int(geometric_trials(s, q))
                                                      for _ in range(500)]
    assert rng.s == [int(v) for v in s]


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 2**31 - 1, 2**32 - 1])
def test_bounded_int_matches_kernel(n):
    s = _stream(11).copy()
    rng = Xoshiro256StarStar(s)
    naive = [rng.bounded(n) for _ in range(500)]
    assert naive == [int(bounded_int(s, n)) for _ in range(500)]
    assert all(0 <= v < n for v in naive)


@pytest.mark.parametrize("p", [
    np.full(5, 0.2),
    Quanta(30, alpha=0.5).p,
    Quanta(7, frequencies=[5, 0, 1, 1e-9, 3, 0.5, 2]).p,
    np.array([1.0]),
])
def test_alias_table_matches_kernel_and_p(p):
    table = alias_table(p)
    packed = build_alias_table(np.ascontiguousarray(p, dtype=np.float64))
    assert np.array_equal(pack_alias_table(table), packed)
    # Implied probabilities (per column: threshold/2^32 kept, the rest to the alias).
    k_total = len(p)
    implied = np.zeros(k_total)
    for i, (threshold, alias) in enumerate(table):
        implied[i] += threshold / 2**32 / k_total
        implied[alias] += (1 - threshold / 2**32) / k_total
    assert np.allclose(implied, p, rtol=0, atol=2.0**-32)
    # Draws decode identically.
    s = _stream(2).copy()
    rng = Xoshiro256StarStar(s)
    assert [rng.categorical(table) for _ in range(1000)] == [
        int(alias_draw(packed, k_total, s)) for _ in range(1000)]


# ------------------------------------------------------------------ naive vs kernel

K = 24
TAU = 1.0 + 0.6 * (np.arange(K) % 5)  # ⌈τ⌉ = 1, 2, 3, 3, 4 (non-integers on purpose)
DYADIC_COSTS = np.array([0.5, 1.0, 1.5, 2.5])[np.arange(K) % 4]
CAPACITY_CASES = {
    "unlimited": (1.0, math.inf, "reject"),
    "unit-reject": (1.0, 5.0, "reject"),
    "unit-evict": (1.0, 5.0, "evict"),
    "costs-reject": (DYADIC_COSTS, 6.5, "reject"),
    "costs-evict": (DYADIC_COSTS, 6.5, "evict"),
}
DATA_CASES = {
    "online": Online(steps=150, batch_size=7),
    "dataset": Dataset(size=230, epochs=4, batch_size=16),  # 16 does not divide 230
}
EDGES = [(0, 2), (1, 2), (2, 6), (3, 9), (6, 10), (4, 10), (12, 1)]
PREREQ_CASES = {
    "none": None,
    "block": Prerequisites(EDGES, mode="block"),
    "slow": Prerequisites(EDGES, mode="slow", factor=0.35),
}


@pytest.mark.parametrize("seed", [0, 7, 2024])
@pytest.mark.parametrize("prereq", list(PREREQ_CASES))
@pytest.mark.parametrize("data", list(DATA_CASES))
@pytest.mark.parametrize("capacity", list(CAPACITY_CASES))
@pytest.mark.parametrize("acquisition", ["threshold", "geometric"])
def test_kernel_matches_naive(acquisition, capacity, data, prereq, seed):
    cost, cap, policy = CAPACITY_CASES[capacity]
    sim = Simulation(
        engine="exact",
        quanta=Quanta(K, alpha=0.4, tau=TAU, cost=cost),
        learner=Learner(capacity=cap, acquisition=acquisition, policy=policy,
                        prerequisites=PREREQ_CASES[prereq]),
        data=DATA_CASES[data], agents=3, seed=seed, checkpoints=9, record_learn_steps=True,
    )
    slow = assert_kernel_matches_naive(sim)
    if policy == "evict":  # the evict path must actually run
        assert slow.evictions.sum() > 0


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("policy", ["reject", "evict"])
@pytest.mark.parametrize("data", [Online(steps=400, batch_size=5),
                                  Dataset(size=333, epochs=5, batch_size=40)])
def test_kernel_matches_naive_user_frequencies(policy, data, seed):
    """K = 30 user frequencies, per-quantum losses, per-agent capacities, geometric γ."""
    rng = np.random.default_rng(seed)
    freq = rng.pareto(1.0, 30) + 0.01
    sim = Simulation(
        engine="exact",
        quanta=Quanta(30, frequencies=freq, learned_loss=rng.uniform(0, 0.5, 30),
                      unlearned_loss=rng.uniform(0.5, 2, 30), tau=1.5, gamma=0.3,
                      cost=DYADIC_COSTS[np.arange(30) % 4]),
        learner=Learner(capacity=[0.0, 3.0, 7.5, math.inf], acquisition="geometric",
                        policy=policy),
        data=data, agents=4, seed=seed, checkpoints=[1, 2, 3, 20, data.total_steps],
        record_learn_steps=True, first_agent=5,
    )
    assert_kernel_matches_naive(sim)


# ------------------------------------------------------------------ closed forms

def _local_dataset_unlearned(n, size, p, tau, acquisition):
    """P(unlearned), (C, K), derived here independently of analysis.theory (the test below
    checks one against the other). n = e·D + m; the first m shuffled positions hold H ~ Bin(m, p)
    and the rest R ~ Bin(D − m, p), independent (iid set, independent shuffle); exposures
    X = e·D_k + H = (e+1)H + eR. Threshold: P(Bin(min(n, D), p) < c). Geometric:
    P(D_k < c) + E[r^X] − Σ_{h+j<c} P(H=h)P(R=j) r^((e+1)h + ej), r = 1 − 1/τ."""
    c = math.ceil(tau)
    n = np.asarray(n)[:, None]
    if acquisition == "threshold":
        return stats.binom.cdf(c - 1, np.minimum(n, size), p)
    r = 1.0 - 1.0 / tau
    e, m = np.divmod(n, size)
    mean = (1 - p + p * r ** (e + 1)) ** m * (1 - p + p * r**e) ** (size - m)
    low = sum(stats.binom.pmf(h, m, p) * stats.binom.pmf(j, size - m, p)
              * r ** ((e + 1) * h + e * j) for h in range(c) for j in range(c - h))
    return np.clip(stats.binom.cdf(c - 1, size, p) + mean - low, 0.0, 1.0)


def unlearned_prob(result: Result, p, tau, acquisition, dataset_size=None):
    """Closed-form P(quantum k unlearned) at each checkpoint, (C, K); unlimited capacity."""
    n = result.samples[:, None].astype(float)
    c = math.ceil(tau)
    if dataset_size is None:
        if acquisition == "threshold":
            return stats.binom.cdf(c - 1, n, p)
        return (1.0 - p / tau) ** n
    return dataset_unlearned_prob(result.samples, dataset_size, p, tau, acquisition)


def assert_matches_theory(result: Result, p, prob):
    """Mean loss and mean learned within 4 SE + 1e-3 at every checkpoint.

    The SE is the larger of the empirical one and the one the closed form implies for
    independent quanta, so a checkpoint where every agent happens to sit on the same
    value (empirical SE 0) is not held to 1e-3 against a small but nonzero expectation.
    """
    n_agents = result.n_agents
    loss_theory = np.asarray(expected_loss(prob, p))
    learned_theory = (1.0 - prob).sum(axis=1)
    var = prob * (1.0 - prob)
    loss_se = np.maximum(result.loss_sem, np.sqrt(var @ p**2 / n_agents))
    learned_se = np.maximum(result.learned_sem, np.sqrt(var.sum(axis=1) / n_agents))
    loss_err = np.abs(result.loss_mean - loss_theory)
    learned_err = np.abs(result.learned_mean - learned_theory)
    assert np.all(loss_err <= 4 * loss_se + 1e-3), (
        f"loss: steps {result.steps}\nsim {result.loss_mean}\ntheory {loss_theory}\n"
        f"z {loss_err / loss_se}")
    assert np.all(learned_err <= 4 * learned_se + 1e-3), (
        f"learned: steps {result.steps}\nsim {result.learned_mean}\n"
        f"theory {learned_theory}\nz {learned_err / learned_se}")


@pytest.mark.parametrize("regime", ["online", "dataset"])
@pytest.mark.parametrize("acquisition", ["threshold", "geometric"])
@pytest.mark.parametrize("tau", [1.0, 5.0])
@pytest.mark.parametrize("alpha", [0.3, 1.0])
def test_mean_loss_matches_theory(alpha, tau, acquisition, regime):
    quanta = Quanta(60, alpha=alpha, tau=tau)
    if regime == "online":
        data, size = Online(steps=400, batch_size=10), None
    else:
        data, size = Dataset(size=1500, epochs=3, batch_size=64), 1500
    result = simulate_exact(quanta, Learner(acquisition=acquisition), data, agents=400, seed=12,
                            checkpoints=12)
    assert_matches_theory(result, quanta.p, unlearned_prob(result, quanta.p, tau,
                                                           acquisition, size))


@pytest.mark.parametrize("acquisition", ["threshold", "geometric"])
@pytest.mark.parametrize("regime", ["online", "dataset"])
def test_done_when_runs_match_theory(regime, acquisition):
    """The acceptance runs: K = 2000, α = 0.5, τ = 5, batch 100, 200 agents, seed 1."""
    quanta = Quanta(2000, alpha=0.5, tau=5)
    if regime == "online":
        data, size = Online(steps=10_000, batch_size=100), None
    else:
        data, size = Dataset(size=20_000, epochs=5, batch_size=100), 20_000
    result = simulate_exact(quanta, Learner(acquisition=acquisition), data, agents=200, seed=1,
                            checkpoints=12)
    assert result.steps.size == 12 and result.steps[-1] == data.total_steps
    assert_matches_theory(result, quanta.p, unlearned_prob(result, quanta.p, 5.0,
                                                           acquisition, size))


@pytest.mark.parametrize("acquisition", ["threshold", "geometric"])
def test_local_dataset_closed_form_agrees_with_theory_module(acquisition):
    p = Quanta(40, alpha=0.5).p
    n = np.array([1, 17, 300, 999, 1000, 1001, 2500, 3000])
    for tau in (1.0, 2.5, 5.0):
        ours = _local_dataset_unlearned(n, 1000, p, tau, acquisition)
        theirs = dataset_unlearned_prob(n, 1000, p, tau, acquisition)
        assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ reproducibility

_BIT_SIM = dict(
    quanta=dict(n_quanta=40, alpha=0.6, tau=2.5, cost=[0.5, 1.0, 2.0, 1.5] * 10),
    learner=dict(capacity=[3.0, 8.0, 12.5, math.inf] * 4, acquisition="geometric",
                 policy="evict", edges=[[0, 5], [1, 5], [5, 9], [2, 20]]),
    data=dict(size=700, epochs=3, batch_size=33),
    agents=16, seed=99, checkpoints=15,
)

_BIT_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from simquanta import Dataset, Learner, Prerequisites, Quanta, simulate
    cfg = json.loads(sys.argv[1])
    learner = dict(cfg["learner"])
    learner["prerequisites"] = Prerequisites([tuple(e) for e in learner.pop("edges")],
                                             mode="slow", factor=0.4)
    r = simulate(Quanta(**cfg["quanta"]), Learner(**learner), Dataset(**cfg["data"]),
                 agents=cfg["agents"], seed=cfg["seed"], checkpoints=cfg["checkpoints"],
                 record_learn_steps=True, engine="exact")
    assert r.engine == "exact"
    for name in ("loss", "learned", "used", "learn_step"):
        np.save(f"{sys.argv[2]}/{name}.npy", getattr(r, name))
""")


def _bit_sim_in_process():
    cfg = _BIT_SIM
    learner = dict(cfg["learner"])
    learner["prerequisites"] = Prerequisites([tuple(e) for e in learner.pop("edges")],
                                             mode="slow", factor=0.4)
    return simulate_exact(Quanta(**cfg["quanta"]), Learner(**learner), Dataset(**cfg["data"]),
                          agents=cfg["agents"], seed=cfg["seed"], checkpoints=cfg["checkpoints"],
                          record_learn_steps=True)


@pytest.mark.parametrize("threads", [1, 2])
def test_bit_identical_across_thread_counts(tmp_path, threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    subprocess.run([sys.executable, "-c", _BIT_SCRIPT, json.dumps(_BIT_SIM), str(tmp_path)],
                   env=env, check=True, timeout=120)
    here = _bit_sim_in_process()
    for name in ("loss", "learned", "used", "learn_step"):
        there = np.load(tmp_path / f"{name}.npy")
        mine = getattr(here, name)
        assert there.dtype == mine.dtype and there.shape == mine.shape
        assert there.tobytes() == mine.tobytes(), name


@pytest.mark.parametrize("regime", ["online", "dataset"])
def test_bit_identical_across_agent_splits(regime):
    quanta = Quanta(25, alpha=0.3, tau=2.0, cost=[1.0, 0.5] * 12 + [2.0])
    learner = Learner(capacity=6.0, acquisition="geometric", policy="evict")
    data = Online(steps=200, batch_size=6) if regime == "online" else Dataset(300, 3, 7)
    kw = dict(seed=4, checkpoints=10, record_learn_steps=True)
    whole = simulate_exact(quanta, learner, data, agents=10, first_agent=0, **kw)
    head = simulate_exact(quanta, learner, data, agents=4, first_agent=0, **kw)
    tail = simulate_exact(quanta, learner, data, agents=6, first_agent=4, **kw)
    for name in ("loss", "learned", "used", "learn_step"):
        joined = np.concatenate([getattr(head, name), getattr(tail, name)])
        assert joined.tobytes() == getattr(whole, name).tobytes(), name
    assert np.array_equal(tail.to_xarray()["agent"].values, np.arange(4, 10))


# ------------------------------------------------------------------ properties

dyadic_cost = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 3.0])


@st.composite
def runs(draw, policy=None):
    k_total = draw(st.integers(1, 12))
    a = np.array(draw(st.lists(st.floats(0, 1), min_size=k_total, max_size=k_total)))
    extra = np.array(draw(st.lists(st.floats(0, 2), min_size=k_total, max_size=k_total)))
    frequencies = None
    if draw(st.booleans()):  # user frequencies, zeros allowed
        weights = st.sampled_from([0.0, 1e-6, 0.1, 1.0, 3.0])
        frequencies = draw(st.lists(weights, min_size=k_total, max_size=k_total)
                           .filter(lambda w: sum(w) > 0))
    quanta = Quanta(
        k_total, alpha=draw(st.floats(0.0, 2.0, exclude_min=True)),
        offset=draw(st.floats(-0.5, 3.0)),
        frequencies=frequencies, tau=draw(st.floats(1.0, 6.0)),
        gamma=draw(st.sampled_from([None, None, -0.3, 0.5])), learned_loss=a,
        unlearned_loss=a + extra,
        cost=draw(st.lists(dyadic_cost, min_size=k_total, max_size=k_total)),
    )
    agents = draw(st.integers(1, 4))
    capacity = draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 6.0, math.inf]),
                             min_size=agents, max_size=agents))
    learner = Learner(capacity=capacity, acquisition=draw(st.sampled_from(["threshold",
                                                                          "geometric"])),
                      policy=policy or draw(st.sampled_from(["reject", "evict"])))
    if draw(st.booleans()):
        data = Online(steps=draw(st.integers(1, 60)), batch_size=draw(st.integers(1, 8)))
    else:
        size = draw(st.integers(1, 80))
        data = Dataset(size=size, epochs=draw(st.integers(1, 3)),
                       batch_size=draw(st.integers(1, size)))
    return Simulation(engine="exact", quanta=quanta, learner=learner, data=data, agents=agents,
                      seed=draw(st.integers(0, 2**32)), checkpoints=draw(st.integers(1, 20)),
                      record_learn_steps=True)


PROPERTY_SETTINGS = settings(max_examples=30, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


@st.composite
def runs_with_prerequisites(draw):
    sim = draw(runs())
    k_total = sim.quanta.n_quanta
    edges = []
    if k_total > 1:
        pairs = st.tuples(st.integers(0, k_total - 2), st.integers(1, k_total - 1))
        edges = [(a, b) for a, b in draw(st.lists(pairs, max_size=2 * k_total)) if a < b]
    prereq = Prerequisites(edges, mode=draw(st.sampled_from(["block", "slow"])),
                           factor=draw(st.sampled_from([0.05, 0.5, 1.0])))
    learner = sim.learner
    return Simulation(
        engine="exact", quanta=sim.quanta, data=sim.data, agents=sim.agents, seed=sim.seed,
        checkpoints=sim.checkpoints, record_learn_steps=True,
        learner=Learner(capacity=learner.capacity, acquisition=learner.acquisition,
                        policy=learner.policy, prerequisites=prereq),
    )


@PROPERTY_SETTINGS
@given(runs_with_prerequisites())
def test_kernel_matches_naive_on_random_runs(sim):
    assert_kernel_matches_naive(sim)


@PROPERTY_SETTINGS
@given(runs())
def test_invariants(sim):
    r = run(sim)
    cap = sim.learner.capacities(sim.agents)[:, None]
    p, a, b = sim.quanta.p, sim.quanta.learned_loss, sim.quanta.unlearned_loss
    assert np.all(r.used <= cap)
    assert np.all(r.used >= 0)
    assert np.all((r.learned >= 0) & (r.learned <= sim.quanta.n_quanta))
    assert np.all(r.loss >= p @ a - 1e-12) and np.all(r.loss <= p @ b + 1e-12)
    assert np.all(r.loss >= a.min() - 1e-12) and np.all(r.loss <= b.max() + 1e-12)
    ever = (r.learn_step >= 0).sum(axis=1)
    assert np.all(r.learned[:, -1] <= ever)


@PROPERTY_SETTINGS
@given(runs(policy="reject"))
def test_reject_is_monotone_and_learned_mask_exact(sim):
    r = run(sim)
    assert np.all(np.diff(r.loss, axis=1) <= 0)
    assert np.all(np.diff(r.learned, axis=1) >= 0)
    assert np.all(np.diff(r.used, axis=1) >= 0)
    mask = r.learned_mask()
    assert np.array_equal(mask.sum(axis=2), r.learned)
    p, a, b = sim.quanta.p, sim.quanta.learned_loss, sim.quanta.unlearned_loss
    assert np.allclose(r.loss, np.where(mask, a, b) @ p, rtol=0, atol=1e-12)
    assert np.allclose(r.used, mask @ sim.quanta.cost, rtol=0, atol=1e-12)


@PROPERTY_SETTINGS
@given(k_total=st.integers(2, 8), data=st.data())
def test_evict_keeps_top_n_by_frequency(k_total, data):
    """With ample samples, exposure counts rank like frequencies, so evict ends on the n
    most frequent quanta: loss = Σ_{k>n} p_k, learned = n."""
    n = data.draw(st.integers(1, k_total - 1))
    ratio = data.draw(st.floats(1.3, 3.0))
    tau = data.draw(st.floats(1.0, 5.0))
    acquisition = data.draw(st.sampled_from(["threshold", "geometric"]))
    p = ratio ** -np.arange(k_total, dtype=float)
    p /= p.sum()
    # Counts N·p_n and N·p_{n+1} apart by > 8 sd; every quantum seen ≫ τ times.
    gap = 64 * (p[n - 1] + p[n]) / (p[n - 1] - p[n]) ** 2
    samples = int(max(gap, 50 * tau / p[-1]))
    batch = 100
    result = simulate_exact(Quanta(k_total, frequencies=p, tau=tau),
                            Learner(capacity=n, acquisition=acquisition, policy="evict"),
                            Online(steps=-(-samples // batch), batch_size=batch), agents=3,
                            seed=data.draw(st.integers(0, 1000)), checkpoints=1)
    q = result.frequencies
    assert np.all(result.learned[:, -1] == n)
    assert np.allclose(result.loss[:, -1], q[n:].sum(), rtol=0, atol=1e-12)
    assert np.all(result.used[:, -1] == n)


def test_prerequisite_chain_learned_in_order():
    quanta = Quanta(6, alpha=0.2, tau=2)
    learner = Learner(prerequisites=Prerequisites([(0, 1), (1, 2)], mode="block"))
    r = simulate_exact(quanta, learner, Online(steps=3000, batch_size=1), agents=30, seed=8,
                       checkpoints=5, record_learn_steps=True)
    steps = r.learn_step[:, :3]
    assert np.all(steps >= 0), "the chain should be complete by the end of the run"
    assert np.all(np.diff(steps, axis=1) > 0)


def test_prerequisite_block_with_unlearnable_prerequisite():
    """In a dataset lacking every example of the prerequisite the dependent is never
    learned, however often it is seen."""
    freq = np.array([1.0, 1e-12, 1.0])
    r = simulate_exact(Quanta(3, frequencies=freq, tau=1),
                       Learner(prerequisites=Prerequisites([(1, 0)], mode="block")),
                       Dataset(size=50, epochs=4, batch_size=5), agents=5, seed=0, checkpoints=3,
                       record_learn_steps=True)
    assert np.all(r.learn_step[:, 0] == -1) and np.all(r.learn_step[:, 2] >= 0)


# ------------------------------------------------------------------ Result

@pytest.fixture(scope="module")
def small_result():
    return simulate_exact(Quanta(12, alpha=0.5, tau=2), Learner(capacity=5, policy="reject"),
                          Dataset(size=90, epochs=2, batch_size=20), agents=5, seed=3,
                          checkpoints=6, record_learn_steps=True, first_agent=2)


def test_result_netcdf_round_trip(small_result, tmp_path):
    path = small_result.save(tmp_path / "sub" / "run.nc")
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    back = Result.load(path)
    for name in ("steps", "samples", "loss", "learned", "used", "capacity", "frequencies",
                 "learn_step"):
        mine, theirs = getattr(small_result, name), getattr(back, name)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), name
    assert back.engine == small_result.engine
    assert back.config == small_result.config
    assert back.versions == small_result.versions
    assert back.seed == 3
    assert np.array_equal(back.agent_index, np.arange(2, 7))


def test_result_opens_with_plain_xarray(small_result, tmp_path):
    import xarray as xr

    path = small_result.save(tmp_path / "run.nc")
    with xr.open_dataset(path) as ds:
        assert dict(ds.sizes) == {"agent": 5, "checkpoint": small_result.steps.size,
                                  "quantum": 12}
        assert ds["loss"].dims == ("agent", "checkpoint")
        assert ds["learn_step"].dims == ("agent", "quantum")
        assert ds["loss"].attrs["units"] == "bits per sample"
        assert list(ds["agent"].values) == [2, 3, 4, 5, 6]
        assert np.array_equal(ds["step"].values, small_result.steps)
        config = json.loads(ds.attrs["config"])
        assert config["seed"] == 3 and config["dataset_size"] == 90
        assert ds.attrs["engine"] == "exact"
        assert "simquanta" in json.loads(ds.attrs["versions"])


def test_learned_mask_consistent_under_reject(small_result):
    mask = small_result.learned_mask()
    assert mask.shape == (5, small_result.steps.size, 12)
    assert np.array_equal(mask.sum(axis=2), small_result.learned)


def test_learned_mask_needs_learn_steps():
    r = simulate_exact(Quanta(3), data=Online(steps=5), checkpoints=2)
    with pytest.raises(ValueError, match="record_learn_steps"):
        r.learned_mask()


@pytest.mark.parametrize("engine", ["exact", "events"])
def test_progress_bar_chunks_agents_without_changing_results(engine):
    from simquanta.simulate import run

    sim = Simulation(Quanta(300, tau=3), Learner(capacity=50), Online(2000, 10), agents=37,
                     seed=4, checkpoints=7, engine=engine, record_learn_steps=True)
    plain, chunked = run(sim), run(sim, progress=True)
    for name in ("loss", "learned", "used", "learn_step"):
        assert np.array_equal(getattr(plain, name), getattr(chunked, name)), name


@pytest.mark.parametrize("policy, capacity", [("evict", 10.0), ("reject", 10.0),
                                              ("reject", math.inf)])
def test_recorded_learned_sets_match_counts_loss_and_learn_steps(policy, capacity):
    """The learned set at each checkpoint sums to the learned count and reproduces the
    loss; where learned quanta are kept it equals the mask derived from learn steps, and
    under evict it shows quanta that were learned and then evicted."""
    quanta = Quanta(60, alpha=0.5, tau=2)
    result = simulate(quanta, Learner(capacity=capacity, policy=policy), Online(3000, 5),
                      agents=8, seed=2, checkpoints=6, engine="exact",
                      record_learned_sets=True, record_learn_steps=True)
    sets = result.learned_sets
    assert sets.shape == (8, result.steps.size, 60)
    assert np.array_equal(sets.sum(axis=2), result.learned)
    assert np.allclose(result.loss, 1.0 - (sets * quanta.p).sum(axis=2), atol=1e-12)
    ls = result.learn_step[:, None, :]
    derived = (ls >= 0) & (ls <= result.steps[None, :, None])
    if policy == "reject":
        assert np.array_equal(sets, derived)
    else:
        assert np.all(derived >= sets) and np.any(derived & ~sets)  # evictions seen
