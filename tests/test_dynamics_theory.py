"""Closed forms of the logistic and resource families against literal Monte Carlo.

Every Monte Carlo here is pure numpy, implements the law as stated (strength from counts drawn
sample by sample or as Poisson arrivals; the resource budget U recomputed at every exposure),
uses a fixed seed, and is compared within 4 standard errors (SE = sample sd / sqrt(agents)).
Closed forms are also checked against brute-force sums (to 1e-12) where those exist.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special, stats

from simquanta.analysis import dynamics_theory as dt
from simquanta.analysis.theory import zipf_frequencies

Z = 4.0  # tolerance in standard errors


def _within(mc: np.ndarray, theory: np.ndarray, axis: int = 0) -> None:
    """|mean(mc) − theory| < Z·SE along ``axis``."""
    mean = mc.mean(axis=axis)
    n = mc.shape[axis]
    # A sample of n cannot resolve probabilities below 1/n (all agents may agree, SE = 0):
    # the SE is floored at one agent's worth, span/n, span = range of the observable.
    span = float(np.max(mc) - np.min(mc)) or 1.0
    se = np.maximum(mc.std(axis=axis, ddof=1) / math.sqrt(n), span / n)
    err = np.abs(mean - theory)
    assert np.all(err <= Z * se), (mean, theory, err / se)


def _strength(c, eta, s0):
    """The law written literally (not via expit)."""
    return 1.0 / (1.0 + (1.0 / s0 - 1.0) * np.exp(-eta * c))


# ------------------------------------------------------------------------------ logistic


def test_strength_solves_the_logistic_ode():
    eta, s0 = 0.7, 0.02
    c = np.linspace(0.0, 30.0, 301)
    s = dt.logistic_strength(c, eta, s0)
    assert s[0] == pytest.approx(s0, rel=1e-15)
    np.testing.assert_allclose(s, _strength(c, eta, s0), rtol=1e-13)
    h = 1e-5
    deriv = (dt.logistic_strength(c + h, eta, s0) - dt.logistic_strength(c, eta, s0 + 0.0)) / h
    np.testing.assert_allclose(deriv, eta * s * (1 - s), rtol=1e-4, atol=1e-9)
    # c½ = max(1, ceil(ln(1/s0 − 1)/η)) is the first integer count with s ≥ ½
    for eta_, s0_ in [(0.5, 0.01), (0.3, 0.2), (3.0, 0.4), (0.05, 1e-9)]:
        half = int(dt.logistic_half_count(eta_, s0_))
        assert _strength(half, eta_, s0_) >= 0.5 > _strength(half - 1, eta_, s0_)


@pytest.mark.parametrize("counts", ["binomial", "poisson"])
def test_mean_strength_equals_full_pmf_sum(counts):
    """Truncated, log-space recursion vs scipy's pmf summed over every count: 1e-12."""
    p = np.array([0.5, 0.25, 0.15, 0.0999, 1e-4])
    eta = np.array([0.5, 1.0, 0.2, 2.0, 0.5])
    n = np.array([0, 1, 7, 60, 500])
    got = dt.logistic_mean_strength(n, p, eta, 0.01, counts)
    c = np.arange(0, 501)[None, None, :]
    if counts == "binomial":
        pmf = stats.binom.pmf(c, n[:, None, None], p[None, :, None])
    else:
        pmf = stats.poisson.pmf(c, (n[:, None] * p)[:, :, None])
    want = (pmf * _strength(c, eta[None, :, None], 0.01)).sum(-1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("counts", ["binomial", "poisson"])
def test_mean_strength_against_drawn_counts(counts):
    rng = np.random.default_rng(11)
    p = np.array([0.4, 0.3, 0.2, 0.1])
    eta, s0, agents = 0.35, 0.05, 40000
    for n in (5, 30, 120):
        c = (rng.binomial(n, p, size=(agents, 4)) if counts == "binomial"
             else rng.poisson(n * p, size=(agents, 4)))
        _within(_strength(c, eta, s0), dt.logistic_mean_strength(n, p, eta, s0, counts))


@pytest.mark.parametrize("counts", ["binomial", "poisson"])
def test_expected_loss_and_learned_against_sampling(counts):
    """Agents draw their n samples i.i.d. from p (multinomial), or Poisson(n p_k) exposures."""
    rng = np.random.default_rng(12 if counts == "binomial" else 13)
    K, agents = 30, 20000
    p = zipf_frequencies(K, 0.5)
    a = np.linspace(0.0, 0.2, K)
    b = np.linspace(1.0, 2.0, K)
    eta = np.linspace(0.3, 0.8, K)  # per-quantum η
    s0 = 0.01
    n = np.array([0, 20, 200, 2000])
    losses, learned = [], []
    for n_i in n:
        c = (rng.multinomial(n_i, p, size=agents) if counts == "binomial"
             else rng.poisson(n_i * p, size=(agents, K)))
        s = _strength(c, eta, s0)
        losses.append((p * (b - (b - a) * s)).sum(1))
        learned.append((s >= 0.5).sum(1))
    _within(np.array(losses).T, dt.logistic_expected_loss(n, p, a, b, eta=eta, s0=s0,
                                                           counts=counts))
    _within(np.array(learned, dtype=float).T,
            dt.logistic_expected_learned(n, p, eta, s0, counts))


def test_logistic_edge_cases():
    p = np.array([0.6, 0.4 - 1e-9, 1e-9, 0.0])
    # n = 0: every strength is s0, loss Σ p (b − (b − a) s0), nothing learned
    assert dt.logistic_expected_loss(0, p, 0.1, 1.0, eta=0.5, s0=0.3) == pytest.approx(
        0.1 + 0.9 * 0.7, rel=1e-14)
    assert dt.logistic_expected_learned(0, p, 0.5, 0.3) == 0.0
    # s0 near 0 (1e-300): c½ = ceil(690.8/η); strength is ~0 until then
    s_tiny = dt.logistic_mean_strength(np.array([0, 10]), p, 5.0, 1e-300)
    np.testing.assert_allclose(s_tiny[0], 1e-300, rtol=1e-12)
    assert np.all(s_tiny[1] < 1e-200)
    assert int(dt.logistic_half_count(5.0, 1e-300)) == math.ceil(math.log(1e300) / 5.0)
    # η large: one exposure saturates, E[s] = 1 − (1 − s0)·P(c = 0)
    for counts, zero in (("binomial", (1 - p) ** 50), ("poisson", np.exp(-50 * p))):
        got = dt.logistic_mean_strength(50, p, 200.0, 0.01, counts)
        np.testing.assert_allclose(got, 1 - 0.99 * zero, rtol=1e-13, atol=1e-15)
    # a lone quantum (p = 1): the count is n
    assert dt.logistic_mean_strength(7, [1.0], 0.5, 0.01)[0] == pytest.approx(
        _strength(7, 0.5, 0.01), rel=1e-13)
    assert dt.logistic_expected_learned(10, [1.0], 0.5, 0.01) == 1.0  # c½ = 10
    assert dt.logistic_expected_learned(9, [1.0], 0.5, 0.01) == 0.0
    # huge n: every used quantum is learned, loss Σ_{p>0} p a + p(b) for the unused one
    loss = dt.logistic_expected_loss(10**15, p, 0.25, 1.0, eta=0.5, s0=0.01)
    assert loss == pytest.approx(0.25, rel=1e-9)


@pytest.mark.parametrize(("field", "kwargs"), [
    ("eta", {"eta": 0.0}), ("eta", {"eta": math.inf}), ("s0", {"s0": 1.0}),
    ("s0", {"s0": 0.0}), ("counts", {"counts": "normal"}), ("n", {"n": 1.5}),
    ("n", {"n": -1}), ("p", {"p": [0.5, 0.6]}), ("eta", {"eta": [0.5, 0.5, 0.5]}),
])
def test_logistic_bad_input_names_the_field(field, kwargs):
    args = {"n": 10, "p": [0.5, 0.5], "eta": 0.5, "s0": 0.01, "counts": "binomial"} | kwargs
    with pytest.raises(ValueError, match=rf"^{field} = "):
        dt.logistic_mean_strength(**args)


def test_mean_field_and_emergence_time():
    p = np.array([0.5, 0.3, 0.2])
    t_half = dt.logistic_emergence_time(p, 0.4, 0.01)
    np.testing.assert_allclose(t_half * p, math.log(99) / 0.4, rtol=1e-14)  # ∝ 1/p_k
    s = dt.logistic_mean_field(t_half, p, 0.4, 0.01)
    np.testing.assert_allclose(np.diag(s), 0.5, rtol=1e-13)
    np.testing.assert_allclose(dt.logistic_mean_field(0.0, p, 0.4, 0.01), 0.01, rtol=1e-14)
    # the mean field is the strength at the mean count: large-count limit of the exact mean
    # (Jensen gap ~ η²·Var(c) = η·(η p n) = O(η) at η p n = O(1))
    exact = dt.logistic_mean_strength(2 * 10**4, p, 1e-3, 0.01, "poisson")
    np.testing.assert_allclose(exact, dt.logistic_mean_field(2 * 10**4, p, 1e-3, 0.01),
                               atol=2e-3)


def test_dataset_regime_against_drawn_datasets():
    rng = np.random.default_rng(14)
    K, D, agents, tau = 20, 400, 20000, 3.0
    p = zipf_frequencies(K, 0.7)
    eta, s0 = 0.4, 0.02
    epochs = np.array([0, 1, 4, 30])
    d_k = rng.multinomial(D, p, size=agents)  # one training set per agent
    losses = []
    for e in epochs:
        s = np.where(d_k >= math.ceil(tau), _strength(d_k * e, eta, s0), s0)
        losses.append((p * (1.0 - s)).sum(1))
    _within(np.array(losses).T,
            dt.logistic_dataset_expected_loss(epochs, D, p, eta=eta, s0=s0, tau=tau))
    # many epochs: (1 − s0) × the threshold model's unlearnable mass
    limit = (1 - s0) * np.sum(p * stats.binom.cdf(math.ceil(tau) - 1, D, p))
    assert dt.logistic_dataset_expected_loss(10**6, D, p, eta=eta, s0=s0, tau=tau) == (
        pytest.approx(limit, rel=1e-12))
    np.testing.assert_allclose(dt.logistic_dataset_mean_strength(0, D, p, eta, s0, tau), s0)


def test_step_asymptote_and_exponent():
    """Σ_k p_k E[1 − s] for Zipf p at large n vs β ζ^-β J n^-α/(α+1); K = 2·10^4 plus its tail."""
    alpha, K, eta, s0 = 1.0, 20000, 0.5, 0.01
    p = zipf_frequencies(K, alpha)
    n = np.array([1e4, 1e5, 1e6])
    # quanta beyond K are unseen at these n (n p_K < 0.002): add (1 − s0)·Σ_{k>K} k^-2/ζ(2)
    tail = (1 - s0) * special.zeta(2.0, K + 1) / special.zeta(2.0)
    exact = dt.logistic_expected_loss(n, p, eta=eta, s0=s0, counts="poisson") * (
        np.sum(np.arange(1, K + 1) ** -2.0) / special.zeta(2.0)) + tail
    asym = dt.logistic_step_loss_asymptote(n, alpha, eta=eta, s0=s0)
    np.testing.assert_allclose(exact, asym, rtol=2e-3)
    slope = np.diff(np.log(exact)) / np.diff(np.log(n))
    np.testing.assert_allclose(-slope, dt.logistic_exponents(alpha)["steps"], atol=2e-3)
    assert dt.logistic_exponents(0.4) == pytest.approx(
        {"steps": 0.4 / 1.4, "data": 0.4 / 1.4, "parameters": 0.4, "compute": 0.4 / 2.4,
         "N_opt": 1 / 2.4})
    # sharp limit: J → τ^(1−β)/(1−β) with τ = ln(1/s0 − 1)/η, the threshold model's prefactor
    beta = 0.5
    J = dt._logistic_prefactor_integral(beta, 1e-3, 1e-30)
    tau = math.log(1e30) / 1e-3
    assert J == pytest.approx(tau ** (1 - beta) / (1 - beta), rel=2e-2)


# ------------------------------------------------------------------------------ resource


def _prereq_matrix(edges, K):
    R = np.zeros((K, K), dtype=bool)
    for j, k in edges or ():
        R[j, k] = True
    return R


def _resource_expose(progress, learned, k, g, tau, R, agents_idx):
    """One exposure of quantum k[i] for every agent i, by the law: U before, then π += 1/U."""
    unblocked = ~((~learned).astype(np.int64) @ R.astype(np.int64)).astype(bool)
    in_prog = ~learned & unblocked
    U = (in_prog * g).sum(1) / g.sum()
    hit = in_prog[agents_idx, k]
    rows, cols = agents_idx[hit], k[hit]
    progress[rows, cols] += 1.0 / U[hit]
    done = progress[rows, cols] >= tau[cols]
    learned[rows[done], cols[done]] = True
    return rows[done], cols[done]


def _resource_learn_times_iid(p, g, tau, edges, agents, max_samples, rng):
    K = p.size
    progress = np.zeros((agents, K))
    learned = np.zeros((agents, K), dtype=bool)
    times = np.full((agents, K), np.inf)
    idx = np.arange(agents)
    R = _prereq_matrix(edges, K)
    for step in range(1, max_samples + 1):
        k = rng.choice(K, size=agents, p=p)
        rows, cols = _resource_expose(progress, learned, k, g, tau, R, idx)
        times[rows, cols] = step
        if learned.all():
            return times
    raise AssertionError("max_samples too small")


def test_domino_numbers():
    d = dt.resource_domino((1.0, 0.1), tau=1.0)
    assert d["t1_independent"] == pytest.approx(1.1, rel=1e-14)
    assert d["t2_independent"] == pytest.approx(2.0, rel=1e-14)
    assert d["independent_t2_over_t1"] == pytest.approx(2.0 / 1.1, rel=1e-14)  # 1.82
    assert d["t2_alone"] == 1.0
    assert d["independent_ratio"] == pytest.approx(2.0, rel=1e-14)
    assert d["t1_chain"] == pytest.approx(1.0, rel=1e-14)
    assert d["t2_chain"] == pytest.approx(2.0, rel=1e-14)
    assert d["counting_t2_independent"] == pytest.approx(11.0, rel=1e-14)
    assert d["counting_t2_chain"] == pytest.approx(12.1, rel=1e-14)
    # scale-free in τ; one isolated quantum is the threshold rule
    np.testing.assert_allclose(dt.resource_mean_field_times([1.0], [1.0], 7.0), [7.0])
    np.testing.assert_allclose(dt.resource_mean_field_times([0.9, 0.1], [0.9, 0.1], 5.0),
                               [5 / 0.9, 10.0], rtol=1e-14)
    # equal τ: t2 = t1 + (τ − p2 t1)·1 = τ + p1 t1 = 2τ whatever p (t1 = τ/p1)
    # quanta with p = 0 or behind a never-learned prerequisite are never learned
    t = dt.resource_mean_field_times([0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], 1.0,
                                     edges=[(2, 3)])
    assert np.isinf(t[2:]).all() and np.isfinite(t[:2]).all()


@pytest.mark.parametrize("chain", [False, True])
def test_domino_bracket_by_monte_carlo(chain):
    """Sample-by-sample MC: E[T2] ∈ [2τ, 2τ + one mean inter-arrival per learn event).

    Independent: T1 = τ-th q1 sample (mean 1.1τ), q2 then has T1 − τ progress and needs
    ⌈(2τ − T1)/11⌉ more exposures, 11 samples apart on average: E[T2] ∈ [2τ, 2τ + 11).
    Chain: ⌈τ/1.1⌉ q1 exposures (mean 1.1 samples apart), then ⌈τ/11⌉ q2 exposures:
    E[T2] ∈ [2τ, 2τ + 12.1).  The mean field gives 2τ in both cases.
    """
    rng = np.random.default_rng(21 + chain)
    tau, agents = 220.0, 2000
    p = np.array([1.0, 0.1]) / 1.1
    edges = [(0, 1)] if chain else None
    times = _resource_learn_times_iid(p, p, np.full(2, tau), edges, agents, 2000, rng)
    mf = dt.resource_mean_field_times(p, p, tau, edges=edges)
    assert mf[1] == pytest.approx(2 * tau, rel=1e-13)
    t2 = times[:, 1]
    se = t2.std(ddof=1) / math.sqrt(agents)
    assert 2 * tau - Z * se <= t2.mean() <= 2 * tau + (12.1 if chain else 11.0) + Z * se


@pytest.mark.parametrize("edges", [None, [(0, 1), (1, 2), (2, 3)]])
def test_mean_field_times_law_of_large_numbers(edges):
    """K = 4 Zipf quanta, g = p(b − a) with unequal b − a, τ large: MC times → mean field."""
    rng = np.random.default_rng(31 if edges is None else 32)
    p = zipf_frequencies(4, 1.0)
    g = p * np.array([1.0, 0.5, 2.0, 1.0])
    tau = np.array([300.0, 200.0, 400.0, 300.0])
    mf = dt.resource_mean_field_times(p, g, tau, edges=edges)
    times = _resource_learn_times_iid(p, g, tau, edges, 200, 6000, rng)
    # relative fluctuations ~ 1/sqrt(τ p) and overshoot ~ 1/(p_k τ) per event: 2 % covers both
    np.testing.assert_allclose(times.mean(0), mf, rtol=0.02)


def _two_quanta_closed_sum(n, r, m):
    """Docstring formula of resource_two_quanta_exact (first q1 sample at index T)."""
    p2 = 1.0 / r
    p1 = 1.0 - p2
    unl = p2**n if n < m else 0.0
    for t in range(1, min(n, m) + 1):
        need = math.ceil((m - t + 1) / r)
        unl += p2 ** (t - 1) * p1 * stats.binom.cdf(need - 1, n - t, p2)
    return unl


def _two_quanta_enumerate(n, r, m):
    """Every sequence of n samples, each run through the general law: E[L], E[learned]."""
    p = np.array([1 - 1 / r, 1 / r])
    g, tau = p.copy(), np.array([1.0, float(m)])
    loss = learned_total = 0.0
    for seq in itertools.product((0, 1), repeat=n):
        prog = np.zeros((1, 2))
        lrn = np.zeros((1, 2), dtype=bool)
        for k in seq:
            _resource_expose(prog, lrn, np.array([k]), g, tau, np.zeros((2, 2), bool),
                             np.array([0]))
        w = np.prod(p[list(seq)])
        loss += w * float((p * ~lrn[0]).sum())
        learned_total += w * lrn.sum()
    return loss, learned_total


def test_two_quanta_exact_matches_enumeration_and_formula():
    r, m = 4, 6
    n = np.arange(0, 11)
    pred = dt.resource_two_quanta_exact(n, r, m)
    for i, n_i in enumerate(n):
        loss, learned = _two_quanta_enumerate(int(n_i), r, m)
        assert pred.loss[i] == pytest.approx(loss, abs=1e-12)
        assert pred.learned[i] == pytest.approx(learned, abs=1e-12)
    big = np.array([0, 5, 17, 60, 200])
    pred = dt.resource_two_quanta_exact(big, 8, 30)
    for i, n_i in enumerate(big):
        want = _two_quanta_closed_sum(int(n_i), 8, 30)
        assert 1 - pred.learned_prob[i, 1] == pytest.approx(want, abs=1e-12)
        assert pred.learned_prob[i, 0] == pytest.approx(1 - (1 / 8) ** n_i, abs=1e-14)


def test_two_quanta_exact_against_sample_by_sample_monte_carlo():
    rng = np.random.default_rng(41)
    r, m, agents = 4, 9, 20000
    p = np.array([0.75, 0.25])
    tau = np.array([1.0, float(m)])
    checkpoints = [3, 8, 15, 30, 60]
    prog = np.zeros((agents, 2))
    lrn = np.zeros((agents, 2), dtype=bool)
    idx, R = np.arange(agents), np.zeros((2, 2), bool)
    loss, learned = [], []
    for step in range(1, checkpoints[-1] + 1):
        k = (rng.random(agents) < p[1]).astype(np.int64)
        _resource_expose(prog, lrn, k, p, tau, R, idx)
        if step in checkpoints:
            loss.append((p * ~lrn).sum(1))
            learned.append(lrn.sum(1).astype(float))
    pred = dt.resource_two_quanta_exact(checkpoints, r, m)
    _within(np.array(loss).T, pred.loss)
    _within(np.array(learned).T, pred.learned)


def test_two_quanta_poisson_against_arrival_monte_carlo():
    """Each quantum exposed at its own Poisson process (rate p_k per sample), in time order."""
    rng = np.random.default_rng(42)
    r, m, agents = 4, 9, 20000
    p = np.array([0.75, 0.25])
    tau = np.array([1.0, float(m)])
    t_check = np.array([2.5, 8.0, 15.0, 31.7, 60.0])
    n_events = 140  # events by t = 60 ~ Poisson(60): P(> 140) < 1e-15
    gaps = rng.exponential(1.0 / p, size=(agents, n_events, 2))
    arrivals = np.concatenate([np.cumsum(gaps[:, :, 0], 1), np.cumsum(gaps[:, :, 1], 1)], 1)
    which = np.repeat([0, 1], n_events)
    order = np.argsort(arrivals, axis=1)
    times = np.take_along_axis(arrivals, order, 1)
    quanta = which[order]
    assert (times[:, n_events - 1] > t_check[-1]).all()
    prog = np.zeros((agents, 2))
    lrn = np.zeros((agents, 2), dtype=bool)
    idx, R = np.arange(agents), np.zeros((2, 2), bool)
    snap = [lrn.copy() for _ in t_check]
    for e in range(n_events):
        _resource_expose(prog, lrn, quanta[:, e], p, tau, R, idx)
        for c, t in enumerate(t_check):
            snap[c] = np.where((times[:, e] <= t)[:, None], lrn, snap[c])
    loss = np.array([(p * ~s).sum(1) for s in snap]).T
    learned = np.array([s.sum(1) for s in snap], dtype=float).T
    pred = dt.resource_two_quanta_poisson(t_check, r, m)
    _within(loss, pred.loss)
    _within(learned, pred.learned)
    # the CTMC is the i.i.d. chain after N ~ Poisson(t) samples
    N = np.arange(0, 200)
    exact = dt.resource_two_quanta_exact(N, r, m)
    mix = stats.poisson.pmf(N[None, :], t_check[:, None]) @ exact.loss
    np.testing.assert_allclose(pred.loss, mix, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("fn", "args", "field"), [
    (dt.resource_two_quanta_exact, (10, 3.5, 4), "r"),
    (dt.resource_two_quanta_exact, (10, 1, 4), "r"),
    (dt.resource_two_quanta_exact, (10, 4, 0), "m"),
    (dt.resource_two_quanta_exact, (2.5, 4, 3), "n"),
    (dt.resource_two_quanta_poisson, (-1.0, 4, 3), "t"),
    (dt.resource_mean_field_times, ([0.5, 0.5], [0.5, 0.0], 1.0), "g"),
    (dt.resource_mean_field_times, ([0.5, 0.5], [0.5, 0.5], -1.0), "tau"),
    (dt.resource_mean_field_times, ([0.5, 0.5], [0.5, 0.5], 1.0, [(0, 0)]), "edges"),
    (dt.resource_mean_field_times, ([0.5, 0.5], [0.5, 0.5], 1.0, [(0, 2)]), "edges"),
])
def test_resource_bad_input_names_the_field(fn, args, field):
    with pytest.raises(ValueError, match=rf"^{field} = "):
        fn(*args)


def test_mean_field_loss():
    p = np.array([0.5, 0.3, 0.2])
    times = dt.resource_mean_field_times(p, p, 10.0)
    L = dt.resource_mean_field_loss(np.array([0.0, times[0], times[1], times[2]]), p, 0.0,
                                    1.0, times)
    np.testing.assert_allclose(L, [1.0, 0.5, 0.2, 0.0], atol=1e-15)
