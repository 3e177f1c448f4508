"""The held-out validation experiment in quick mode: its JSON has the issue's ``heldout``
structure, the simulator side comes from the committed calibration file alone, and a bad
setting is rejected before any training."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from experiment_runner import import_experiment, run_quick

ROOT = Path(__file__).resolve().parents[1]
EXPONENTS = ("alpha_N", "alpha_S", "alpha_D")


def test_validation_quick(tmp_path):
    payload = run_quick("sparse_parity_validation", tmp_path)
    heldout = payload["heldout"]
    assert heldout == payload["results"]["heldout"]
    assert [e["alpha"] for e in heldout] == payload["config"]["alphas"]
    for e in heldout:
        for who in ("network", "simulator"):
            block = e[who]
            assert set(block) == {*EXPONENTS, "curves"}
            assert set(block["curves"]) == {"N", "S", "D"}
            assert len(block["curves"]["N"]["loss"]) == len(block["curves"]["N"]["width"])
            assert len(block["curves"]["D"]["loss"]) == len(block["curves"]["D"]["D"])
            assert all(0 <= v <= 1.5 for v in block["curves"]["S"]["loss"])
            alpha_n = block["alpha_N"]
            assert math.isfinite(alpha_n["value"]) and len(alpha_n["ci95"]) == 2
    # the simulator's parameters are the committed calibration's transfer laws at the
    # quick setting (recomputed here from the file alone)
    from simquanta.sparse_parity.predict import transferred

    committed = json.loads((ROOT / "figures" / "sparse_parity_calibration.json").read_text())
    cfg = payload["config"]
    expect = transferred(committed["results"]["transfer"],
                         {f: cfg[f] for f in ("n_tasks", "n_bits", "batch_size")})
    assert payload["results"]["simulator_parameters"] == pytest.approx(expect.to_dict())


def test_bad_setting_rejected_before_training(monkeypatch):
    module = import_experiment("sparse_parity_validation")

    def no_training(*args, **kwargs):
        raise AssertionError("trained despite a bad setting")

    monkeypatch.setattr(module, "train", no_training)
    quick = dict(module.CONFIGS["quick"])
    for change, field in (({"k": 17}, "k"), ({"batch_size": 0}, "batch_size"),
                          ({"width_range": [0, 32]}, "width"), ({"alphas": [0.5, -1.0]},
                                                                "alpha")):
        monkeypatch.setitem(module.CONFIGS, "quick", {**quick, **change})
        with pytest.raises(ValueError, match=f"^{field} = "):
            module.main(["--quick", "--out", "/nonexistent-never-written"])


def test_capacity_validation_quick(tmp_path):
    payload = run_quick("sparse_parity_validation_capacity", tmp_path)
    committed = json.loads((ROOT / "figures" / "sparse_parity_calibration.json").read_text())
    power = committed["results"]["transfer"]["capacity_power"]
    params = payload["results"]["parameters"]
    assert params["linear"]["capacity_beta"] == 1.0
    assert params["power"]["capacity_beta"] == pytest.approx(power["beta"])
    assert 10 ** params["power"]["log10_C"] == pytest.approx(power["c"])
    for e in payload["results"]["heldout"]:
        for who in ("network", "simulator_linear", "simulator_power"):
            assert set(e[who]) == {"alpha_N", "alpha_S", "curves"}
            assert len(e[who]["curves"]["N"]["loss"]) == len(e[who]["curves"]["N"]["width"])
        assert set(e["difference"]) == {"linear", "power"}
