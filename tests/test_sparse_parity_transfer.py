"""Transfer laws (simquanta.sparse_parity.transfer) on synthetic calibrations with known
laws: exact recovery without noise, recovery within 4 standard errors and 95 % coverage
(within 3 binomial SEs) with noise, and the capacity unit that is really constant chosen."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simquanta.sparse_parity.transfer import choose_constant, fit_transfer_law

BASE = {"n_bits": 32.0, "n_tasks": 32.0, "batch_size": 1000.0}
# the study's one-at-a-time design: the base and two values of each field
SETTINGS = [{}, {"n_bits": 16}, {"n_bits": 64}, {"n_tasks": 64}, {"n_tasks": 128},
            {"batch_size": 500}, {"batch_size": 2000}]
TRUE = {"n_bits": 0.8, "n_tasks": -0.3, "batch_size": 0.5}


def _truth(setting, q0=5.5):
    return q0 + sum(b * math.log10(setting.get(f, BASE[f]) / BASE[f]) for f, b in TRUE.items())


def test_exact_law_is_recovered_and_predicts_unseen_settings():
    y = [_truth(s) for s in SETTINGS]
    law = fit_transfer_law("log10_A", SETTINGS, y, [0.01] * len(y), BASE)
    assert law.fields == ("n_bits", "n_tasks", "batch_size")
    for f, b in TRUE.items():
        assert law.slopes[f] == pytest.approx(b, abs=1e-10)
    assert law.intercept == pytest.approx(5.5, abs=1e-10)
    assert law.chi2 == pytest.approx(0.0, abs=1e-12) and law.birge == 1.0 and law.dof == 3
    unseen = {"n_bits": 48, "n_tasks": 96, "batch_size": 1000}
    value, se = law.predict(unseen)
    assert value == pytest.approx(_truth(unseen), abs=1e-10)
    assert 0 < se < 0.05


def test_noisy_law_within_4_se_and_95_percent_coverage():
    """400 synthetic studies with known per-setting SEs: each slope's 95 % interval covers
    the truth in 0.95 ± 3·√(0.95·0.05/400) = 0.95 ± 0.033 of them (the Birge inflation
    only widens intervals, so coverage may sit at the top of that band, not below)."""
    rng = np.random.default_rng(12)
    se = np.array([0.05, 0.08, 0.08, 0.06, 0.07, 0.05, 0.09])
    truth = np.array([_truth(s) for s in SETTINGS])
    covered = {f: 0 for f in TRUE}
    z_max = 0.0
    n_rep = 400
    for _ in range(n_rep):
        y = truth + se * rng.standard_normal(se.size)
        law = fit_transfer_law("q", SETTINGS, y, se, BASE)
        for f, b in TRUE.items():
            lo, hi = law.slopes_ci[f]
            covered[f] += lo <= b <= hi
            z_max = max(z_max, abs(law.slopes[f] - b) / law.slopes_se[f])
    band = 3 * math.sqrt(0.95 * 0.05 / n_rep)
    for f in TRUE:
        assert 0.95 - band <= covered[f] / n_rep <= 1.0
    assert z_max < 4.5  # the largest of 1 200 |z| values of a (near-)normal statistic


def test_unvaried_fields_are_left_out():
    settings = [{}, {"n_bits": 16}, {"n_bits": 64}]
    y = [1.0 + 0.2 * math.log10(s.get("n_bits", 32) / 32) for s in settings]
    law = fit_transfer_law("gamma", settings, y, [0.1] * 3, BASE)
    assert law.fields == ("n_bits",)
    assert law.slopes["n_bits"] == pytest.approx(0.2, abs=1e-12)
    # prediction ignores fields the law does not hold
    assert law.predict({"n_bits": 64, "n_tasks": 500})[0] == pytest.approx(
        1.0 + 0.2 * math.log10(2))


def test_capacity_unit_constant_per_neuron_is_chosen():
    """Synthetic capacities: 12 neurons per quantum in every setting (5 % noise), so
    C_params = 12·(T + n + 3) changes with T and n and must not be chosen."""
    rng = np.random.default_rng(3)
    settings = SETTINGS
    se = 0.02  # log10 units
    neurons = [math.log10(12.0) + se * rng.standard_normal() for _ in settings]
    params = [v + math.log10(s.get("n_tasks", 32) + s.get("n_bits", 32) + 3)
              for v, s in zip(neurons, settings, strict=True)]
    laws = {"neurons": fit_transfer_law("log10_C_neurons", settings, neurons, [se] * 7, BASE),
            "params": fit_transfer_law("log10_C_params", settings, params, [se] * 7, BASE)}
    chosen, walds = choose_constant(laws)
    assert chosen == "neurons"
    # "constant" rejected far beyond the 0.1 % level for parameters, not for neurons
    # (W ~ χ²(3) under a constant law)
    critical = stats.chi2.ppf(0.999, 3)
    assert walds["params"] > 5 * critical > 5 * walds["neurons"]
    # the per-neuron law's slopes are 0 within 4 SE
    for f in laws["neurons"].fields:
        assert abs(laws["neurons"].slopes[f]) < 4 * laws["neurons"].slopes_se[f]


def test_draws_follow_the_prediction():
    y = [_truth(s) for s in SETTINGS]
    law = fit_transfer_law("q", SETTINGS, np.array(y) + 0.0, [0.05] * 7, BASE)
    mean, se = law.predict({"n_bits": 48})
    d = law.draw({"n_bits": 48}, np.random.default_rng(0), 20_000)
    assert abs(d.mean() - mean) < 4 * se / math.sqrt(d.size)
    assert d.std() == pytest.approx(se, rel=0.03)


@pytest.mark.parametrize("kwargs, field", [
    ({"values": [1.0, 2.0]}, "values"),
    ({"ses": [0.1, 0.0, 0.1]}, "ses"),
    ({"settings": [{}, {"n_bits": 0}, {"n_bits": 64}]}, "n_bits"),
    ({"base": {"n_bits": -1.0}}, "base"),
    ({"settings": [{}, {"n_bits": 16}, {"n_tasks": 64}], "values": [1.0, 2.0, 3.0],
      "ses": [0.1, 0.1, 0.1], "base": {"n_bits": 32.0, "n_tasks": 32.0,
                                       "batch_size": 1000.0}}, None),
])
def test_bad_input_names_the_field(kwargs, field):
    args = {"settings": [{}, {"n_bits": 16}, {"n_bits": 64}], "values": [1.0, 2.0, 3.0],
            "ses": [0.1, 0.1, 0.1], "base": {"n_bits": 32.0}, **kwargs}
    if field is None:  # 3 settings, 2 varied fields + intercept: exactly determined
        law = fit_transfer_law("q", **args)
        assert law.dof == 0 and law.birge == 1.0
        return
    with pytest.raises(ValueError, match=field):
        fit_transfer_law("q", **args)


def test_too_few_settings_is_rejected():
    # two fields changed together in one setting: 3 coefficients, 2 settings
    with pytest.raises(ValueError, match="settings"):
        fit_transfer_law("q", [{}, {"n_bits": 16, "n_tasks": 64}], [1.0, 2.0], [0.1, 0.1],
                         {"n_bits": 32.0, "n_tasks": 32.0})


def test_committed_transfer_laws_reproduce_from_their_settings():
    """figures/sparse_parity_calibration.json: every transfer law is the weighted fit of the
    per-setting estimates stored beside it, and the capacity unit is the more constant one."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "figures" / "sparse_parity_calibration.json"
    tr = json.loads(path.read_text())["results"]["transfer"]
    per = tr["settings"]
    for q, stored in tr["laws"].items():
        have = [n for n in per if q in per[n] and per[n][q]["se"] > 0]
        law = fit_transfer_law(q, [per[n]["setting"] for n in have],
                               [per[n][q]["value"] for n in have],
                               [per[n][q]["se"] for n in have], tr["base"])
        assert law.intercept == pytest.approx(stored["intercept"], rel=1e-9, abs=1e-12)
        for f in law.fields:
            assert law.slopes[f] == pytest.approx(stored["slopes"][f], rel=1e-9, abs=1e-12)
    from simquanta.sparse_parity.transfer import TransferLaw

    chosen, _ = choose_constant({u: TransferLaw.from_dict(tr["laws"][f"log10_C_{u}"])
                                 for u in ("params", "neurons")})
    assert chosen == tr["capacity_unit"] == "neurons"
