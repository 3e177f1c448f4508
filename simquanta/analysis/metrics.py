"""Score one simulated state in several ways (Schaeffer, Miranda & Koyejo 2023).

The simulator and the composition graph give a per-token (or per-step) success probability p.
How a benchmark turns p into a number changes how an ability appears to grow with scale. Exact
match over L tokens, p^L, is nonlinear: it stays near 0 until p is close to 1, then rises later
and faster than p (for p logistic in log x with 10-90 width w, p^L has width → 0.70·w as L
grows, see ``tests/test_metrics.py``). Token edit distance L·(1 − p) is linear in p and keeps
p's shape exactly. All functions broadcast over arrays and assume tokens succeed independently.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "exact_match",
    "multiple_choice_grade",
    "score_all",
    "token_edit_distance",
    "token_log_likelihood",
]


def _probability(p: np.ndarray | float) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p >= 0.0) & (p <= 1.0)):
        raise ValueError("p must lie in [0, 1] (and not be NaN)")
    return p


def _length(length: int) -> int:
    if not isinstance(length, (int, np.integer)) or isinstance(length, bool) or length < 1:
        raise ValueError(f"length must be an integer >= 1, got {length!r}")
    return int(length)


def exact_match(p: np.ndarray | float, length: int) -> np.ndarray:
    """Probability that all ``length`` tokens are right: p^L."""
    return _probability(p) ** _length(length)


def multiple_choice_grade(p: np.ndarray | float, chance: float) -> np.ndarray:
    """Accuracy on a multiple-choice item: c + (1 − c)·p.

    The model knows the answer with probability p and otherwise guesses, right with probability
    c (c = 1/n_options for a uniform guess over n options). This is the expected value of
    Schaeffer et al.'s 0/1 "multiple choice grade" under that know-or-guess model; it is linear
    in p but floored at c, so curves start at chance rather than 0.
    """
    if isinstance(chance, bool) or not isinstance(chance, (int, float)) or not 0 <= chance < 1:
        raise ValueError(f"chance must lie in [0, 1), got {chance!r}")
    return chance + (1.0 - chance) * _probability(p)


def token_edit_distance(p: np.ndarray | float, length: int) -> np.ndarray:
    """Expected number of wrong tokens in an L-token answer: L·(1 − p).

    This is the expected Hamming distance to the target (each wrong token costs one
    substitution), which is the token edit distance when errors are substitutions only and an
    upper bound on the Levenshtein distance otherwise.
    """
    return _length(length) * (1.0 - _probability(p))


def token_log_likelihood(p: np.ndarray | float, eps: float = 1e-12) -> np.ndarray:
    """Per-token log-likelihood of the target, log(max(p, eps)) in nats.

    Clipping at ``eps`` keeps a never-right token finite (log eps ≈ −27.6 for 1e-12) instead of
    −inf, so means over agents stay defined. Multiply by L for the whole answer.
    """
    if not isinstance(eps, float) or not 0.0 < eps < 1.0 or not math.isfinite(eps):
        raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
    return np.log(np.clip(_probability(p), eps, 1.0))


def score_all(
    p: np.ndarray | float, length: int, chance: float, eps: float = 1e-12
) -> dict[str, np.ndarray]:
    """All four scorings of the same p: exact_match, multiple_choice, edit_distance, log_lik."""
    return {
        "exact_match": exact_match(p, length),
        "multiple_choice": multiple_choice_grade(p, chance),
        "edit_distance": token_edit_distance(p, length),
        "log_likelihood": token_log_likelihood(p, eps),
    }
