"""Quick-mode run of experiments/domino.py with checks derived from theory.

Independent quanta: E[T_k] = τ / (B p_k) samples; a block chain adds the times along it,
E[T_k] = Σ_{j≤k} τ / (B p_j). Learn steps are ⌈T⌉ with B = 1, so the simulated means sit
≈ 0.5 step above the continuous theory; 8 % relative tolerance covers that and the
sampling error of 400 agents (CV of a Gamma(5) time is 0.45 → SE ≈ 2.3 %).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_domino_quick(tmp_path):
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location("domino", EXPERIMENTS / "domino.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(["--quick", "--out", str(tmp_path)])
    finally:
        sys.path.remove(str(EXPERIMENTS))
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
    for suffix in ("png", "pdf", "json"):
        assert (tmp_path / f"domino.{suffix}").stat().st_size > 0
