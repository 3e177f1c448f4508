"""Simulator predictions from transfer laws (simquanta.sparse_parity.predict): parameters
are the laws evaluated at the setting, and the simulated losses sit within 4 standard
errors of their closed forms (Poisson exposures online, Binomial counts in a dataset)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simquanta.analysis.theory import zipf_frequencies
from simquanta.sparse_parity.predict import (
    TransferredCalibration,
    simulate_dataset_loss,
    simulate_online_loss,
    transferred,
)
from simquanta.sparse_parity.transfer import TransferLaw, fit_transfer_law

BASE = {"n_bits": 32.0, "n_tasks": 32.0, "batch_size": 1000.0}
SETTINGS = [{}, {"n_bits": 16}, {"n_bits": 64}, {"n_tasks": 64}, {"batch_size": 2000}]
LAWS = {  # q0 and slopes per field of each synthetic law
    "log10_A": (5.5, {"n_bits": 0.4, "n_tasks": 0.1, "batch_size": 0.3}),
    "gamma": (-0.1, {"n_bits": 0.05}),
    "sigma": (0.2, {}),
    "log10_C_neurons": (1.1, {}),
    "log10_C_params": (3.0, {"n_bits": 0.3, "n_tasks": 0.3}),
    "log10_n0_neurons": (1.5, {}),
    "kappa": (1.2, {}),
    "log10_A_D": (3.5, {"n_bits": 0.5}),
    "gamma_D": (0.2, {}),
    "sigma_D": (0.4, {}),
}


def _section() -> dict:
    laws = {}
    for q, (q0, slopes) in LAWS.items():
        y = [q0 + sum(b * math.log10(s.get(f, BASE[f]) / BASE[f]) for f, b in slopes.items())
             for s in SETTINGS]
        # a small known scatter so SEs are non-zero: ±0.01 alternating
        y = [v + 0.01 * (-1) ** i for i, v in enumerate(y)]
        laws[q] = fit_transfer_law(q, SETTINGS, y, [0.01] * len(y), BASE).to_dict()
    return {"laws": laws, "capacity_unit": "neurons", "ref_width": 256}


def test_parameters_are_the_laws_at_the_setting():
    section = _section()
    setting = {"n_tasks": 96, "n_bits": 48, "batch_size": 1000}
    cal = transferred(section, setting)
    lx = math.log10(48 / 32)
    assert cal.log10_A == pytest.approx(5.5 + 0.4 * lx + 0.1 * math.log10(3), abs=0.03)
    assert cal.log10_A_D == pytest.approx(3.5 + 0.5 * lx, abs=0.03)
    assert cal.capacity_unit == "neurons" and cal.ref_width == 256
    assert cal.capacity(113) == pytest.approx(113 / 10 ** cal.log10_C)
    # the simulated learner's speed factor is (1 + n0/w)^κ in neurons, exactly
    for w in (10, 64, 256):
        f = cal.learner(w).speed_factors(1)[0]
        assert f == pytest.approx((1 + cal.n0_neurons / w) ** cal.kappa, rel=1e-12)
    # A_∞ = A / f(w_ref): at w_ref the learner needs A p^−γ exposures
    p = np.array([0.3, 0.01])
    np.testing.assert_allclose(cal.tau(p) * cal.speed(256),
                               10 ** cal.log10_A * p ** -cal.gamma, rtol=1e-12)
    # draws scatter around the point prediction with the law's SE (2000 draws: the mean
    # within 4 SE/√2000, the SD within 10 %, ~4.5 of its SEs)
    rng = np.random.default_rng(2)
    draws = np.array([transferred(section, setting, rng).log10_A for _ in range(2000)])
    _, se = TransferLaw.from_dict(section["laws"]["log10_A"]).predict(setting)
    assert abs(draws.mean() - cal.log10_A) < 4 * se / math.sqrt(draws.size)
    assert draws.std() == pytest.approx(se, rel=0.1)


def test_missing_setting_field_is_rejected():
    with pytest.raises(ValueError, match="batch_size"):
        transferred(_section(), {"n_tasks": 96, "n_bits": 48})
    with pytest.raises(ValueError, match="n_bits"):
        transferred(_section(), {"n_tasks": 96, "n_bits": 0, "batch_size": 10})


def _cal(**kw) -> TransferredCalibration:
    base = dict(n_tasks=20, n_bits=32, batch_size=50, log10_A=2.0, gamma=0.0, sigma=0.0,
                capacity_unit="neurons", log10_C=0.0, n0_neurons=8.0, kappa=1.0, ref_width=64,
                log10_A_D=1.0, gamma_D=0.0, sigma_D=0.0)
    base.update(kw)
    return TransferredCalibration(**base)


def test_online_loss_matches_poisson_closed_form():
    """σ = 0, capacity w/C = 1000 ≫ K: quantum k is learned by step t iff its Poisson(B p_k t)
    exposures reach ⌈τ f(w)⌉, so E[L] = Σ p_k P(Poisson(B p_k t) < ⌈τ f⌉)."""
    cal = _cal(log10_C=math.log10(1000 / 1000))  # 1 neuron per quantum: capacity = w
    p = zipf_frequencies(20, 0.5)
    width, agents, ckpt = 1000, 400, np.array([20, 80, 300])
    loss = simulate_online_loss(cal, p, [width], 300, ckpt, agents=agents, seed=3)[:, 0, :]
    need = np.ceil(cal.tau(p) * cal.speed(width))
    for j, t in enumerate(ckpt):
        expect = float(p @ stats.poisson.cdf(need - 1, cal.batch_size * p * t))
        se = loss[:, j].std(ddof=1) / math.sqrt(agents)
        assert abs(loss[:, j].mean() - expect) < 4 * max(se, 1e-3)


def test_dataset_loss_matches_binomial_closed_form():
    """σ_D = 0, a step budget long enough that every quantum is learned online: k is learned
    iff its Binomial(D, p_k) examples reach ⌈τ^D⌉, E[L] = Σ p_k P(Binomial(D, p_k) < ⌈τ^D⌉)."""
    cal = _cal(log10_A=0.0)
    p = zipf_frequencies(20, 0.5)
    sizes, agents = [30, 200, 2000], 400
    loss = simulate_dataset_loss(cal, p, sizes, 1000, 2000, agents=agents, seed=5)
    need = np.ceil(cal.tau_data(p))
    for j, d in enumerate(sizes):
        expect = float(p @ stats.binom.cdf(need - 1, d, p))
        se = loss[:, j].std(ddof=1) / math.sqrt(agents)
        assert abs(loss[:, j].mean() - expect) < 4 * max(se, 1e-3)


def test_capacity_limits_the_online_loss():
    """Capacity w/C = 4 quanta, τ = 1 and 10⁴ samples (all 20 seen): exactly 4 learned, first
    come first kept, so Σ_{k>4} p_k ≤ L ≤ 1 − Σ of the 4 smallest p, and an agent that
    first saw the 4 most frequent quanta sits exactly at the lower bound."""
    cal = _cal(log10_A=0.0, n0_neurons=0.0)
    p = zipf_frequencies(20, 0.5)
    loss = simulate_online_loss(cal, p, [4], 200, [200], agents=40, seed=1)[:, 0, 0]
    assert np.all(loss >= p[4:].sum() - 1e-12)
    assert np.all(loss <= 1 - p[-4:].sum() + 1e-12)
    assert np.isclose(loss, p[4:].sum(), rtol=1e-12).any()


def test_capacity_override_replaces_w_over_C():
    """capacities = [4] at a width whose own capacity is 1000: the same bounds as above."""
    cal = _cal(log10_A=0.0, n0_neurons=0.0)
    p = zipf_frequencies(20, 0.5)
    loss = simulate_online_loss(cal, p, [1000], 200, [200], agents=40, seed=1,
                                capacities=[4.0])[:, 0, 0]
    assert np.all(loss >= p[4:].sum() - 1e-12)
    assert np.all(loss <= 1 - p[-4:].sum() + 1e-12)
    with pytest.raises(ValueError, match="capacities"):
        simulate_online_loss(cal, p, [10, 20], 200, [200], agents=1, capacities=[4.0])
    with pytest.raises(ValueError, match="capacity"):
        simulate_online_loss(cal, p, [10], 200, [200], agents=1, capacities=[0.0])


def test_power_capacity_from_the_pooled_fit():
    section = _section()
    section["capacity_power"] = {"c": 7.5, "beta": 0.77, "c_ci": [5.0, 8.0],
                                 "beta_ci": [0.67, 0.79]}
    setting = {"n_tasks": 96, "n_bits": 48, "batch_size": 1000}
    cal = transferred(section, setting, capacity="power")
    for w in (9, 64, 256):
        assert cal.capacity(w) == pytest.approx((w / 7.5) ** 0.77, rel=1e-12)
    # the speed law stays (1 + n0/w)^κ in neurons
    assert cal.learner(64).speed_factors(1)[0] == pytest.approx(cal.speed(64), rel=1e-12)
    # the linear model at the same setting is unchanged by the option
    lin = transferred(section, setting)
    assert lin.capacity_beta == 1.0 and lin.capacity(64) == pytest.approx(
        64 / 10 ** lin.log10_C, rel=1e-12)
    rng = np.random.default_rng(0)
    betas = np.array([transferred(section, setting, rng, capacity="power").capacity_beta
                      for _ in range(2000)])
    se = (0.79 - 0.67) / (2 * 1.959964)
    assert abs(betas.mean() - 0.77) < 4 * se / math.sqrt(betas.size)
    with pytest.raises(ValueError, match="capacity"):
        transferred(section, setting, capacity="cubic")
