"""Events engine: acquisition times drawn directly, cost independent of training length.

Online regime (Poissonization). With samples drawn with replacement, the exposures of
quantum k form, to excellent approximation, a Poisson process of rate p_k per sample
(exactly so if the number of samples is Poisson). The ⌈τ_k⌉-th exposure then arrives at
T_k = G_k / p_k samples with G_k ~ Gamma(need_k, 1) (threshold rule), and under the
geometric rule need_k ~ Geometric(1/τ_k), so G_k ~ τ_k · Exp(1). Marginals are exact for
the Poissonized process; quanta are independent (the exact engine's multinomial counts are
weakly negatively correlated), which changes variances by O(p_k), not means.

Prerequisites (online): counted exposures of k have rate f·p_k until its last prerequisite
is first learned at time U_k, then p_k (block: f = 0). With a unit-rate time change,
k is ready when the integrated rate reaches G_k:
T_k = G_k / (f p_k) if that is ≤ U_k, else U_k + (G_k − f p_k U_k) / p_k — exact.

Dataset regime. Per agent the example counts D_k ~ Multinomial(D, p) are drawn once
(conditional binomials). k is learnable iff D_k ≥ ⌈τ_k⌉. Its need_k-th presentation falls
in epoch e = ⌈need_k / D_k⌉ as the j-th (j = need_k − (e−1) D_k) of its D_k positions in
that epoch's random permutation; the number of other examples before it is
negative-hypergeometric, i.e. Beta-Binomial(D − D_k, j, D_k − j + 1), so the position is
j + Binomial(D − D_k, Beta(j, D_k − j + 1)) — exact per quantum (positions of different
quanta are drawn independently, so they may coincide; ties go to the lower index).

Capacity. ``reject``: ready events are processed in time order (a binary heap) and each is
learned if its cost fits — the first arrivals that fit. Unlimited capacity needs no order:
each T_k is binned into the checkpoints by a table lookup, O(K). ``evict`` (online, equal
costs, no prerequisites): in the exact dynamics every ready-but-unlearned quantum has at
most as many exposures as every learned one (exposure counts change only at a quantum's own
exposures, when it is compared with the learned minimum), so the learned set is a top-n set
by exposure count among ready quanta. At each checkpoint t the engine draws the counts
N_k(t) = need_k + Poisson(p_k (t − T_k)) incrementally (exact Poisson-process increments)
and takes the top n, breaking ties by earlier T_k. The exact engine breaks ties by history,
and that is this path's one approximation: negligible once the quanta competing for the
last slots have many exposures (+0.0009 bits at K = 500, capacity 60, 2000 samples,
threshold τ = 5), but of order 0.01 bits when they have only a few (+0.014 bits at
K = 5000, capacity 60, 420 samples, geometric τ = 3). ``auto`` therefore runs the exact engine
for evict with finite capacity; ask for ``events`` explicitly to use it. Cost O(K·C).

Times are in samples; a learn at time T falls in step ⌈T / B⌉ (online) and checkpoint c
covers times ≤ samples(c).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import heap
from .codes import (
    EVICT,
    FIT_RTOL,
    GEOMETRIC,
    PREREQ_NONE,
    PREREQ_SLOW,
)
from .random import (
    beta_int,
    binomial,
    fill_gamma_ceil,
    geometric_trials,
    poisson,
    standard_exponential,
    standard_gamma,
)

# ---------------------------------------------------------------- time ↔ step


@njit(inline="always")
def _time_to_step(t, dataset_size, batch_size, steps_per_epoch):
    """Step in which the sample at time t (1-based sample index, or continuous) falls."""
    if dataset_size == 0:
        return np.int64(np.ceil(t / batch_size))
    epoch = np.int64((t - 1.0) // dataset_size)
    within = t - epoch * dataset_size
    return epoch * steps_per_epoch + np.int64(np.ceil(within / batch_size))


# Binning a time into checkpoints is the inner operation of the engine, so it must cost
# far less than the Gamma draw: a lookup table indexed by the top bits of the IEEE-754
# representation (exponent + 8 mantissa bits, monotone for positive doubles) gives a
# starting checkpoint that is at most a few short steps from the answer.
_BIN_SHIFT = np.uint64(52 - 8)


@njit
def build_bin_table(ckpt_time):
    """Table for ``checkpoint_index``: entry j is the first checkpoint at or above the
    smallest double whose top bits are key_lo + j. Returns (table, key_lo)."""
    n_ckpt = ckpt_time.shape[0]
    key_lo = np.int64(np.float64(ckpt_time[0]).view(np.uint64) >> _BIN_SHIFT)
    key_hi = np.int64(np.float64(ckpt_time[n_ckpt - 1]).view(np.uint64) >> _BIN_SHIFT)
    table = np.empty(key_hi - key_lo + 1, dtype=np.int64)
    c = 0
    for j in range(table.shape[0]):
        edge = np.uint64(key_lo + j) << _BIN_SHIFT
        while c < n_ckpt and np.float64(ckpt_time[c]).view(np.uint64) < edge:
            c += 1
        table[j] = c
    return table, key_lo


@njit(inline="always")
def checkpoint_index(t, ckpt_time, table, key_lo):
    """First checkpoint c with ckpt_time[c] ≥ t, for 0 ≤ t ≤ ckpt_time[-1]."""
    # Times at or below the first checkpoint have keys ≤ key_lo, and table[0] = 0. Clamping
    # instead of an early return matters: with a second return numba no longer elides the
    # 0-d array behind the scalar .view(), and each call cost 30 ns instead of 1.7 ns.
    # t + 0.0 turns −0.0, whose sign bit would make a huge key, into +0.0.
    bits = np.float64(t + 0.0).view(np.uint64)
    c = table[max(np.int64(bits >> _BIN_SHIFT) - key_lo, 0)]
    while ckpt_time[c] < t:
        c += 1
    return c


# ---------------------------------------------------------------- per-agent draws


@njit
def _draw_need(s, tau_k, acquisition):
    if acquisition == GEOMETRIC:
        return geometric_trials(s, 1.0 / tau_k)
    return np.int64(np.ceil(tau_k))


@njit
def _dataset_counts(s, p, dataset_size, counts):
    """D_k ~ Multinomial(D, p) by conditional binomials, k = 0..K−1."""
    remaining = dataset_size
    mass = 1.0
    for k in range(p.shape[0]):
        if remaining == 0:
            counts[k] = 0
            continue
        q = p[k] / mass if mass > 0.0 else 1.0
        c = binomial(s, remaining, min(max(q, 0.0), 1.0))
        counts[k] = c
        remaining -= c
        mass -= p[k]


@njit
def _dataset_time(s, need, d_k, dataset_size, epochs):
    """Sample index (1-based over the whole run) of the need-th presentation of a quantum
    with d_k examples; inf if it is not presented that often within the run."""
    epoch = (need + d_k - 1) // d_k  # 1-based
    if epoch > epochs:
        return np.inf
    j = need - (epoch - 1) * d_k
    others = dataset_size - d_k
    before = 0
    if others > 0:
        before = binomial(s, others, beta_int(s, j, d_k - j + 1))
    return float((epoch - 1) * dataset_size + j + before)


# ---------------------------------------------------------------- first arrivals that fit


@njit(inline="always")
def _slots(cap, unit_cost, k_total):
    """How many quanta of equal cost fit: ⌊cap (1 + FIT_RTOL) / cost⌋, at most K."""
    if unit_cost <= 0.0:
        return np.int64(k_total)
    return np.int64(min(np.floor(cap * (1.0 + FIT_RTOL) / unit_cost), k_total))


@njit
def _first_arrivals(ready, gain, cost, base_loss, cap, min_cost, unlimited, ckpt_time,
                    table, key_lo, dataset_size, batch_size, steps_per_epoch,
                    out_loss, out_learned, out_used, learn_step, record):
    """Learned set = the first n_slots = ⌊cap / cost⌋ ready quanta in time order (all of
    them with unlimited capacity). A counting pass finds the checkpoint interval in which
    capacity fills; only that interval's arrivals are sorted."""
    k_total = ready.shape[0]
    n_ckpt = ckpt_time.shape[0]
    count_at = np.zeros(n_ckpt, dtype=np.int64)
    gain_at = np.zeros(n_ckpt)
    cost_at = np.zeros(n_ckpt)
    limit = ckpt_time[n_ckpt - 1]
    full_bin = n_ckpt  # checkpoint interval in which capacity fills (n_ckpt: never)
    n_slots = k_total
    arrived = 0
    if not unlimited:
        n_slots = _slots(cap, min_cost, k_total)
        for k in range(k_total):
            if ready[k] <= limit:
                count_at[checkpoint_index(ready[k], ckpt_time, table, key_lo)] += 1
        for c in range(n_ckpt):
            if arrived + count_at[c] > n_slots:
                full_bin = c
                limit = ckpt_time[c]
                break
            arrived += count_at[c]
    members = np.empty(count_at[full_bin] if full_bin < n_ckpt else 0, dtype=np.int64)
    count_at[:] = 0
    m = 0
    for k in range(k_total):
        t = ready[k]
        if t <= limit:
            c = checkpoint_index(t, ckpt_time, table, key_lo)
            if c == full_bin:
                members[m] = k
                m += 1
            else:
                count_at[c] += 1
                gain_at[c] += gain[k]
                cost_at[c] += cost[k]
                if record:
                    learn_step[k] = _time_to_step(t, dataset_size, batch_size, steps_per_epoch)
    if full_bin < n_ckpt:
        # The first r = n_slots − arrived arrivals of that interval still fit. A selection
        # (O(m), not a sort: the interval may hold most of the K quanta) finds the r-th
        # smallest time; members are in index order, so ties at it go to the lower k.
        r = n_slots - arrived
        times = ready[members]
        cutoff = np.partition(times, r - 1)[r - 1] if r > 0 else -np.inf
        ties_left = r
        for i in range(m):
            if times[i] < cutoff:
                ties_left -= 1
        for i in range(m):
            if times[i] > cutoff:
                continue
            if times[i] == cutoff:
                if ties_left == 0:
                    continue
                ties_left -= 1
            k = members[i]
            count_at[full_bin] += 1
            gain_at[full_bin] += gain[k]
            cost_at[full_bin] += cost[k]
            if record:
                learn_step[k] = _time_to_step(ready[k], dataset_size, batch_size,
                                              steps_per_epoch)
    loss = base_loss
    n_learned = 0
    used = 0.0
    for c in range(n_ckpt):
        loss -= gain_at[c]
        n_learned += count_at[c]
        used += cost_at[c]
        out_loss[c] = loss
        out_learned[c] = n_learned
        out_used[c] = used


