"""Mixtures of Zipf laws with named groups of quanta: several languages (or domains)
sharing one model.

Language l uses its own m_l = n_shared + n_l quanta with a Zipf law over ranks
r = 1..m_l, p^(l)_r ∝ r^−(α_l+1): the shared quanta take the ranks ``shared_ranks`` (default
the first n_shared, i.e. the most used) and its private quanta the other ranks in order.
Training data mix the languages with shares w_l (Σ w_l = 1), so the model sees quantum k with
frequency p_k = Σ_l w_l p^(l)_k. Shared quanta are learned once and serve every language
(transfer); private ones compete for capacity.

Global quantum order: the shared group first (indices 0..n_shared−1, in shared rank order),
then each language's private group in the order the languages are given (by rank). Groups are
named ``"shared"`` and the language names. :meth:`Mixture.quantum` maps (group, rank) to the
global index, which is what a composition graph's ``q<k>`` names.

Closed forms (bits; a sample using k costs b when k is unlearned and a when learned):

* top-n learning (a converged ``evict`` learner of capacity n holds the n quanta most frequent
  in the mixture): L_l(n) = a + (b − a)(1 − Σ_{k ∈ top n} p^(l)_k);
* unlimited capacity, online, n samples of the mixture: E[L_l] = a + (b − a) Σ_k p^(l)_k P_k,
  P_k = P(quantum k unlearned after n samples at frequency p_k) (``analysis.theory``);
* the mixture's loss is Σ_l w_l L_l.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .analysis import theory
from .specs import Quanta
from .validation import check_int, check_real, invalid

__all__ = ["Language", "Mixture", "zipf_mixture"]


@dataclass(frozen=True)
class Language:
    """One language: its name, private quanta, Zipf exponent and data share w_l."""

    name: str
    n_private: int
    share: float
    alpha: float = 0.5


@dataclass(frozen=True, eq=False)
class Mixture:
    """Frequencies of a mixture of Zipf laws and the groups of quanta (module docs)."""

    languages: tuple[Language, ...]
    n_shared: int
    language_p: np.ndarray  # (L, K): p^(l)_k, each row sums to 1
    groups: dict[str, np.ndarray]  # group name → global indices, by rank within the group

    @property
    def shares(self) -> np.ndarray:
        return np.array([lang.share for lang in self.languages])

    @property
    def p(self) -> np.ndarray:
        """Mixture frequencies p_k = Σ_l w_l p^(l)_k, float64[K]."""
        return self.shares @ self.language_p

    @property
    def n_quanta(self) -> int:
        return self.language_p.shape[1]

    @property
    def names(self) -> list[str]:
        return [lang.name for lang in self.languages]

    def quantum(self, group: str, rank: int) -> int:
        """Global index of the quantum of ``rank`` (1 = most used) within ``group``."""
        if group not in self.groups:
            raise invalid("group", group, f"must be one of {', '.join(self.groups)}")
        idx = self.groups[group]
        check_int("rank", rank, 1)
        if rank > idx.size:
            raise invalid("rank", rank, f"group {group!r} has {idx.size} quanta")
        return int(idx[rank - 1])

    def quanta(self, **kwargs) -> Quanta:
        """A Quanta spec with the mixture's frequencies (keyword arguments: tau, cost, ...)."""
        return Quanta(self.n_quanta, frequencies=self.p, **kwargs)

    def top_n_loss(self, n, a: float = 0.0, b: float = 1.0) -> np.ndarray:
        """Per-language loss L_l(n) with the n most frequent quanta of the mixture learned;
        ``n`` scalar or (C,) → shape (L,) or (C, L)."""
        order = np.argsort(-self.p, kind="stable")
        covered = np.concatenate([np.zeros((len(self.languages), 1)),
                                  np.cumsum(self.language_p[:, order], axis=1)], axis=1)
        n_arr = np.minimum(np.floor(np.asarray(n, dtype=float)), self.n_quanta).astype(int)
        if np.any(n_arr < 0):
            raise invalid("n", n, "must be >= 0")
        return a + (b - a) * (1.0 - covered[:, n_arr].T)

    def expected_loss(self, samples, tau, a: float = 0.0, b: float = 1.0,
                      acquisition: str = "threshold", poisson: bool = False) -> np.ndarray:
        """Per-language expected loss after ``samples`` online samples of the mixture with
        unlimited capacity; shape (L,) or (C, L). ``poisson``: Poissonized exposures, as the
        events engine samples them."""
        rules = {"threshold": theory.threshold_unlearned_prob_poisson if poisson
                 else theory.threshold_unlearned_prob,
                 "geometric": theory.geometric_unlearned_prob_poisson if poisson
                 else theory.geometric_unlearned_prob}
        if acquisition not in rules:
            raise invalid("acquisition", acquisition, "must be threshold or geometric")
        unlearned = rules[acquisition](samples, self.p, tau)  # (C, K) or (K,)
        return a + (b - a) * (unlearned @ self.language_p.T)

    def language_losses(self, learned: np.ndarray, a: float = 0.0,
                        b: float = 1.0) -> np.ndarray:
        """Per-language loss of learned states bool/float[..., K] → (..., L)."""
        unlearned = 1.0 - np.asarray(learned, dtype=float)
        return a + (b - a) * (unlearned @ self.language_p.T)


def zipf_mixture(languages: Sequence[Language], n_shared: int,
                 shared_ranks: Sequence[int] | None = None) -> Mixture:
    """Build a :class:`Mixture`; ``shared_ranks`` (1-based, n_shared distinct ranks, used by
    every language) default to 1..n_shared."""
    langs = tuple(languages)
    if len(langs) < 1 or not all(isinstance(x, Language) for x in langs):
        raise invalid("languages", languages, "must be a non-empty list of Language")
    names = [x.name for x in langs]
    if len(set(names)) != len(names) or "shared" in names:
        raise invalid("languages", names, "names must be distinct and not 'shared'")
    check_int("n_shared", n_shared, 0)
    shares = np.array([check_real("share", x.share, low=0.0) for x in langs])
    if abs(shares.sum() - 1.0) > 1e-9:
        raise invalid("share", shares.tolist(), "shares must sum to 1")
    for x in langs:
        check_int("n_private", x.n_private, 0)
        check_real("alpha", x.alpha, low=-1.0, low_open=True)
    ranks = np.arange(1, n_shared + 1) if shared_ranks is None else \
        np.asarray(shared_ranks, dtype=np.int64)
    if ranks.shape != (n_shared,) or len(set(ranks.tolist())) != n_shared or \
            (n_shared and ranks.min() < 1):
        raise invalid("shared_ranks", shared_ranks, f"must be {n_shared} distinct ranks >= 1")
    n_total = n_shared + sum(x.n_private for x in langs)
    language_p = np.zeros((len(langs), n_total))
    groups = {"shared": np.arange(n_shared)}
    start = n_shared
    for i, x in enumerate(langs):
        m = n_shared + x.n_private
        if n_shared and ranks.max() > m:
            raise invalid("shared_ranks", shared_ranks,
                          f"exceed language {x.name!r}'s {m} quanta")
        w = np.arange(1, m + 1, dtype=float) ** -(x.alpha + 1.0)
        w /= w.sum()
        private_rank = np.setdiff1d(np.arange(1, m + 1), ranks)
        language_p[i, :n_shared] = w[ranks - 1]
        language_p[i, start:start + x.n_private] = w[private_rank - 1]
        groups[x.name] = np.arange(start, start + x.n_private)
        start += x.n_private
    return Mixture(languages=langs, n_shared=n_shared, language_p=language_p, groups=groups)
