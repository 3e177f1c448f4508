"""Smoke-and-theory tests of the scaling experiments: each script's quick mode runs, writes
its figure and JSON, and its key numbers agree coarsely with the quantization model.

Tolerances are for quick mode (small K, few agents): exponents within 0.1 of theory,
compute-frontier exponents within 0.1, emergence CVs within 20 % of 1/√τ (or 1).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_runner import run_quick as run_experiment_quick


def run_quick(name: str, out: Path) -> dict:
    """Run experiments/<name>.py in quick mode; return its results."""
    return run_experiment_quick(name, out)["results"]


def close(record: dict, tol: float) -> bool:
    return abs(record["fitted"] - record["theory"]) <= tol


def test_parameter_scaling(tmp_path):
    res = run_quick("parameter_scaling", tmp_path)
    for alpha, rec in res["per_alpha"].items():
        fit = rec["alpha_N"]
        assert fit["theory"] == pytest.approx(float(alpha))
        assert close(fit, 0.1), (alpha, fit)
        assert fit["ci95"][0] <= fit["fitted"] <= fit["ci95"][1]
        # reject keeps the first n arrivals: a constant factor R(α, τ) above top-n
        assert rec["ratio_reject_over_topn_in_window"] == pytest.approx(
            rec["ratio_theory_R"], rel=0.05)
    # evict after long training holds exactly the top n
    assert res["evict_vs_reject"]["evict_over_topn"] == pytest.approx(
        [1.0] * len(res["evict_vs_reject"]["capacities"]), rel=1e-3)
    # a quantum is held by half the learners at capacity ≈ k
    assert res["heatmap"]["half_capacity_vs_k_slope"] == pytest.approx(1.0, abs=0.15)


def test_data_scaling(tmp_path):
    res = run_quick("data_scaling", tmp_path)
    for alpha, rec in res["per_alpha"].items():
        a = float(alpha)
        assert rec["alpha_D"]["theory"] == pytest.approx(a / (a + 1))
        assert close(rec["alpha_D"], 0.1), (alpha, rec["alpha_D"])
        assert rec["learned_exponent"]["theory"] == pytest.approx(1 / (a + 1))
        assert close(rec["learned_exponent"], 0.1), (alpha, rec["learned_exponent"])
        assert rec["tail_leak_at_d_max"] < 1e-3


def test_step_scaling(tmp_path):
    res = run_quick("step_scaling", tmp_path)
    for alpha, rec in res["per_alpha"].items():
        a = float(alpha)
        assert rec["alpha_S"]["theory"] == pytest.approx(a / (a + 1))
        assert close(rec["alpha_S"], 0.1), (alpha, rec["alpha_S"])
    # each quantum is half-learned around S ≈ τ/p_k (Gamma(τ) median ≈ τ − 1/3)
    for ratio in res["per_quantum"]["steps_at_half_times_p_over_tau"]:
        assert 0.5 < ratio < 2.0


def test_compute_frontier(tmp_path):
    res = run_quick("compute_frontier", tmp_path)
    for key, rec in res["exponents"].items():
        assert close(rec, 0.1), (key, rec)
    assert res["exponents"]["N_opt"]["theory"] == pytest.approx(1 / 2.5)
    assert res["chinchilla_reference"]["exponents"]["N_opt"] == pytest.approx(0.28 / 0.62)


def test_finite_k_bias(tmp_path):
    res = run_quick("finite_k_bias", tmp_path)
    for alpha, rec in res["per_alpha"].items():
        # simulated fits follow the closed-form fits at the same K (coarse)
        ks = res["n_quanta"]
        cf = rec["alpha_N_closed_form"]
        for sim, k in zip(rec["alpha_N_sim"], ks, strict=True):
            expected = _interp_log(k, cf["n_quanta"], cf["fitted"])
            assert sim["fitted"] == pytest.approx(expected, rel=0.05), (alpha, k)
        # small K biases the fit upward; K = 10^5 is enough at α = 1
        assert rec["alpha_N_sim"][0]["fitted"] > float(alpha)
    assert abs(res["per_alpha"]["1"]["alpha_N_sim"][-1]["fitted"] - 1.0) < 0.1
    # at α = 0.083 even K = 10^6 fits far steeper than α (closed form)
    assert res["per_alpha"]["0.083"]["alpha_N_fit_at_K_1e6_closed_form"] > 1.3 * 0.083


def test_seed_variance(tmp_path):
    res = run_quick("seed_variance", tmp_path)
    for key, rec in res["emergence_cv"].items():
        assert rec["mean_cv"] == pytest.approx(rec["theory_cv"], rel=0.2), key
    for key, rec in res["per_agent_alpha_S"].items():
        assert close(rec["mean_curve_fit"], 0.1), key
        assert abs(rec["mean"] - 1 / 3) < 0.1
    hut = res["hutter"]
    assert close(hut["instantaneous"]["fit"], 0.1)
    assert close(hut["time_averaged"]["fit"], 0.1)
    assert hut["ratio_avg_over_inst_at_end"] == pytest.approx(hut["ratio_theory_limit"],
                                                              rel=0.1)


def _interp_log(x, xs, ys):
    import numpy as np

    return float(np.interp(np.log10(x), np.log10(np.asarray(xs, dtype=float)), ys))
