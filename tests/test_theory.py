"""Tests for simquanta.analysis.theory against independent computations.

Monte Carlo checks use fixed seeds and a tolerance of 4 binomial standard errors,
SE = sqrt(P (1 - P) / n_agents) with P the theoretical value, plus 1/n_agents of slack so that
P in {0, 1} (SE = 0) does not demand bit equality from a finite sample.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import special, stats

from simquanta.analysis import theory as T

# ----------------------------------------------------------------------------------- helpers


def assert_within_se(mc: np.ndarray, theory: np.ndarray, n_agents: int, n_se: float = 4.0):
    se = np.sqrt(theory * (1.0 - theory) / n_agents)
    excess = np.abs(mc - theory) - (n_se * se + 1.0 / n_agents)
    assert np.all(excess <= 0), (
        f"max excess {excess.max():.3g}; mc={mc[excess > 0]}, theory={theory[excess > 0]}"
    )


def binom_cdf_by_hand(c: int, n: float, p: float) -> float:
    """P(Bin(n, p) < c) = Σ_{j<c} C(n, j) p^j (1-p)^(n-j), log C(n, j) = Σ_{i<j} log(n-i) - log j!.

    Summing the falling factorial (instead of gammaln(n+1) - gammaln(n-j+1), which cancels
    catastrophically at n = 1e12) keeps full precision for small j.
    """
    total = 0.0
    for j in range(c):
        log_choose = sum(math.log(n - i) for i in range(j)) - math.lgamma(j + 1)
        total += math.exp(log_choose + j * math.log(p) + (n - j) * math.log1p(-p))
    return total


def counts_at(stream: np.ndarray, n: int, n_quanta: int, weights=None) -> np.ndarray:
    """(agents, K) counts of each quantum (optionally weighted) among the first n samples."""
    agents = stream.shape[0]
    flat = (np.arange(agents)[:, None] * n_quanta + stream[:, :n]).ravel()
    w = None if weights is None else weights[:, :n].ravel()
    return np.bincount(flat, weights=w, minlength=agents * n_quanta).reshape(agents, n_quanta)


# ------------------------------------------------------------------------------ frequencies


def test_zipf_frequencies_matches_definition():
    k = np.arange(1, 51)
    for alpha, offset in [(0.4, 0.0), (1.5, 2.0), (-0.5, -0.9)]:
        w = (k + offset) ** -(alpha + 1)
        np.testing.assert_allclose(T.zipf_frequencies(50, alpha, offset), w / w.sum(), rtol=1e-13)


def test_zipf_frequencies_large_alpha_no_overflow():
    # (1 - 0.999)^-(201) = 1e603 overflows float64 if computed directly.
    p = T.zipf_frequencies(5, 200.0, offset=-0.999)
    assert np.all(np.isfinite(p)) and p[0] == pytest.approx(1.0)
    assert math.isclose(p.sum(), 1.0)


def test_zipf_single_quantum():
    np.testing.assert_array_equal(T.zipf_frequencies(1, 0.3), [1.0])


# ------------------------------------------------------------------------- online sampling


P_SMALL = T.zipf_frequencies(8, 0.5)
TAU_MIXED = np.array([1.0, 2.5, 5.0, 1.0, 3.0, 5.0, 1.0, 2.0])


def test_threshold_matches_scipy_binom_and_shapes():
    n = np.array([0, 1, 10, 100, 1000])
    got = T.threshold_unlearned_prob(n, P_SMALL, TAU_MIXED)
    assert got.shape == (5, 8)
    c = np.ceil(TAU_MIXED)
    want = np.array([[sum(stats.binom.pmf(j, ni, pk) for j in range(int(ck)))
                      for pk, ck in zip(P_SMALL, c, strict=True)] for ni in n])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    assert T.threshold_unlearned_prob(10, P_SMALL, 2).shape == (8,)


@pytest.mark.parametrize(
    ("n", "p_k", "c"),
    [(1e12, 1e-15, 1), (1e12, 1e-15, 5), (1e12, 1e-12, 5), (1e12, 3e-12, 5),
     (1e12, 1e-11, 5), (1e12, 1e-13, 2), (1e9, 1e-15, 1), (1e9, 1e-15, 3)],
)
def test_threshold_accurate_at_huge_n_tiny_p(n, p_k, c):
    # p is a 2-quantum distribution whose first entry is the tiny frequency of interest.
    p = np.array([p_k, 1.0 - p_k])
    got = T.threshold_unlearned_prob(n, p, c)[0]
    want = binom_cdf_by_hand(c, n, p_k)
    assert got == pytest.approx(want, rel=1e-12)
    # The complement (learned probability) must also keep relative accuracy when it is small.
    if 1.0 - want > 1e-6:
        assert 1.0 - got == pytest.approx(1.0 - want, rel=1e-8)


def test_threshold_poisson_matches_poisson_sum():
    n = np.array([0.0, 3.5, 40.0, 1e3])
    got = T.threshold_unlearned_prob_poisson(n, P_SMALL, TAU_MIXED)
    c = np.ceil(TAU_MIXED).astype(int)
    lam = n[:, None] * P_SMALL
    want = np.zeros_like(lam)
    for j in range(c.max()):
        want += np.where(j < c, np.exp(-lam) * lam**j / math.factorial(j), 0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got, stats.poisson.cdf(c - 1, lam), rtol=1e-12, atol=1e-300)


def test_poisson_is_binomial_limit_for_small_p():
    # |Bin(n, p) - Poisson(np)| in total variation <= p (Le Cam, for one trial type: n p^2 / np).
    p = np.array([1e-12, 3e-12, 1.0 - 4e-12])
    n = 1e12
    b = T.threshold_unlearned_prob(n, p, 5)[:2]
    q = T.threshold_unlearned_prob_poisson(n, p, 5)[:2]
    assert np.all(np.abs(b - q) <= 3e-12)
    bg = T.geometric_unlearned_prob(n, p, 5)[:2]
    qg = T.geometric_unlearned_prob_poisson(n, p, 5)[:2]
    assert np.all(np.abs(bg - qg) <= 3e-12)


def test_geometric_accurate_at_huge_n_tiny_p():
    # (1 - x)^n with x = p/tau = 2e-16: 1 - x rounds to 1 - 2.22e-16 in float64 (11% error in x)
    # so the naive power is badly off.  Reference: exp(-n (x + x²/2)), series of n log1p(-x).
    p = np.array([1e-15, 1.0 - 1e-15])
    n = np.array([1e12, 1e14])
    x = 1e-15 / 5
    want = np.exp(-n * (x + x * x / 2))
    got = T.geometric_unlearned_prob(n, p, 5)[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-13)
    naive = (1.0 - x) ** n[1]
    assert abs(naive / want[1] - 1) > 1e-3  # shows the check has teeth
    np.testing.assert_allclose(T.geometric_unlearned_prob_poisson(n, p, 5)[:, 0],
                               stats.poisson.pmf(0, n * x), rtol=1e-13)


def test_geometric_edge_cases():
    # K = 1, tau = 1: learned on the first sample; n = 0 means nothing seen yet.
    np.testing.assert_array_equal(T.geometric_unlearned_prob([0, 1, 7], [1.0], 1)[:, 0],
                                  [1.0, 0.0, 0.0])
    np.testing.assert_allclose(T.geometric_unlearned_prob(3, [1.0], 4.0), [(0.75) ** 3])


def test_online_rules_match_monte_carlo():
    rng = np.random.default_rng(20230313)
    agents, k = 20000, P_SMALL.size
    checkpoints = [0, 3, 10, 30, 60]
    stream = rng.choice(k, size=(agents, max(checkpoints)), p=P_SMALL)
    # Geometric rule: every exposure of quantum j independently succeeds w.p. 1/tau_j.
    success = rng.random(stream.shape) < 1.0 / TAU_MIXED[stream]
    c = np.ceil(TAU_MIXED)
    mc_thr = np.array([(counts_at(stream, n, k) < c).mean(0) for n in checkpoints])
    mc_geo = np.array([(counts_at(stream, n, k, success) == 0).mean(0) for n in checkpoints])
    assert_within_se(mc_thr, T.threshold_unlearned_prob(checkpoints, P_SMALL, TAU_MIXED), agents)
    assert_within_se(mc_geo, T.geometric_unlearned_prob(checkpoints, P_SMALL, TAU_MIXED), agents)


# ---------------------------------------------------------------------------- dataset regime


K_DS, D_DS = 20, 200
P_DS = T.zipf_frequencies(K_DS, 0.4)
TAU_DS = np.where(np.arange(K_DS) % 2 == 0, 1.0, 5.0)
TAU_DS[3] = 2.5  # a non-integer threshold: needs ceil(2.5) = 3 exposures
# mid-epoch, epoch boundaries, several epochs deep
CHECKPOINTS_DS = np.array([0, 37, 150, 200, 333, 400, 650, 1000])


def test_dataset_rules_match_monte_carlo():
    rng = np.random.default_rng(7)
    agents = 20000
    data = rng.choice(K_DS, size=(agents, D_DS), p=P_DS)
    n_epochs = -(-CHECKPOINTS_DS.max() // D_DS)
    # each epoch presents the same dataset in a fresh per-agent order
    stream = np.concatenate([rng.permuted(data, axis=1) for _ in range(n_epochs)], axis=1)
    success = rng.random(stream.shape) < 1.0 / TAU_DS[stream]
    c = np.ceil(TAU_DS)
    learnable = counts_at(data, D_DS, K_DS) >= c
    mc_thr, mc_geo = [], []
    for n in CHECKPOINTS_DS:
        exposures = counts_at(stream, n, K_DS)
        successes = counts_at(stream, n, K_DS, success)
        mc_thr.append(1.0 - (learnable & (exposures >= c)).mean(0))
        mc_geo.append(1.0 - (learnable & (successes > 0)).mean(0))
    thr = T.dataset_unlearned_prob(CHECKPOINTS_DS, D_DS, P_DS, TAU_DS, "threshold")
    geo = T.dataset_unlearned_prob(CHECKPOINTS_DS, D_DS, P_DS, TAU_DS, "geometric")
    assert thr.shape == geo.shape == (CHECKPOINTS_DS.size, K_DS)
    assert_within_se(np.array(mc_thr), thr, agents)
    assert_within_se(np.array(mc_geo), geo, agents)
    # unlearnable fraction straight from the drawn datasets
    assert_within_se((~learnable).mean(0), T.dataset_unlearnable_prob(D_DS, P_DS, TAU_DS), agents)


def geometric_dataset_by_hypergeom_sum(n: int, size: int, p_k: float, tau: float) -> float:
    """Direct sum over D_k = d of Bin(d; D, p) · E[(1 - 1/tau)^(e d + H)], H ~ Hypergeom."""
    c = math.ceil(tau)
    s = 1.0 - 1.0 / tau
    e, m = divmod(n, size)
    d = np.arange(size + 1)
    h = np.arange(size + 1)[:, None]
    hyp = stats.hypergeom.pmf(h, size, d[None, :], m)  # (h, d)
    inner = s ** (e * d) * (hyp * s**h).sum(0)
    pmf = stats.binom.pmf(d, size, p_k)
    return float(np.sum(pmf * np.where(d >= c, inner, 1.0)))


@pytest.mark.parametrize("tau", [1.0, 2.5, 5.0])
def test_dataset_geometric_matches_hypergeometric_sum(tau):
    size = 60
    p = np.array([0.3, 0.05, 0.01, 0.64])
    ns = [0, 1, 17, 59, 60, 61, 100, 240, 1000]
    got = T.dataset_unlearned_prob(ns, size, p, tau, "geometric")
    for i, n in enumerate(ns):
        want = [geometric_dataset_by_hypergeom_sum(n, size, pk, tau) for pk in p]
        np.testing.assert_allclose(got[i], want, rtol=1e-9, atol=1e-15)


def test_dataset_threshold_limits():
    # within the first epoch it is online sampling; afterwards it is frozen at unlearnability
    p = P_DS
    np.testing.assert_allclose(T.dataset_unlearned_prob(150, D_DS, p, 3, "threshold"),
                               T.threshold_unlearned_prob(150, p, 3), rtol=1e-14)
    for n in (200, 10**12):
        np.testing.assert_allclose(T.dataset_unlearned_prob(n, D_DS, p, 3, "threshold"),
                                   T.dataset_unlearnable_prob(D_DS, p, 3), rtol=1e-14)


def test_dataset_geometric_limits():
    p = P_DS
    # many epochs: every learnable quantum is learned, only unlearnability remains
    np.testing.assert_allclose(T.dataset_unlearned_prob(10**12, D_DS, p, 5, "geometric"),
                               T.dataset_unlearnable_prob(D_DS, p, 5), rtol=1e-12)
    # tau = 1: geometric and threshold rules coincide
    np.testing.assert_allclose(T.dataset_unlearned_prob(CHECKPOINTS_DS, D_DS, p, 1, "geometric"),
                               T.dataset_unlearned_prob(CHECKPOINTS_DS, D_DS, p, 1, "threshold"),
                               rtol=1e-12, atol=1e-300)
    # More exposures can only help, so P is non-increasing in n; and repeating a finite set
    # never beats fresh samples: E[s^((e+1)H + eR)] >= E[s^Bin(n, p)] by 1-p+p s^j >= (1-p+ps)^j,
    # so the online value is a lower bound.
    n = np.arange(0, 3 * D_DS + 1, 7)
    v = T.dataset_unlearned_prob(n, D_DS, p, 5, "geometric")
    assert np.all(np.diff(v, axis=0) <= 1e-15)
    assert np.all(v >= T.geometric_unlearned_prob(n, p, 5) - 1e-15)


# -------------------------------------------------------------------------------------- losses


def test_expected_loss_and_learned():
    p = np.array([0.5, 0.3, 0.2])
    prob = np.array([[1.0, 1.0, 1.0], [0.0, 0.5, 1.0], [0.0, 0.0, 0.0]])
    a = np.array([0.1, 0.0, 0.2])
    b = np.array([1.0, 2.0, 1.0])
    # row 1 by hand: 0.5*0.1 + 0.3*(0 + 2*0.5) + 0.2*1.0 = 0.05 + 0.3 + 0.2
    np.testing.assert_allclose(T.expected_loss(prob, p, a, b),
                               [0.5 + 0.6 + 0.2, 0.55, 0.05 + 0.0 + 0.04], rtol=1e-14)
    assert T.expected_loss(prob[1], p) == pytest.approx(0.3 * 0.5 + 0.2)
    np.testing.assert_allclose(T.expected_learned(prob), [0.0, 1.5, 3.0])
    assert T.expected_learned(prob[1]) == pytest.approx(1.5)


def test_expected_loss_matches_monte_carlo_loss():
    # E[L] is the mean per-sample loss of the next sample: simulate it directly.
    rng = np.random.default_rng(11)
    agents, n, k = 40000, 25, P_SMALL.size
    stream = rng.choice(k, size=(agents, n + 1), p=P_SMALL)
    learned = counts_at(stream, n, k) >= np.ceil(TAU_MIXED)
    nxt = stream[:, n]
    loss = np.where(learned[np.arange(agents), nxt], 0.2, 1.0)
    want = T.expected_loss(T.threshold_unlearned_prob(n, P_SMALL, TAU_MIXED), P_SMALL, 0.2, 1.0)
    assert abs(loss.mean() - want) <= 4 * loss.std() / math.sqrt(agents)


def test_top_n_loss_exact():
    p = np.array([0.4, 0.3, 0.2, 0.1])
    a = np.array([0.0, 0.1, 0.0, 0.5])
    got = T.top_n_loss([0, 1, 2.9, 4, 10], p, a, 2.0)
    base = float(p @ a)
    want = [base + 0.4 * 2 + 0.3 * 1.9 + 0.2 * 2 + 0.1 * 1.5,
            base + 0.3 * 1.9 + 0.2 * 2 + 0.1 * 1.5,
            base + 0.2 * 2 + 0.1 * 1.5, base, base]
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_top_n_loss_vs_asymptote():
    alpha, k_max, n = 0.5, 10**7, 1000
    p = T.zipf_frequencies(k_max, alpha)
    exact = T.top_n_loss(n, p)
    # independent: Hurwitz zeta, Σ_{k>n}^{K} k^-s = ζ(s, n+1) - ζ(s, K+1), normalised by H_K
    s = alpha + 1
    tail = special.zeta(s, n + 1) - special.zeta(s, k_max + 1)
    assert exact == pytest.approx(tail / (special.zeta(s) - special.zeta(s, k_max + 1)), rel=1e-9)
    asym = T.asymptotic_top_n_loss(n, alpha)
    # Expected ratio: the tail Σ_{n<k<=K} ≈ ∫_{n+1/2}^{K} x^-s dx loses (n/K)^α = 1.0% to the
    # truncation and α/(2n) = 0.025% to the half-step; the normalisation H_K = ζ(s) - K^-α/α
    # gains K^-α/(α ζ(s)) = 0.024%.
    expected_ratio = (1 - (n / k_max) ** alpha - alpha / (2 * n)) / (
        1 - k_max ** (-alpha) / (alpha * special.zeta(s))
    )
    assert exact / asym == pytest.approx(expected_ratio, abs=1e-5)
    assert abs(exact / asym - 1) < 0.02
    # K = ∞: only the O(1/n) correction remains
    assert special.zeta(s, n + 1) / special.zeta(s) / asym == pytest.approx(1, abs=1e-3)
    assert T.asymptotic_top_n_loss([1e3], alpha, a=0.5, b=1.5)[0] == pytest.approx(0.5 + asym)


def test_hutter_error_matches_definition_and_slope():
    p = P_SMALL
    n = np.array([0, 1, 5, 100])
    want = [(p * (1 - p) ** ni).sum() for ni in n]
    np.testing.assert_allclose(T.hutter_error(n, p), want, rtol=1e-13)
    # tau = 1 threshold loss is the same quantity
    np.testing.assert_allclose(T.hutter_error(n, p),
                               T.expected_loss(T.threshold_unlearned_prob(n, p, 1), p), rtol=1e-12)

    # Large n: E_n ≈ (1/ζ) (1/s) (n/ζ)^(1/s - 1) Γ(1 - 1/s), s = α+1 (integral over k), so the
    # log-log slope is α/(α+1).  K = 1e6 leaves a truncation error Σ_{k>K} p_k ≈ 6e-7 against
    # E_n ≈ 2e-4 at n = 1e7: 0.3%, far below the tolerances.
    alpha = 1.0
    p = T.zipf_frequencies(10**6, alpha)
    ns = np.logspace(4, 7, 7)
    err = T.hutter_error(ns, p)
    slope = -np.polyfit(np.log(ns), np.log(err), 1)[0]
    assert slope == pytest.approx(T.alpha_D(alpha), abs=2e-3)
    s, z = alpha + 1, special.zeta(alpha + 1)
    asym = (1 / z) * (1 / s) * (ns / z) ** (1 / s - 1) * special.gamma(1 - 1 / s)
    np.testing.assert_allclose(err / asym, 1.0, atol=5e-3)


def test_hutter_error_huge_n_tiny_p():
    p = np.array([1e-15, 1 - 1e-15])
    # second term underflows to 0; first is 1e-15 * exp(-1e-3) to full precision
    assert T.hutter_error(1e12, p) == pytest.approx(1e-15 * math.exp(-1e12 * 1e-15), rel=1e-12)


# ----------------------------------------------------------------------------------- exponents


def test_exponents():
    assert T.alpha_N(0.4) == 0.4
    assert T.alpha_D(0.4) == pytest.approx(0.4 / 1.4)
    assert T.alpha_S(1.0) == 0.5
    ce = T.compute_exponents(0.5)
    assert ce == pytest.approx({"N_opt": 0.4, "D_opt": 0.6, "L_opt": 0.2})
    # L_opt = α_N · N_opt: L ∝ N^-α at the optimum
    assert ce["L_opt"] == pytest.approx(T.alpha_N(0.5) * ce["N_opt"])
    np.testing.assert_allclose(T.alpha_D(np.array([1.0, 3.0])), [0.5, 0.75])


# ---------------------------------------------------------------------------------- bad input


P_OK = np.array([0.5, 0.5])


@pytest.mark.parametrize(
    ("call", "field", "rule"),
    [
        (lambda: T.zipf_frequencies(0, 1.0), "n_quanta = 0", "must be an integer >= 1"),
        (lambda: T.zipf_frequencies(2.5, 1.0), "n_quanta = 2.5", "must be an integer >= 1"),
        (lambda: T.zipf_frequencies(5, -1.0), "alpha = -1.0", "must lie in (-1.0, inf]"),
        (lambda: T.zipf_frequencies(5, float("nan")), "alpha = nan", "must be finite"),
        (lambda: T.zipf_frequencies(5, 1.0, offset=-1.0), "offset = -1.0",
         "must lie in (-1.0, inf]"),
        (lambda: T.threshold_unlearned_prob(10, [0.5, 0.4], 1), "p = [0.5, 0.4]",
         "must sum to 1 (within 1e-06); sums to 0.9"),
        (lambda: T.threshold_unlearned_prob(10, [1.5, -0.5], 1), "p = [1.5, -0.5]",
         "must contain finite values >= 0 (contains -0.5)"),
        (lambda: T.threshold_unlearned_prob(10, [[1.0]], 1), "p = [[1.0]]",
         "must be a non-empty 1-D array of frequencies (has shape (1, 1))"),
        (lambda: T.threshold_unlearned_prob(10, P_OK, 0.5), "tau = 0.5",
         "must be >= 1 (its minimum is 0.5)"),
        (lambda: T.threshold_unlearned_prob(10, P_OK, [1, 2, 3]), "tau = [1, 2, 3]",
         "must be a scalar or have shape (2,) to match p (has shape (3,))"),
        (lambda: T.threshold_unlearned_prob(10.5, P_OK, 1), "n = 10.5",
         "must be integer-valued"),
        (lambda: T.threshold_unlearned_prob(-1, P_OK, 1), "n = -1", "must be finite and >= 0"),
        (lambda: T.threshold_unlearned_prob([[1]], P_OK, 1), "n = [[1]]",
         "must be a scalar or 1-D array (has shape (1, 1))"),
        (lambda: T.threshold_unlearned_prob(2.0**60, P_OK, 1), "n = 1.152921504606847e+18",
         "must be <= 2**53"),
        (lambda: T.threshold_unlearned_prob_poisson(np.inf, P_OK, 1), "n = inf",
         "must be finite and >= 0"),
        (lambda: T.geometric_unlearned_prob(5, P_OK, np.nan), "tau = nan", "must be finite"),
        (lambda: T.geometric_unlearned_prob_poisson(5, P_OK, 0.0), "tau = 0.0", "must be >= 1"),
        (lambda: T.dataset_unlearnable_prob(10.5, P_OK, 1), "D = 10.5", "must be integer-valued"),
        (lambda: T.dataset_unlearned_prob(5, 0, P_OK, 1), "D = 0",
         "must be a single integer >= 1"),
        (lambda: T.dataset_unlearned_prob(5, [10, 20], P_OK, 1), "D = [10, 20]",
         "must be a single integer >= 1"),
        (lambda: T.dataset_unlearned_prob(5, 10, P_OK, 1, "greedy"), "acquisition = 'greedy'",
         "must be one of threshold"),
        (lambda: T.dataset_unlearned_prob(5.5, 10, P_OK, 1), "n = 5.5", "must be integer-valued"),
        (lambda: T.expected_loss(np.ones(3), P_OK), "unlearned_prob = array([1., 1., 1.])",
         "must have last axis of length 2 (= len(p)) (has shape (3,))"),
        (lambda: T.expected_loss(np.full(2, 1.5), P_OK), "unlearned_prob = array([1.5, 1.5])",
         "must lie in [0, 1]"),
        (lambda: T.expected_loss(np.ones(2), P_OK, a=[0, 0, 0]), "a = [0, 0, 0]",
         "must be a scalar or have shape (2,) to match p"),
        (lambda: T.expected_loss(np.ones(2), P_OK, b=np.inf), "b = inf", "must be finite"),
        (lambda: T.expected_learned(0.5), "unlearned_prob = 0.5",
         "must have a quantum axis (ndim >= 1)"),
        (lambda: T.expected_learned([np.nan]), "unlearned_prob = [nan]", "must lie in [0, 1]"),
        (lambda: T.top_n_loss(-1, P_OK), "n = -1", "must be finite and >= 0"),
        (lambda: T.asymptotic_top_n_loss(10, 0.0), "alpha = 0.0", "must be finite and > 0"),
        (lambda: T.asymptotic_top_n_loss([10], [0.5, 1.0]), "alpha = [0.5, 1.0]",
         "must be a scalar (has shape (2,))"),
        (lambda: T.asymptotic_top_n_loss(0, 0.5), "n = 0", "must be > 0"),
        (lambda: T.asymptotic_top_n_loss(10, 0.5, a=np.nan), "a = nan", "must be finite"),
        (lambda: T.asymptotic_top_n_loss(10, 0.5, b=np.inf), "b = inf", "must be finite"),
        (lambda: T.alpha_N(-0.1), "alpha = -0.1", "must be finite and > 0"),
        (lambda: T.alpha_D(0.0), "alpha = 0.0", "must be finite and > 0"),
        (lambda: T.alpha_S(np.inf), "alpha = inf", "must be finite and > 0"),
        (lambda: T.compute_exponents(-2), "alpha = -2", "must be finite and > 0"),
        (lambda: T.hutter_error(1, [0.2, 0.2]), "p = [0.2, 0.2]", "must sum to 1"),
    ],
)
def test_bad_input_raises(call, field, rule):
    """One error format (simquanta.validation.invalid): field = value is invalid: rule."""
    with pytest.raises(ValueError, match=rf"^{re.escape(field)} is invalid: {re.escape(rule)}"):
        call()
