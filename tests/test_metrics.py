"""Metrics of a per-token success probability p (Schaeffer et al. 2023)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simquanta.analysis import metrics
from simquanta.analysis.emergence import transition

P = np.array([0.0, 0.25, 0.5, 0.9, 1.0])


def test_exact_match_is_p_to_the_L():
    np.testing.assert_allclose(metrics.exact_match(P, 3), [0, 1 / 64, 1 / 8, 0.729, 1], atol=1e-15)
    assert metrics.exact_match(0.5, 1) == 0.5


def test_multiple_choice_floors_at_chance():
    np.testing.assert_allclose(
        metrics.multiple_choice_grade(P, 0.25), [0.25, 0.4375, 0.625, 0.925, 1.0], atol=1e-15
    )


def test_edit_distance_is_expected_wrong_tokens():
    np.testing.assert_allclose(metrics.token_edit_distance(P, 10), [10, 7.5, 5, 1, 0], atol=1e-12)


def test_log_likelihood_clips_zero():
    ll = metrics.token_log_likelihood(P, eps=1e-12)
    assert ll[0] == pytest.approx(math.log(1e-12))
    np.testing.assert_allclose(ll[1:], np.log(P[1:]))
    assert np.all(np.isfinite(ll))


def test_score_all_keys_and_broadcast():
    p = np.random.default_rng(0).random((3, 4))
    scores = metrics.score_all(p, 5, 0.5)
    assert set(scores) == {"exact_match", "multiple_choice", "edit_distance", "log_likelihood"}
    assert all(v.shape == (3, 4) for v in scores.values())


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.exact_match(1.2, 3),
        lambda: metrics.exact_match(np.nan, 3),
        lambda: metrics.exact_match(0.5, 0),
        lambda: metrics.multiple_choice_grade(0.5, 1.0),
        lambda: metrics.token_edit_distance(-0.1, 3),
        lambda: metrics.token_log_likelihood(0.5, eps=0.0),
    ],
)
def test_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_same_ability_looks_emergent_or_smooth():
    # Per-token p rises as a logistic in u = log10 x with rate s per decade, 10-90 width
    # 2 ln 9 / s = 1.2 decades: "gradual". Exact match p^L = f at u = u0 - ln(f^(-1/L) - 1)/s,
    # so its width is [ln(0.1^(-1/L) - 1) - ln(0.9^(-1/L) - 1)] / s = 0.857 decades for L = 20:
    # "emergent", and later. Edit distance L(1 - p) is linear in p and keeps p's width.
    s, u0, n_tokens = 2 * math.log(9) / 1.2, 2.0, 20
    x = np.logspace(-2, 8, 100_001)
    p = 1.0 / (1.0 + np.exp(-s * (np.log10(x) - u0)))
    smooth = transition(x, p, floor=0.0, ceiling=1.0)
    em = transition(x, metrics.exact_match(p, n_tokens), floor=0.0, ceiling=1.0)
    ed = transition(x, metrics.token_edit_distance(p, n_tokens), floor=0.0, ceiling=n_tokens)

    def level(f: float) -> float:
        return u0 - math.log(f ** (-1 / n_tokens) - 1) / s

    assert smooth.width_decades == pytest.approx(1.2, rel=1e-6)
    assert smooth.label == "gradual" and ed.label == "gradual"
    assert ed.width_decades == pytest.approx(smooth.width_decades, rel=1e-9)
    assert em.width_decades == pytest.approx(level(0.9) - level(0.1), rel=1e-6)
    assert em.width_decades == pytest.approx(0.857, abs=1e-3)
    assert em.label == "emergent"
    assert math.log10(em.midpoint) == pytest.approx(level(0.5), abs=1e-6)
