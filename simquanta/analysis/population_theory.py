"""Closed forms for agents that learn from agents: a student trained on a teacher's output,
generations of such students, and their fixed point (issue 14; kept apart from
``theory.py``, which covers single populations on real data).

Setting (``simquanta.populations``): a teacher that has learned the set T emits quantum k
with probability p_k 1[k ∈ T]/P_T, P_T = Σ_{j∈T} p_j (Dohmatob et al. 2024, "A tale of
tails", arXiv 2402.07043: tail cutting); a student sees a fraction ρ of real samples, and
a fraction ε of the teacher's samples are noise it cannot learn from, so quantum k has
per-sample frequency q_k = ρ p_k + (1 − ρ)(1 − ε) p_k 1[k∈T]/P_T and, with distillation,
needs τ_k' = τ_k λ exposures if k ∈ T (τ_k otherwise). With quanta independent (unlimited
capacity, or capacity that never binds: ρ = 0 and room for all of T) the student's loss on
the real distribution after m samples is exact:

    E[L_real(m)] = Σ_k p_k [a_k + (b_k − a_k) P(X_k(m) < ⌈τ_k'⌉)],
    X_k(m) ~ Binomial(m, q_k)  (exact engine)   or   Poisson(m q_k)  (events engine),

and for a teacher that knows the top n, ρ = ε = 0, λ = 1 (DESIGN.md §8):

    E[L_real(m)] = Σ_{k≤n} p_k P(Binomial(m, p_k/P_n) < τ) + Σ_{k>n} p_k.

Generations (mean field). A fresh student learns k with probability π_in(k) if its teacher
knew k and π_out(k) if not, each after m samples; so s_g(k), the share of generation g
that knows k, follows

    s_0(k) = P(X ≥ τ_k),  X ~ Bin(m, p_k)        (generation 0: real data)
    s_g(k) = s_{g−1}(k) π_in(k; P_{g−1}) + (1 − s_{g−1}(k)) π_out(k),
    P_{g−1} = Σ_k p_k s_{g−1}(k)                 (the teacher mass, replaced by its mean),

and the generation-g plateau (its loss at the end of its m samples) is
L_g = Σ_k p_k [a_k + (b_k − a_k)(1 − s_g(k))]. With ρ = 0, π_out = 0: a quantum once lost
never returns, s_g(k) = s_0(k) Π_{j<g} π_in(k; P_j), and L_g rises to the limit of the
product. With ρ > 0 every quantum can come back and s_g converges to the fixed point
s*(k) = π_out/(1 − π_in(P*) + π_out), P* = Σ p_k s*(k). The only approximation is the
mean field in P_T (its spread across agents is Σ p_k² s(1 − s), tiny next to P_T², so
E[p_k/P_T] ≈ p_k/E[P_T]); the per-quantum recursion itself is exact for independent quanta.

Comparison with Dohmatob et al. 2024. Their tail-cutting theorem (Hutter's memorization
learner, i.e. τ = 1, Zipf exponent β = α + 1, a teacher cut at rank n, T training samples)
is the additive law E ≍ T^{−(1−1/β)} + n^{−(β−1)} = T^{−α/(α+1)} + n^{−α}: the untruncated
learning curve plus the cut's plateau, up to constants. Differences: (1) ours is exact at
finite m with constants and any τ; (2) renormalization over the learned set speeds the
head up by 1/P_n, so our data term Σ_{k≤n} p_k P(Bin(m, p_k/P_n) < τ) lies below theirs
(the real-data term Σ_{k≤n} p_k P(Bin(m, p_k) < τ)) — ``tail_cut_law`` below is their
additive form evaluated with our constants, an upper bound on ours that meets it at both
ends (m → 0 and m → ∞); (3) the cut here is each teacher's own learned set, stochastic
and agent-specific, not a fixed rank; (4) for mixed data our fixed point replaces their
two-regime (plateau, then "grokking" once real data suffice) description with a
per-quantum balance π_out/(1 − π_in + π_out).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from ..validation import invalid

__all__ = [
    "distilled_tau",
    "generation_curves",
    "generation_fixed_point",
    "generation_plateaus",
    "student_expected_loss",
    "student_frequencies",
    "student_unlearned_prob",
    "tail_cut_law",
    "top_n_student_loss",
]

#: the counting families with a closed form
FAMILIES = ("threshold", "geometric")


def distilled_tau(tau: ArrayLike, known: ArrayLike, distill: float) -> NDArray[np.float64]:
    """τ_k·λ for teacher-known quanta, τ_k elsewhere, at least 1; a product within 10⁻⁹
    (relative) of an integer is that integer (10 × 0.3 = 3.0000000000000004 would need 4)."""
    tau = np.asarray(tau, dtype=float)
    if distill == 1.0:
        return np.array(tau, dtype=float)
    scaled = tau * distill
    near = np.round(scaled)
    scaled = np.where(np.abs(scaled - near) <= 1e-9 * scaled, near, scaled)
    return np.maximum(np.where(known, scaled, tau), 1.0)


def student_frequencies(p: ArrayLike, known: ArrayLike, real_fraction: float,
                        error: float) -> tuple[NDArray[np.float64], float]:
    """(q[K], noise mass): each real quantum's per-sample frequency for a student of a
    teacher knowing ``known``, and the share of samples that are teacher noise; q sums to
    1 − noise. A teacher that knows nothing emits only noise."""
    p = np.asarray(p, dtype=float)
    known = np.asarray(known, dtype=bool)
    mass = float(np.sum(p[known]))
    teacher = 1.0 - real_fraction
    if mass > 0.0:
        q = real_fraction * p + teacher * (1.0 - error) * np.where(known, p / mass, 0.0)
        return q, teacher * error
    return real_fraction * p, teacher


def _q_and_tau(p, known, tau, real_fraction, error, distill):
    q, _ = student_frequencies(p, known, real_fraction, error)
    return q, distilled_tau(np.broadcast_to(np.asarray(tau, dtype=float), p.shape), known,
                            distill)


def _unlearned(n: NDArray[np.float64], q: NDArray[np.float64], tau: NDArray[np.float64],
               acquisition: str, poisson: bool) -> NDArray[np.float64]:
    """P(k unlearned after n samples) at per-sample frequency q_k: (C, K)."""
    n = n[:, None]
    if acquisition == "threshold":
        need = np.ceil(tau)
        if poisson:
            return special.gammaincc(need, n * q)
        return stats.binom.cdf(need - 1.0, n, q)
    if acquisition == "geometric":
        if poisson:
            return np.exp(-n * (q / tau))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.exp(n * np.log1p(-q / tau))
        return np.where(n == 0, 1.0, out)
    raise invalid("acquisition", acquisition,
                  f"the student closed form covers {', '.join(FAMILIES)}")


def student_unlearned_prob(samples: ArrayLike, p: ArrayLike, known: ArrayLike, tau: ArrayLike,
                           *, real_fraction: float = 0.0, error: float = 0.0,
                           distill: float = 1.0, acquisition: str = "threshold",
                           poisson: bool = False) -> NDArray[np.float64]:
    """P(quantum k unlearned after n samples) for a student of a teacher knowing ``known``
    (bool[K]), shape (C, K). ``poisson``: the events engine's Poissonized counts."""
    p = np.asarray(p, dtype=float)
    known = np.asarray(known, dtype=bool)
    q, tau_s = _q_and_tau(p, known, tau, real_fraction, error, distill)
    return _unlearned(np.atleast_1d(np.asarray(samples, dtype=float)), q, tau_s, acquisition,
                      poisson)


