"""Quick-mode run of experiments/skill_dynamics.py (logistic family), checked against theory.

* Emergence: E[s_k(t)] depends on t only through p_k t (Poisson exposures), so the time at
  which the mean strength crosses ½ is ∝ 1/p_k: the fitted slope over ≥ 3 decades of p has a
  bootstrap CI containing −1, and the times sit near the exact closed form's.
* The simulated mean strengths match E[s(Poisson(p_k t))] (max |z| over the transition).
* Loss exponents (K = ∞ corrected, dynamics_theory.logistic_exponents): steps and data
  α/(α+1), parameters α — within 0.02 or inside their 95 % CI.
"""

from __future__ import annotations

import numpy as np
import pytest
from experiment_runner import run_quick


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    return run_quick("skill_dynamics", tmp_path_factory.mktemp("skill_dynamics"))

def test_emergence_time_scales_as_one_over_p(payload):
    em = payload["results"]["emergence"]
    assert em["p_range_decades"] >= 3.0
    lo, hi = em["slope_ci95"]
    assert lo <= -1.0 <= hi, (em["slope"], lo, hi)
    assert abs(em["slope"] + 1.0) < 0.02
    sim = np.array(em["t_half_sim"])
    exact = np.array(em["t_half_closed_form"])
    # 100 agents: SE of the mean strength near ½ ≈ 0.04, ≈ 0.03 decade of t (≈ 6 %)
    assert np.all(np.abs(sim / exact - 1.0) < 0.15)
    assert np.median(np.abs(sim / exact - 1.0)) < 0.05
    # mean field: the same 1/p law; E[s(Poisson)] crosses ½ within ~15 % of it
    ratio = np.array(em["ratio_sim_to_mean_field"])
    assert np.all(np.abs(ratio - 1.0) < 0.15)
    assert abs(em["slope_median_agent_learn_step"] + 1.0) < 0.05


def test_strength_curves_match_closed_form(payload):
    em = payload["results"]["emergence"]
    assert em["strength_vs_closed_form_max_abs_z"] < 4.5
    assert em["strength_vs_mean_field_max_abs_dev"] > 0.0


@pytest.mark.parametrize("key", ["steps", "data", "parameters"])
def test_loss_exponents_match_logistic_theory(payload, key):
    rec = payload["results"]["exponents"][key]
    alpha = payload["config"]["alpha"]
    theory = alpha if key == "parameters" else alpha / (alpha + 1)
    assert rec["theory"] == pytest.approx(theory)
    assert abs(rec["error"]) <= 0.02 or rec["ci_contains_theory"], rec
    assert rec["nam_reported"] == pytest.approx(theory)
    assert payload["results"]["nam_et_al_reported"]["verified_against_paper_text"] is False


def test_steps_and_data_losses_near_closed_form(payload):
    r = payload["results"]
    assert r["steps"]["mean_z2_vs_closed_form"] < 4.0
    assert r["data"]["mean_z2_vs_closed_form"] < 4.0
