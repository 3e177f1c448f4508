"""Quick-mode run of experiments/domino.py with checks derived from theory.

Counting (threshold, exact engine): independent quanta need E[T_k] = τ / (B p_k) samples
(negative-binomial mean); a block chain adds the times along it, E[T_k] = Σ_{j≤k} τ / (B p_j).
8 % relative tolerance covers the sampling error of 400 agents (CV of the τ = 20-th arrival
≈ 0.22 → SE ≈ 1.1 %) with room. Resource (shared update budget): the rare quantum of the pair
(1, 0.1) is ≈ 2× slower than alone in the mean field (whole exposures add ≈ +0.14 at τ = 20),
against 11× and 12.1× under counting.
"""

from __future__ import annotations

import json

import numpy as np
from experiment_runner import run_quick


def test_domino_quick(tmp_path):
    run_quick("domino", tmp_path)
    results = json.loads((tmp_path / "domino.json").read_text())["results"]
    theory = results["chain_theory"]
    chain = results["chain"]
    for label, key in (("independent", "independent"), ("block chain", "block")):
        sim = np.array(chain[label]["mean_learn_step"])
        assert np.allclose(sim, theory[key], rtol=0.08, atol=1.0), (label, sim, theory[key])
    slow = np.array(chain["slow chain (f = 0.3)"]["mean_learn_step"])
    # slow lies between independent and block for every dependent quantum
    assert np.all(slow[1:] > np.array(theory["independent"][1:]))
    assert np.all(slow[1:] < np.array(theory["block"][1:]) * 1.05)
    assert results["block"]["median_T2"] >= results["independent"]["median_T2"]

    # resource vs counting: the domino ratio (rare quantum vs learned alone)
    ratio = results["resource_independent_ratio"]
    assert 1.5 <= ratio <= 3.0
    assert 1.5 <= results["resource_chain_ratio"] <= 3.0
    rec = results["ratios_to_alone"]["resource_independent"]
    assert rec["mean_field"] == 2.0 and rec["ci95"][0] <= ratio <= rec["ci95"][1]
    assert ratio - 2.0 < 0.35  # discreteness overshoot only
    for key, mean_field in (("counting_independent", 11.0), ("counting_chain", 12.1)):
        r = results["ratios_to_alone"][key]
        assert abs(r["ratio"] - mean_field) / mean_field < 0.05, (key, r)
    assert results["counting_independent_ratio"] > 4 * ratio
    for suffix in ("png", "pdf", "json"):
        assert (tmp_path / f"domino.{suffix}").stat().st_size > 0