def _loss(p, a, b, unlearned):
    a = np.broadcast_to(np.asarray(a, dtype=float), p.shape)
    b = np.broadcast_to(np.asarray(b, dtype=float), p.shape)
    return np.sum(p * a) + np.sum(p * (b - a) * unlearned, axis=-1)


def student_expected_loss(samples: ArrayLike, p: ArrayLike, teacher_sets: ArrayLike,
                          tau: ArrayLike, *, learned_loss: ArrayLike = 0.0,
                          unlearned_loss: ArrayLike = 1.0, real_fraction: float = 0.0,
                          error: float = 0.0, distill: float = 1.0,
                          acquisition: str = "threshold", poisson: bool = False,
                          weights: ArrayLike | None = None,
                          with_variance: bool = False):
    """E[L_real(n)] (bits per sample, shape (C,)) of a student population, averaged over
    the teacher rows ``teacher_sets`` (bool[M, K] or [K]; ``weights``: students per row,
    default equal). Identical rows are computed once. Exact for independent quanta.

    ``with_variance=True`` also returns the mean over students of the variance of one
    student's loss, Σ_k (p_k (b_k − a_k))² u_k (1 − u_k) (u_k = P(unlearned); exact for
    Poissonized counts, which are independent across quanta; the exact engine's multinomial
    counts correlate by O(p_k)): the standard error of a mean over N students, given its
    teachers, is √(that / N) — the scale to compare against where every sampled student
    happens to have the same loss and the sample standard error is 0.
    """
    p = np.asarray(p, dtype=float)
    sets = np.atleast_2d(np.asarray(teacher_sets, dtype=bool))
    w = np.ones(sets.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    rows, inverse = np.unique(sets, axis=0, return_inverse=True)
    row_w = np.bincount(np.ravel(inverse), weights=w, minlength=rows.shape[0])
    a = np.broadcast_to(np.asarray(learned_loss, dtype=float), p.shape)
    b = np.broadcast_to(np.asarray(unlearned_loss, dtype=float), p.shape)
    total = 0.0
    variance = 0.0
    for row, weight in zip(rows, row_w, strict=True):
        u = student_unlearned_prob(samples, p, row, tau, real_fraction=real_fraction,
                                   error=error, distill=distill, acquisition=acquisition,
                                   poisson=poisson)
        total = total + weight * _loss(p, a, b, u)
        if with_variance:
            variance = variance + weight * np.sum((p * (b - a)) ** 2 * u * (1.0 - u), axis=-1)
    mean = total / np.sum(row_w)
    if with_variance:
        return mean, variance / np.sum(row_w)
    return mean


def top_n_student_loss(samples: ArrayLike, p: ArrayLike, n: int, tau: ArrayLike, *,
                       poisson: bool = False, **options) -> NDArray[np.float64]:
    """DESIGN.md §8: a teacher that knows the top n quanta (ρ = 0 by default):
    Σ_{k≤n} p_k P(Bin(m, p_k/P_n) < τ) + Σ_{k>n} p_k (a = 0, b = 1), shape (C,)."""
    p = np.asarray(p, dtype=float)
    known = np.arange(p.size) < n
    return student_expected_loss(samples, p, known, tau, poisson=poisson, **options)


def generation_curves(samples: ArrayLike, p: ArrayLike, tau: ArrayLike, generations: int, *,
                      real_fraction: float = 0.0, error: float = 0.0, distill: float = 1.0,
                      learned_loss: ArrayLike = 0.0, unlearned_loss: ArrayLike = 1.0,
                      acquisition: str = "threshold",
                      poisson: bool = False) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean-field loss on real data of generations g = 0..G−1 at each sample count (module
    docstring), each generation trained for the last of ``samples`` (m) samples.

    Returns (curves float64[G, C], s float64[G, K]: share of generation g knowing k at m).
    """
    p = np.asarray(p, dtype=float)
    n = np.atleast_1d(np.asarray(samples, dtype=float))
    tau = np.broadcast_to(np.asarray(tau, dtype=float), p.shape)
    curves = np.empty((generations, n.size))
    shares = np.empty((generations, p.size))
    for g in range(generations):
        if g == 0:
            u = _unlearned(n, p, tau, acquisition, poisson)
            s = 1.0 - u[-1]
        else:
            prev = shares[g - 1]
            mass = float(np.sum(p * prev))
            # every quantum as if its teacher knew it, teacher mass = its mean
            q_in = real_fraction * p + ((1 - real_fraction) * (1 - error) * p / mass
                                        if mass > 0 else 0.0)
            t_in = distilled_tau(tau, np.ones(p.size, dtype=bool), distill)
            u_in = _unlearned(n, q_in, t_in, acquisition, poisson)
            u_out = _unlearned(n, real_fraction * p, tau, acquisition, poisson)
            u = prev * u_in + (1.0 - prev) * u_out
            s = 1.0 - u[-1]
        curves[g] = _loss(p, learned_loss, unlearned_loss, u)
        shares[g] = s
    return curves, shares


def generation_plateaus(p: ArrayLike, samples: float, tau: ArrayLike, generations: int,
                        **options) -> NDArray[np.float64]:
    """Mean-field loss on real data of generations 0..G−1 at the end of their ``samples``
    samples each (the generation-g plateau), shape (G,)."""
    curves, _ = generation_curves(np.array([samples]), p, tau, generations, **options)
    return curves[:, -1]


def generation_fixed_point(p: ArrayLike, samples: float, tau: ArrayLike, *,
                           real_fraction: float, error: float = 0.0, distill: float = 1.0,
                           learned_loss: ArrayLike = 0.0, unlearned_loss: ArrayLike = 1.0,
                           acquisition: str = "threshold", poisson: bool = False,
                           rtol: float = 1e-12,
                           max_iter: int = 10_000) -> tuple[float, NDArray[np.float64]]:
    """Fixed point of the generation map at ``samples`` samples per generation: (loss L* on
    real data, shares s*[K]), by iterating s_g from generation 0 until L changes by less than
    ``rtol`` (relative). ρ > 0: s* = π_out/(1 − π_in(P*) + π_out). ρ = 0: the limit of the
    decreasing product s_0 Π π_in, which converges slowly (lost quanta never return; at
    K = 10⁴, m = 10⁶, τ = 5 the loss still creeps up after 10⁵ generations): the value after
    ``max_iter`` generations."""
    p = np.asarray(p, dtype=float)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), p.shape)
    m = np.array([float(samples)])
    s = 1.0 - _unlearned(m, p, tau, acquisition, poisson)[0]
    s_out = 1.0 - _unlearned(m, real_fraction * p, tau, acquisition, poisson)[0]
    t_in = distilled_tau(tau, np.ones(p.size, dtype=bool), distill)
    loss = float(_loss(p, learned_loss, unlearned_loss, 1.0 - s))
    for _ in range(max_iter):
        mass = float(np.sum(p * s))
        q_in = real_fraction * p + ((1 - real_fraction) * (1 - error) * p / mass
                                    if mass > 0 else 0.0)
        s_in = 1.0 - _unlearned(m, q_in, t_in, acquisition, poisson)[0]
        s = s * s_in + (1.0 - s) * s_out
        new = float(_loss(p, learned_loss, unlearned_loss, 1.0 - s))
        if abs(new - loss) <= rtol * abs(new):
            return new, s
        loss = new
    return loss, s


def tail_cut_law(samples: ArrayLike, p: ArrayLike, n: int, tau: ArrayLike, *,
                 acquisition: str = "threshold", poisson: bool = False) -> NDArray[np.float64]:
    """Dohmatob et al.'s additive tail-cut law with our constants (a = 0, b = 1): the real-data
    learning curve of the head plus the cut's plateau,
    Σ_{k≤n} p_k P(Bin(m, p_k) < τ) + Σ_{k>n} p_k — an upper bound on
    ``top_n_student_loss`` (renormalization speeds the head up by 1/P_n), equal to it as
    m → 0 and m → ∞. Asymptotically ≍ m^{−α/(α+1)} + n^{−α}."""
    p = np.asarray(p, dtype=float)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), p.shape)
    u = _unlearned(np.atleast_1d(np.asarray(samples, dtype=float)), p, tau, acquisition,
                   poisson)
    head = np.arange(p.size) < n
    return np.sum(np.where(head, p * u, 0.0), axis=-1) + float(np.sum(p[~head]))