# ---------------------------------------------------------------- one agent


@njit
def _run_agent(s, p, tau, acquisition, cost, gain, base_loss, cap, policy, min_cost,
               equal_costs, table, key_lo,
               n_prereq, dep_ptr, dep_idx, prereq_mode, slow_factor,
               dataset_size, epochs, batch_size, steps_per_epoch, ckpt_time,
               out_loss, out_learned, out_used, learn_step, record):
    k_total = p.shape[0]
    n_ckpt = ckpt_time.shape[0]
    t_end = ckpt_time[n_ckpt - 1]
    ready = np.empty(k_total)
    unlimited = cap == np.inf

    # 1. Ready times (samples) — tentative ones for quanta waiting on prerequisites.
    need = np.empty(k_total if policy == EVICT else 0, dtype=np.int64)
    grate = np.empty(k_total if prereq_mode != PREREQ_NONE else 0)  # G_k
    if dataset_size > 0:
        counts = np.empty(k_total, dtype=np.int64)
        _dataset_counts(s, p, dataset_size, counts)
        for k in range(k_total):
            n_k = _draw_need(s, tau[k], acquisition)
            if counts[k] < np.ceil(tau[k]) or p[k] == 0.0:
                ready[k] = np.inf
            else:
                ready[k] = _dataset_time(s, n_k, counts[k], dataset_size, epochs)
    else:
        # Threshold rule: all G_k ~ Gamma(⌈τ_k⌉) in one register-held pass (``ready``
        # holds G_k until it is turned into a time below); the same stream as drawing them
        # one by one.
        threshold = acquisition != GEOMETRIC
        if threshold:
            fill_gamma_ceil(s, tau, ready)
        for k in range(k_total):
            if policy == EVICT:
                need[k] = _draw_need(s, tau[k], acquisition)  # no draw under threshold
            if threshold:
                g = ready[k]
            elif policy == EVICT:
                g = standard_gamma(s, need[k])
            else:
                g = tau[k] * standard_exponential(s)
            if prereq_mode != PREREQ_NONE:
                grate[k] = g
            if p[k] == 0.0:
                ready[k] = np.inf
            elif prereq_mode == PREREQ_NONE or n_prereq[k] == 0:
                ready[k] = g / p[k]
            elif prereq_mode == PREREQ_SLOW:
                ready[k] = g / (slow_factor * p[k])  # until the prerequisites are learned
            else:
                ready[k] = np.inf

    # 2a. Unlimited capacity, or reject with equal costs: the learned set is the first
    # n_slots arrivals, so binning ready times into checkpoints suffices.
    if prereq_mode == PREREQ_NONE and (unlimited or (equal_costs and policy != EVICT)):
        _first_arrivals(ready, gain, cost, base_loss, cap, min_cost, unlimited, ckpt_time,
                        table, key_lo, dataset_size, batch_size, steps_per_epoch,
                        out_loss, out_learned, out_used, learn_step, record)
        return

    # 2b. Evict with finite capacity: the learned set is the top-n by exposure count among
    # ready quanta. (With unlimited capacity evict never acts: the paths above/below.)
    if policy == EVICT and not unlimited:
        n_slots = _slots(cap, min_cost, k_total)
        count = np.zeros(k_total, dtype=np.int64)
        last = np.zeros(k_total)  # time up to which count[k] is drawn
        inset = np.zeros(k_total, dtype=np.bool_)
        order_key = np.empty(k_total)
        idx = np.empty(k_total, dtype=np.int64)
        for c in range(n_ckpt):
            t = ckpt_time[c]
            n_ready = 0
            for k in range(k_total):
                if ready[k] <= t:
                    if last[k] == 0.0:
                        count[k] = need[k]
                        last[k] = ready[k]
                    count[k] += poisson(s, p[k] * (t - last[k]))
                    last[k] = t
                    # More exposures first; among equal counts, the earlier ready time.
                    order_key[n_ready] = -float(count[k]) + 0.5 * ready[k] / t
                    idx[n_ready] = k
                    n_ready += 1
            inset[:] = False
            order = np.argsort(order_key[:n_ready])
            keep = min(n_slots, n_ready)
            loss = base_loss
            for i in range(keep):
                k = idx[order[i]]
                inset[k] = True
                loss -= gain[k]
            out_loss[c] = loss
            out_learned[c] = keep
            out_used[c] = keep * min_cost
        return

    # 2c. Reject (first arrivals that fit) and prerequisites: events in time order.
    ht = np.empty(k_total)
    hk = np.empty(k_total, dtype=np.int64)
    size = 0
    for k in range(k_total):
        if ready[k] <= t_end:
            ht[size] = ready[k]
            hk[size] = k
            size += 1
    heap.heapify(ht, hk, size)
    missing = n_prereq.copy()
    learned = np.zeros(k_total, dtype=np.bool_)
    done = np.zeros(k_total, dtype=np.bool_)  # ready event handled
    used = 0.0
    loss = base_loss
    n_learned = 0
    c = 0
    room = cap * (1.0 + FIT_RTOL)
    while size > 0:
        t, k, size = heap.pop(ht, hk, size)
        if done[k] or t != ready[k]:
            continue  # stale entry: the ready time moved earlier when k was released
        while c < n_ckpt and ckpt_time[c] < t:
            out_loss[c] = loss
            out_learned[c] = n_learned
            out_used[c] = used
            c += 1
        done[k] = True
        if used + cost[k] > room:
            if used + min_cost > room:
                break  # nothing can fit any more
            continue
        learned[k] = True
        used += cost[k]
        loss -= gain[k]
        n_learned += 1
        if record:
            learn_step[k] = _time_to_step(t, dataset_size, batch_size, steps_per_epoch)
        for j in range(dep_ptr[k], dep_ptr[k + 1]):
            d = dep_idx[j]
            missing[d] -= 1
            if missing[d] == 0 and not done[d] and p[d] > 0.0:
                f = slow_factor if prereq_mode == PREREQ_SLOW else 0.0
                new_ready = t + (grate[d] - f * p[d] * t) / p[d]
                if new_ready < ready[d]:
                    ready[d] = new_ready
                    if new_ready <= t_end:
                        size = heap.push(ht, hk, size, new_ready, d)
    while c < n_ckpt:
        out_loss[c] = loss
        out_learned[c] = n_learned
        out_used[c] = used
        c += 1


