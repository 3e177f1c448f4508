"""Threshold vs logistic per-subtask curves (simquanta.sparse_parity.partial) on synthetic
runs drawn from each family: the true family wins the leave-one-run-out comparison and its
parameters are recovered; noise-free curves are fitted exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simquanta.analysis.theory import zipf_frequencies
from simquanta.sparse_parity.mlp import log_spaced_steps
from simquanta.sparse_parity.partial import compare_families, family_loss, fit_family

P = zipf_frequencies(8, 0.4)
STEPS = log_spaced_steps(20_000, 60)
B = 1000
TRUE = {"threshold": [5.3, -0.1, math.log(0.3)], "logistic": [-4.5, -2.0, 0.1]}


def _runs(family: str, noise: float, seed: int, runs: int = 3) -> np.ndarray:
    c = B * STEPS[:, None] * P[None, :]
    clean = family_loss(family, TRUE[family], c, P)
    rng = np.random.default_rng(seed)
    return clean + noise * rng.standard_normal((runs, *clean.shape))


@pytest.mark.parametrize("family", ["threshold", "logistic"])
def test_noise_free_curves_are_fitted_exactly(family):
    theta, rmse = fit_family(family, STEPS, _runs(family, 0.0, 0, runs=1), P, B)
    assert rmse < 1e-6
    np.testing.assert_allclose(theta, TRUE[family], atol=1e-4)


@pytest.mark.parametrize("family, other", [("threshold", "logistic"),
                                           ("logistic", "threshold")])
def test_true_family_wins_heldout_and_is_recovered(family, other):
    noise = 0.03
    cmp = compare_families(STEPS, _runs(family, noise, 5), P, B)
    assert cmp.better == family
    # the true family's held-out RMSE is the noise level: N = 3 runs × 61 logs × 8 subtasks
    # = 1 464 residuals give the RMSE a relative SE of 1/√(2N) = 1.8 %; allow 3 SE (5.5 %).
    # The wrong family's misfit must exceed that too.
    assert cmp.mean_heldout_rmse[family] == pytest.approx(noise, rel=0.055)
    assert cmp.mean_heldout_rmse[other] > 1.055 * cmp.mean_heldout_rmse[family]
    np.testing.assert_allclose(cmp.params[family], TRUE[family], atol=0.05)


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="family"):
        family_loss("gompertz", [1, 0, 0], np.ones((2, 8)), P)
    with pytest.raises(ValueError, match="loss"):
        compare_families(STEPS, _runs("logistic", 0.0, 0, runs=1), P, B)
    with pytest.raises(ValueError, match="loss"):
        fit_family("logistic", STEPS, np.ones((2, 3, 8)), P, B)
