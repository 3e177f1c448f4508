"""Helpers shared by the composition experiments (gradual_vs_emergent, metric_mirage,
loss_distribution): one set of quanta, simulated learners along three scale axes, and the
closed forms / mean-field predictions their task curves are compared with.

Quanta: K Zipf quanta, p_k ∝ k^-(α+1) with α = 0.5, threshold rule τ = 5.

Scale axes (all with the events engine, whose cost does not depend on the horizon):

* capacity (model size): a per-agent capacity list, ``reject``, online training so long that
  every quantum has become ready, so each learner holds the first n quanta to arrive;
* data: a fixed training set of D samples, many epochs (threshold rule: a quantum is learned
  iff it has ≥ τ examples in the set);
* steps: online training with batch size 1, checkpoints log-spaced.

Theory. With unlimited capacity quanta are independent, so every task's expected success is
the composition rule applied to the per-quantum probabilities of being learned
(``CompositionGraph.evaluate`` on floats): P_k = P(Poisson(S p_k) ≥ τ) after S online samples
(Poissonized, as the events engine samples them) and P_k = P(Binomial(D, p_k) ≥ τ) for a data
set of D samples. Under a capacity of n quanta the learned set is the first n arrivals, which
couples the quanta; the mean-field prediction replaces the random moment the capacity fills by
the deterministic t_n at which E[#ready] = n, Σ_k P(Gamma(τ) ≤ t_n p_k) = n, and treats quanta as
independent given t_n: P_k(n) = P(Gamma(τ) ≤ t_n p_k). Fluctuations of the fill time are
O(n^-1/2), so the mean field is drawn dashed but labeled as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

import simquanta as sq
from simquanta import plots
from simquanta.analysis import theory
from simquanta.analysis.stats import sem as sem  # re-exported: scripts call C.sem
from simquanta.composition import CompositionGraph

from _common import log_ints as log_ints  # re-exported: scripts call C.log_ints

ALPHA = 0.5
TAU = 5
#: learn_step arrays are int64 (agents × K); simulate in chunks of at most this many bytes
CHUNK_BYTES = 48 * 1024**2


def zipf_quanta(n_quanta: int, **kwargs) -> sq.Quanta:
    """K Zipf quanta with the shared α and τ (extra keyword arguments go to Quanta)."""
    return sq.Quanta(n_quanta, alpha=ALPHA, tau=TAU, **kwargs)


def rank_indices(ranks: Sequence[int]) -> list[int]:
    """Frequency ranks (1 = most used) → 0-based quantum indices."""
    return [int(r) - 1 for r in ranks]


# ----------------------------------------------------------------------------- task graph


@dataclass(frozen=True)
class TaskInfo:
    name: str  # node name in the graph
    label: str  # legend text
    detail: str  # what it composes, for the table
    color: str


MONO_RANK = 20
ALL_RANKS = (20, 21, 22, 23, 24)
POLY_RANKS = tuple(int(r) for r in np.round(np.geomspace(3, 300, 10)))  # 3, 5, 8, …, 300


def task_graph() -> tuple[CompositionGraph, list[TaskInfo]]:
    """The six tasks of gradual_vs_emergent, as one composition graph.

    mono: one quantum (rank 20); all-of-3 / all-of-5: ranks 20–22 / 20–24 (similar
    frequencies, so none dominates the product); 3-of-5: at least three of ranks 20–24;
    mean-of-10: polygenic score over 10 quanta log-spaced in rank from 3 to 300; product: the
    same 10 quanta split alternately into two 5-quanta skills whose mean scores multiply
    (Okawa et al.'s composite accuracy = product of constituent accuracies).
    """
    g = CompositionGraph(description="gradual vs emergent: six task types")
    mono = rank_indices([MONO_RANK])
    a5 = rank_indices(ALL_RANKS)
    poly = rank_indices(POLY_RANKS)
    g.add_node("mono", "all", mono)
    g.add_node("all3", "all", a5[:3])
    g.add_node("all5", "all", a5)
    g.add_node("k3of5", "k_of_n", a5, k=3)
    g.add_node("mean10", "mean", poly)
    g.add_node("skillA", "mean", poly[0::2], task=False)
    g.add_node("skillB", "mean", poly[1::2], task=False)
    g.add_node("product", "product", ["skillA", "skillB"])
    pal = plots.PALETTE
    r0, r1 = ALL_RANKS[0], ALL_RANKS[-1]
    info = [
        TaskInfo("mono", "monogenic", f"1 quantum (rank {MONO_RANK})", pal[0]),
        TaskInfo("all3", "all of 3", f"all of ranks {r0}–{r0 + 2}", pal[5]),
        TaskInfo("all5", "all of 5", f"all of ranks {r0}–{r1}", pal[1]),
        TaskInfo("k3of5", "3 of 5", f"≥ 3 of ranks {r0}–{r1}", pal[2]),
        TaskInfo("mean10", "polygenic (mean)",
                 f"mean over 10 quanta, ranks {POLY_RANKS[0]}–{POLY_RANKS[-1]}", pal[4]),
        TaskInfo("product", "product of 2 means",
                 "mean(5) × mean(5), same 10 quanta", pal[3]),
    ]
    return g, info


# ------------------------------------------------------------------------ simulations


def _chunks(agents: int, n_quanta: int) -> list[tuple[int, int]]:
    size = max(1, CHUNK_BYTES // (8 * n_quanta))
    return [(a, min(agents, a + size)) for a in range(0, agents, size)]


def long_online(quanta: sq.Quanta) -> sq.Online:
    """Online run (batch 1) long enough that every quantum is ready: ≥ 100 τ expected
    exposures of the rarest quantum, so P(any quantum not ready) < 1e-30."""
    steps = int(min(100 * TAU / float(quanta.p.min()), 2**62))
    return sq.Online(steps=steps, batch_size=1)


def capacity_sweep(quanta: sq.Quanta, capacities: Sequence[int], replicates: int, seed: int,
                   n_keep: int) -> np.ndarray:
    """Learned flags after long online training with capacity n (reject, equal costs).

    Returns bool[replicates, len(capacities), n_keep]: quanta 0..n_keep−1. Agent a has
    capacity capacities[a // replicates]; agents are simulated in chunks (results do not
    depend on the split)."""
    caps = np.repeat(np.asarray(capacities, dtype=float), replicates)
    data = long_online(quanta)
    out = np.empty((caps.size, n_keep), dtype=bool)
    for lo, hi in _chunks(caps.size, quanta.n_quanta):
        res = sq.simulate(quanta, sq.Learner(capacity=caps[lo:hi].tolist(), policy="reject"),
                          data, agents=hi - lo, seed=seed, first_agent=lo,
                          checkpoints=[data.steps], engine="events", record_learn_steps=True)
        out[lo:hi] = res.learn_step[:, :n_keep] >= 0
    return out.reshape(len(capacities), replicates, n_keep).swapaxes(0, 1)


def steps_sweep(quanta: sq.Quanta, checkpoints: Sequence[int], agents: int, seed: int,
                n_keep: int) -> np.ndarray:
    """Learned flags at each checkpoint step of online training (batch 1, unlimited
    capacity): bool[agents, len(checkpoints), n_keep]."""
    ckpt = np.asarray(checkpoints, dtype=np.int64)
    data = sq.Online(steps=int(ckpt[-1]), batch_size=1)
    out = np.empty((agents, ckpt.size, n_keep), dtype=bool)
    for lo, hi in _chunks(agents, quanta.n_quanta):
        res = sq.simulate(quanta, sq.Learner(), data, agents=hi - lo, seed=seed,
                          first_agent=lo, checkpoints=ckpt.tolist(), engine="events",
                          record_learn_steps=True)
        if not np.array_equal(res.steps, ckpt):
            raise RuntimeError("checkpoints were merged; pass distinct steps")
        ls = res.learn_step[:, None, :n_keep]
        out[lo:hi] = (ls >= 0) & (ls <= ckpt[None, :, None])
    return out


def data_sweep(quanta: sq.Quanta, sizes: Sequence[int], agents: int, seed: int, n_keep: int,
               epochs: int = 10) -> np.ndarray:
    """Learned flags after ``epochs`` epochs on a training set of D samples, for each D
    (unlimited capacity, batch 1): bool[agents, len(sizes), n_keep]."""
    out = np.empty((agents, len(sizes), n_keep), dtype=bool)
    for j, size in enumerate(sizes):
        data = sq.Dataset(size=int(size), epochs=epochs, batch_size=1)
        for lo, hi in _chunks(agents, quanta.n_quanta):
            res = sq.simulate(quanta, sq.Learner(), data, agents=hi - lo, seed=seed + 7919 * j,
                              first_agent=lo, checkpoints=[data.total_steps], engine="events",
                              record_learn_steps=True)
            out[lo:hi, j] = res.learn_step[:, :n_keep] >= 0
    return out


# ---------------------------------------------------------------------------- theory


def fill_time(n: float, p: np.ndarray, tau: float = TAU) -> float:
    """Mean-field samples t_n at which E[#ready quanta] = Σ_k P(Gamma(τ) ≤ t p_k) = n."""
    if n >= p.size:
        return math.inf

    def excess(log_t: float) -> float:
        return float(special.gammainc(tau, math.exp(log_t) * p).sum() - n)

    lo, hi = math.log(1e-3 / p.max()), math.log(1e3 * tau / p.min())
    return math.exp(optimize.brentq(excess, lo, hi, xtol=1e-12))


def capacity_learned_prob(capacities: Sequence[float], p: np.ndarray,
                          tau: float = TAU) -> np.ndarray:
    """Mean-field P(quantum k held by a capacity-n reject learner): (len(capacities), K)."""
    t = np.array([fill_time(float(n), p, tau) for n in capacities])
    with np.errstate(invalid="ignore"):
        prob = special.gammainc(tau, t[:, None] * p[None, :])
    return np.where(np.isinf(t)[:, None], 1.0, prob)


def steps_learned_prob(samples: Sequence[float], p: np.ndarray, tau: float = TAU) -> np.ndarray:
    """P(learned after S online samples), Poissonized threshold rule: (len(samples), K)."""
    return 1.0 - theory.threshold_unlearned_prob_poisson(np.asarray(samples, float), p, tau)


def data_learned_prob(sizes: Sequence[int], p: np.ndarray, tau: float = TAU) -> np.ndarray:
    """P(Binomial(D, p_k) ≥ τ): learnable, hence learned after ≥ 1 epoch: (len(sizes), K)."""
    return 1.0 - theory.dataset_unlearnable_prob(np.asarray(sizes, dtype=float), p, tau)


def count_distribution(prob: np.ndarray) -> np.ndarray:
    """Poisson-binomial law of the number of successes among independent events.

    ``prob``: (..., m) success probabilities → (..., m + 1) probabilities of 0..m successes.
    """
    prob = np.asarray(prob, dtype=float)
    dist = np.zeros(prob.shape[:-1] + (prob.shape[-1] + 1,))
    dist[..., 0] = 1.0
    for j in range(prob.shape[-1]):
        q = prob[..., j, None]
        shifted = np.concatenate([np.zeros_like(q), dist[..., :-1]], axis=-1)
        dist = dist * (1.0 - q) + shifted * q
    return dist


# ---------------------------------------------------------------------------- summaries


def transition_record(t) -> dict:
    """JSON-friendly emergence measures of one curve."""
    return {"onset": t.onset, "midpoint": t.midpoint, "end": t.end,
            "width_decades": t.width_decades, "max_slope_per_decade": t.max_slope_per_decade,
            "label": t.label}