@njit(cache=True, parallel=True)
def run_events(states, p, tau, acquisition, cost, gain, base_loss, capacity, policy,
               n_prereq, dep_ptr, dep_idx, prereq_mode, slow_factor,
               dataset_size, epochs, batch_size, ckpt_time, record_steps):
    """Simulate len(states) agents by drawing acquisition times; same outputs as
    ``exact.run_exact``: loss, learned, used (agents × checkpoints), first-learn steps.

    ckpt_time: samples seen at each checkpoint (float64, increasing).
    """
    n_agents = states.shape[0]
    n_ckpt = ckpt_time.shape[0]
    k_total = p.shape[0]
    steps_per_epoch = (dataset_size + batch_size - 1) // batch_size
    table, key_lo = build_bin_table(ckpt_time)
    min_cost = cost.min()
    equal_costs = cost.max() == min_cost
    loss = np.empty((n_agents, n_ckpt))
    learned = np.empty((n_agents, n_ckpt), dtype=np.int64)
    used = np.empty((n_agents, n_ckpt))
    steps_out = np.full((n_agents, k_total if record_steps else 0), -1, dtype=np.int64)
    for agent in prange(n_agents):
        s = states[agent].copy()
        row = steps_out[agent] if record_steps else np.empty(0, dtype=np.int64)
        _run_agent(s, p, tau, acquisition, cost, gain, base_loss, capacity[agent], policy,
                   min_cost, equal_costs, table, key_lo, n_prereq, dep_ptr, dep_idx, prereq_mode,
                   slow_factor,
                   dataset_size, epochs, batch_size, steps_per_epoch, ckpt_time,
                   loss[agent], learned[agent], used[agent], row, record_steps)
    return loss, learned, used, steps_out
