"""Quick runs of the composition / emergence experiments, checked against theory.

Each script runs once per module in ``--quick`` mode into a temporary folder; the assertions
read its JSON. The checks are coarse on purpose (quick mode has few agents and a coarse
scale grid) and each follows from the model:

* gradual_vs_emergent — with unlimited capacity quanta are independent, so the monogenic
  success is P(learned) of one quantum (closed form); requiring all of 5 similar quanta
  moves the transition later and narrows it; a mean over quanta spread over two decades of
  rank is gradual (width > 1 decade).
* gradual_vs_emergent, single agents — a counting learner's monogenic curve is a step (width
  below the checkpoint spacing), far narrower than the population mean's (threshold ≈ 0.5,
  geometric ≈ 1.5 decades); a logistic learner's own curve has a width (≈ 0.4 decade) but is
  still narrower than the mean; a mean over 10 quanta is gradual for one agent as well.
* metric_mirage — exact match p^L narrows with L (Schaeffer et al. 2023); linear metrics keep
  p's width exactly; multiple choice on L-token items has exact match's width.
* loss_distribution — the near-zero-loss mass grows with capacity, later for polygenic
  samples; L·p(L) integrates to 1 over ln L.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from experiment_runner import run_quick


@pytest.fixture(scope="module")
def gve(tmp_path_factory):
    return run_quick("gradual_vs_emergent", tmp_path_factory.mktemp("gve"))


@pytest.fixture(scope="module")
def mirage(tmp_path_factory):
    return run_quick("metric_mirage", tmp_path_factory.mktemp("mirage"))


@pytest.fixture(scope="module")
def lossdist(tmp_path_factory):
    return run_quick("loss_distribution", tmp_path_factory.mktemp("lossdist"))


# ---------------------------------------------------------------- gradual_vs_emergent


@pytest.mark.parametrize("axis", ["data", "steps"])
def test_monogenic_success_matches_closed_form(gve, axis):
    checks = gve["results"]["checks"][axis]
    assert checks["mono"]["max_abs_z"] < 4.0
    # every other rule applied to independent quanta (max over the whole grid, hence 4.5)
    for name, check in checks.items():
        assert check["max_abs_z"] < 4.5, name


def test_capacity_mean_field_within_a_few_se(gve):
    r = gve["results"]
    reps = gve["config"]["capacity_replicates"]
    mean = np.array(r["capacity"]["mono"]["mean"], dtype=float)
    theory = np.array(r["checks"]["capacity_mean_field"]["mono"]["theory"], dtype=float)
    se = np.sqrt(theory * (1 - theory) / reps)
    assert np.all(np.abs(mean - theory) <= 4 * se + 0.05)


@pytest.mark.parametrize("axis", ["capacity", "data", "steps"])
def test_all_of_five_is_later_and_sharper_than_monogenic(gve, axis):
    r = gve["results"][axis]
    mono, all5 = r["mono"]["transition"], r["all5"]["transition"]
    assert all5["midpoint"] > mono["midpoint"]
    assert all5["width_decades"] < mono["width_decades"]
    th_mono, th_all5 = r["mono"]["theory_transition"], r["all5"]["theory_transition"]
    assert th_all5["width_decades"] < th_mono["width_decades"]


@pytest.mark.parametrize("axis", ["capacity", "data", "steps"])
def test_polygenic_mean_is_gradual_and_single_quanta_emergent(gve, axis):
    labels = gve["results"]["labels"][axis]
    widths = gve["results"]["widths_decades"][axis]
    assert labels["mean10"] == "gradual" and widths["mean10"] > 1.0
    assert labels["product"] == "gradual"
    for name in ("mono", "all3", "all5", "k3of5"):
        assert labels[name] == "emergent", (name, widths[name])
    # the product of two means needs both: later than their plain average
    r = gve["results"][axis]
    assert r["product"]["transition"]["midpoint"] > r["mean10"]["transition"]["midpoint"]


def test_steps_monogenic_width_matches_gamma_quantiles(gve):
    # P(Poisson(S p) >= 5) vs log S is the Gamma(5) CDF: width log10(q90 / q10).
    from scipy import stats

    expected = math.log10(stats.gamma.ppf(0.9, 5) / stats.gamma.ppf(0.1, 5))
    th = gve["results"]["steps"]["mono"]["theory_transition"]["width_decades"]
    assert th == pytest.approx(expected, abs=0.01)
    assert gve["results"]["steps"]["mono"]["transition"]["width_decades"] == pytest.approx(
        expected, abs=0.15)


def test_single_agent_widths(gve):
    sa = gve["results"]["single_agent"]
    res = sa["grid_resolution_decades"]
    fam = sa["families"]
    for family in ("threshold", "geometric", "logistic"):
        for task in ("mono", "all5", "mean10"):
            rec = fam[family][task]
            lo, hi = rec["agent_width_ci95"]
            assert lo <= rec["agent_width_median"] <= hi
            plo, phi = rec["population_width_ci95"]
            assert plo <= rec["population_width"] <= phi
            # censored agents: learned before the first checkpoint (geometric: rank 3 of the
            # mean over 10 is learned by step 10 with probability 1 − e^{−10·p/τ} ≈ 14 %)
            assert rec["agents_undetermined"] <= 0.25 * gve["config"]["single_agents"]
    # counting families: one agent's single quantum is a step, resolved only by the grid
    for family in ("threshold", "geometric"):
        mono = fam[family]["mono"]
        assert mono["agent_width_median"] <= res + 1e-9
        assert mono["agent_width_ci95"][1] < mono["population_width_ci95"][0]
    # the mean's width: the Gamma(5) quantile width of the closed form, inside the CI
    th = gve["results"]["steps"]["mono"]["theory_transition"]["width_decades"]
    plo, phi = fam["threshold"]["mono"]["population_width_ci95"]
    assert plo - 0.05 <= th <= phi + 0.05
    # geometric: emergent in each agent, gradual on average (Exp(1) clock: 1.34 decades)
    assert fam["geometric"]["mono"]["population_width"] > 1.0
    # logistic: the agent's own sigmoid, s(c) from 0.1 to 0.9 over c = 2.4..6.8 exposures
    lmono = fam["logistic"]["mono"]
    assert res < lmono["agent_width_median"] < lmono["population_width"]
    assert 0.25 < lmono["agent_width_median"] < 0.6
    # a mean over quanta spread over two decades of rank is gradual for one agent too
    for family in fam:
        assert fam[family]["mean10"]["agent_width_median"] > 1.0


# ---------------------------------------------------------------------- metric_mirage


def test_exact_match_is_narrower_than_per_token_accuracy(mirage):
    s = mirage["results"]["summary"]
    labels = mirage["results"]["labels"]
    assert s["exact_match_L10"] < s["per_token_accuracy"]
    assert labels["exact_match_L10"] == "emergent"
    assert labels["per_token_accuracy"] == "gradual"
    widths = s["exact_match_width_by_L"]
    assert widths[9] < widths[4] < widths[0]
    theory = s["exact_match_theory_width_by_L"]
    assert all(b < a for a, b in zip(theory, theory[1:], strict=False))
    mids = s["exact_match_midpoint_by_L"]
    assert mids[9] > mids[4] > mids[0]


def test_linear_metrics_keep_the_per_token_width(mirage):
    w = mirage["results"]["widths_decades"]
    base = w["per_token_accuracy"]
    for L in range(1, 11):
        assert w[f"edit_distance_L{L}"] == pytest.approx(base, rel=1e-6)
        assert w[f"multiple_choice_L{L}"] == pytest.approx(w[f"exact_match_L{L}"], rel=1e-6)
    assert mirage["results"]["labels"]["edit_distance_L10"] == "gradual"


def test_mirage_mean_field_close(mirage):
    dev = mirage["results"]["summary"]["max_abs_dev_from_mean_field"]
    assert dev["per_token_accuracy"] < 0.05
    assert dev["exact_match_L10"] < 0.1


# ------------------------------------------------------------------ loss_distribution


def test_near_zero_mass_grows_with_scale(lossdist):
    s = lossdist["results"]["summary"]
    mono = np.array(s["near_zero_mono_at_shown"])
    poly = np.array(s["near_zero_poly_at_shown"])
    assert np.all(np.diff(mono) > 0) and np.all(np.diff(poly) > 0)
    assert np.all(poly < mono)  # a polygenic sample needs all of its quanta
    dev = s["near_zero_max_abs_dev_from_mean_field"]
    assert dev["monogenic"] < 0.05 and dev["polygenic"] < 0.05


def test_loss_distributions_are_normalised_and_means_agree(lossdist):
    r = lossdist["results"]
    edges = np.array(lossdist["config"]["bin_edges_bits"], dtype=float)
    dlnl = np.diff(np.log(edges))
    for kind in ("monogenic", "polygenic"):
        for rec in r["distributions_L_pL"][kind].values():
            assert float(np.dot(rec["mean"], dlnl)) == pytest.approx(1.0, abs=1e-9)
    # mean of per-sample losses: identical expectation by construction (test-set error only)
    assert r["summary"]["poly_vs_mono_mean_loss_max_rel_diff"] < 0.15


def test_single_samples_drop_sharply_or_gradually(lossdist):
    w = lossdist["results"]["summary"]["example_width_decades"]
    assert max(w["mono"]) < 1.0 < min(w["poly"])
