"""Resource family: a shared update budget (Liu, Liu, Michaud, Gore & Tegmark 2025,
"Physics of skill learning", arXiv 2501.12391, the Resource model: normalized optimizers
such as Adam give the skills still being learned one fixed budget of updates, so finishing
frequent skills speeds up the rare ones — their "domino effect").

Law implemented. Quantum k accumulates progress π_k and is ready once π_k ≥ τ_k f (f the
agent's speed factor). The quanta *in progress* are those not yet ready, not blocked by a
prerequisite and learnable (dataset regime). Each exposure of an in-progress quantum adds

    w(t) = 1 / U(t),   U(t) = Σ_{j in progress} g_j / Σ_{all j} g_j,   g_j = p_j (b_j − a_j),

i.e. the share of the gradient signal still in play (g = p when no quantum carries loss).
In expectation dπ_k/dt = p_k / U(t) per sample: the update budget, spread over the signal
still in play, is the same whether that signal is all of it or a sliver. At the start U = 1
and the law is the threshold rule; U changes only when a quantum becomes ready (or a blocked
one is released).

Closed form for an isolated quantum (the only one in progress, U = g_k/Σg): each exposure
adds Σg/g_k, so k is ready at its m-th exposure, m = ⌈τ_k f g_k/Σg⌉, and
P(ready after n samples) = P(Binomial(n, p_k) ≥ m); for a world of one quantum (p = 1) this
is the threshold rule at τ samples. Two quanta p = (10, 1)/11 with equal τ: quantum 2 is
ready at ≈ 2.0 τ samples in the mean field, against 11 τ under counting and τ alone.

Exact engine: exposures stay a countdown ``rem`` in the sample loop; when U changes every
in-progress quantum's progress is settled (π += w_old · exposures since) and its countdown
reset to ⌈(τ f − π)/w_new⌉ — O(K) per ready event, nothing per sample.

Events engine (online; reject or unlimited capacity; block prerequisites): event-driven.
Between ready events w is constant, so quantum j needs m_j = ⌈(τ_j f − π_j)/w⌉ more
exposures, which arrive at t + Gamma(m_j)/p_j. The earliest such time is the next event t′;
for every other j, given that its m_j-th arrival T_j is later, its exposures in (t, t′] are
Binomial(m_j − 1, (t′ − t)/(T_j − t)) (uniform order statistics), and after t′ a fresh Poisson
process (independent increments). Exact for the Poissonized process; O(K) draws per event.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..checkpoints import time_to_step
from ..codes import FIT_RTOL, NEVER, NOT_READY, PREREQ_BLOCK, PROGRESS_RTOL
from ..random import binomial, standard_gamma


@njit(inline="always")
def exposures_needed(remaining, weight):
    """⌈remaining / w⌉ ≥ 1 exposures of weight w to add ``remaining`` progress (with the
    relative slack PROGRESS_RTOL against rounding in w)."""
    return np.int64(max(1.0, np.ceil(remaining / weight * (1.0 - PROGRESS_RTOL))))


@njit
def reweight_exact(state, rem, rem_base, progress, tau, share, speed, weight):
    """Exact engine, after the set in progress changed: settle every in-progress quantum's
    progress at the old weight, compute U over the new set and reset the countdowns.
    Returns the new weight 1/U (0 when nothing is in progress)."""
    u = 0.0
    for j in range(state.shape[0]):
        if state[j] == NOT_READY and rem[j] != NEVER:
            progress[j] += weight * (rem_base[j] - rem[j])
            u += share[j]
    new_weight = 1.0 / u if u > 0.0 else 0.0
    for j in range(state.shape[0]):
        if state[j] == NOT_READY and rem[j] != NEVER:
            r = exposures_needed(tau[j] * speed - progress[j], new_weight)
            rem[j] = r
            rem_base[j] = r
    return new_weight


@njit
def _in_progress_share(in_progress, share):
    u = 0.0
    for j in range(share.shape[0]):
        if in_progress[j]:
            u += share[j]
    return u


@njit
def _draw_candidates(s, t, in_progress, progress, tau, p, speed, weight, m, cand):
    for j in range(p.shape[0]):
        if in_progress[j]:
            m[j] = exposures_needed(tau[j] * speed - progress[j], weight)
            cand[j] = t + standard_gamma(s, m[j]) / p[j]


@njit
def events_agent(s, p, tau, share, cost, gain, base_loss, cap, speed, min_cost,
                 n_prereq, dep_ptr, dep_idx, prereq_mode, batch_size, ckpt_time,
                 out_loss, out_learned, out_used, learn_step, record):
    """One agent of the events engine under the resource law (online data)."""
    k_total = p.shape[0]
    n_ckpt = ckpt_time.shape[0]
    t_end = ckpt_time[n_ckpt - 1]
    in_progress = np.zeros(k_total, dtype=np.bool_)
    missing = n_prereq.copy()
    for k in range(k_total):
        in_progress[k] = p[k] > 0.0 and (prereq_mode != PREREQ_BLOCK or missing[k] == 0)
    progress = np.zeros(k_total)
    m = np.zeros(k_total, dtype=np.int64)
    cand = np.full(k_total, np.inf)
    u = _in_progress_share(in_progress, share)
    weight = 1.0 / u if u > 0.0 else 0.0
    t = 0.0
    _draw_candidates(s, t, in_progress, progress, tau, p, speed, weight, m, cand)
    room = cap * (1.0 + FIT_RTOL)
    used = 0.0
    loss = base_loss
    n_learned = 0
    c = 0
    while True:
        k = -1
        t_next = np.inf
        for j in range(k_total):
            if in_progress[j] and cand[j] < t_next:
                t_next = cand[j]
                k = j
        if k < 0 or t_next > t_end:
            break
        while c < n_ckpt and ckpt_time[c] < t_next:
            out_loss[c] = loss
            out_learned[c] = n_learned
            out_used[c] = used
            c += 1
        # Exposures of the others in (t, t_next], given their m-th arrival comes later.
        for j in range(k_total):
            if in_progress[j] and j != k:
                progress[j] += weight * binomial(s, m[j] - 1, (t_next - t) / (cand[j] - t))
        in_progress[k] = False
        t = t_next
        if used + cost[k] <= room:
            used += cost[k]
            loss -= gain[k]
            n_learned += 1
            if record:
                learn_step[k] = time_to_step(t, 0, batch_size, 0)
            for e in range(dep_ptr[k], dep_ptr[k + 1]):
                d = dep_idx[e]
                missing[d] -= 1
                if missing[d] == 0 and p[d] > 0.0 and prereq_mode == PREREQ_BLOCK:
                    in_progress[d] = True
        elif used + min_cost > room:
            break  # nothing can fit any more: the learned set is final
        u = _in_progress_share(in_progress, share)
        weight = 1.0 / u if u > 0.0 else 0.0
        _draw_candidates(s, t, in_progress, progress, tau, p, speed, weight, m, cand)
    while c < n_ckpt:
        out_loss[c] = loss
        out_learned[c] = n_learned
        out_used[c] = used
        c += 1
