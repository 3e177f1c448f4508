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

Dynamics families (``acquisition/``, routed by ``codes.EVENTS_PATHS``): every need-based
family draws its ready time as above, Gamma(need_k)/p_k with need_k from ``draw_need``
(geometric through its τ·Exp(1) shortcut); ``logistic`` takes the slot time that way with
need = c½ and then draws each quantum's exposure counts at the checkpoints up to strength
saturation (``acquisition/logistic.py``; online, no prerequisites, reject or unlimited
capacity); ``resource`` is event-driven at O(K) per ready event (``acquisition/resource.py``;
online, reject or unlimited capacity, block prerequisites). An agent's speed factor f
multiplies the exposures needed (divides η). Entry kernels are built per code-path variant
(see "entry kernels" below), so a run compiles only what it reaches.

Times are in samples; a learn at time T falls in step ⌈T / B⌉ (online) and checkpoint c
covers times ≤ samples(c).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from . import heap
from .acquisition import draw_need, geometric, logistic, resource
from .cache import kernel_cache
from .checkpoints import build_bin_table, checkpoint_index, time_to_step
from .codes import (
    EVENTS_PATHS,
    EVICT,
    FIT_RTOL,
    GEOMETRIC,
    LOGISTIC,
    PREREQ_NONE,
    PREREQ_SLOW,
    THRESHOLD,
)
from .random import (
    beta_int,
    binomial,
    fill_gamma_ceil,
    poisson,
    standard_gamma,
)

# ---------------------------------------------------------------- per-agent draws


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
def _kth_smallest(values, kth):
    """The kth smallest (0-based) of ``values``, which it reorders: Hoare's quickselect with
    a median-of-three pivot, O(n) expected. (np.partition does the same but adds ~5 s to a
    cold compile.)"""
    lo, hi = 0, values.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        a, b, c = values[lo], values[mid], values[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        i, j = lo, hi
        while i <= j:
            while values[i] < pivot:
                i += 1
            while values[j] > pivot:
                j -= 1
            if i <= j:
                values[i], values[j] = values[j], values[i]
                i += 1
                j -= 1
        # now values[lo..j] ≤ pivot ≤ values[i..hi], and values[j+1..i−1] == pivot
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            return values[kth]
    return values[kth]


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
                    learn_step[k] = time_to_step(t, dataset_size, batch_size, steps_per_epoch)
    if full_bin < n_ckpt:
        # The first r = n_slots − arrived arrivals of that interval still fit. A selection
        # (O(m), not a sort: the interval may hold most of the K quanta) finds the r-th
        # smallest time; members are in index order, so ties at it go to the lower k.
        r = n_slots - arrived
        times = np.empty(m)
        for i in range(m):
            times[i] = ready[members[i]]
        cutoff = _kth_smallest(times.copy(), r - 1) if r > 0 else -np.inf
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
                learn_step[k] = time_to_step(ready[k], dataset_size, batch_size,
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
def _ready_times_dataset(s, quanta, learner, data, speed, ready):
    """Dataset regime: fill ``ready`` with each quantum's ready time (samples; inf if its
    examples are too few or it is not presented often enough within the run)."""
    p, tau = quanta.p, quanta.tau
    k_total = p.shape[0]
    counts = np.empty(k_total, dtype=np.int64)
    _dataset_counts(s, p, data.dataset_size, counts)
    for k in range(k_total):
        n_k = draw_need(s, learner.acquisition, tau[k], quanta.eta[k], learner.s0, speed)
        if counts[k] < np.ceil(tau[k]) or p[k] == 0.0:
            ready[k] = np.inf
        else:
            ready[k] = _dataset_time(s, n_k, counts[k], data.dataset_size, data.epochs)


@njit
def _ready_times_online(s, quanta, learner, prereq, speed, fixed, ready, need, grate):
    """Online: fill ``ready`` with each quantum's ready time (samples; tentative for quanta
    waiting on prerequisites, inf if never), ``need`` (under evict) with its exposures needed
    and ``grate`` (with prerequisites) with its unit-rate time G_k. ``fixed``: the
    threshold-like rules' needs as floats when they differ from τ (logistic, speed ≠ 1),
    else empty."""
    p, tau = quanta.p, quanta.tau
    acquisition = learner.acquisition
    k_total = p.shape[0]
    # Threshold-like rules (a fixed need): all G_k ~ Gamma(need_k) in one register-held
    # pass (``ready`` holds G_k until it is turned into a time below); the same stream as
    # drawing them one by one.
    threshold_like = acquisition != GEOMETRIC
    if threshold_like:
        fill_gamma_ceil(s, fixed if fixed.shape[0] > 0 else tau, ready)
    for k in range(k_total):
        if learner.policy == EVICT:
            need[k] = draw_need(s, acquisition, tau[k], quanta.eta[k], learner.s0, speed)
        if threshold_like:
            g = ready[k]
        elif learner.policy == EVICT:
            g = standard_gamma(s, need[k])
        else:
            g = geometric.ready_gamma(s, tau[k], speed)
        if prereq.mode != PREREQ_NONE:
            grate[k] = g
        if p[k] == 0.0:
            ready[k] = np.inf
        elif prereq.mode == PREREQ_NONE or prereq.n_prereq[k] == 0:
            ready[k] = g / p[k]
        elif prereq.mode == PREREQ_SLOW:
            ready[k] = g / (prereq.slow_factor * p[k])  # until the prerequisites are learned
        else:
            ready[k] = np.inf


@njit
def _fixed_needs(s, quanta, learner, data, speed, equal_rates):
    """Online, the needs of the families whose ready time is drawn as Gamma(need)/p (every
    need-based family but geometric, which has its own shortcut) as floats, from
    ``draw_need``; an empty array where the need is ⌈τ⌉ itself (threshold at speed 1) or
    the family does not come this way (geometric, the dataset regime)."""
    k_total = quanta.p.shape[0]
    acquisition = learner.acquisition
    if (data.dataset_size > 0 or acquisition == GEOMETRIC
            or (acquisition == THRESHOLD and speed == 1.0)):
        return np.empty(0)
    fixed = np.empty(k_total)
    if acquisition == LOGISTIC and equal_rates:  # one c½ for all (a log per quantum ~15 ns)
        fixed[:] = logistic.half_count(quanta.eta[0], learner.s0, speed)
    else:
        for k in range(k_total):
            fixed[k] = draw_need(s, acquisition, quanta.tau[k], quanta.eta[k], learner.s0,
                                 speed)
    return fixed


@njit(inline="always")
def slow_factor_or_zero(prereq):
    """Counted share of exposures before the prerequisites are learned (block: 0)."""
    return prereq.slow_factor if prereq.mode == PREREQ_SLOW else 0.0


@njit
def _top_by_count(s, p, gain, base_loss, cap, min_cost, ready, need, ckpt_time,
                  out_loss, out_learned, out_used):
    """Evict with finite capacity: the learned set is the top-n by exposure count among
    ready quanta. (With unlimited capacity evict never acts.)"""
    k_total = p.shape[0]
    n_ckpt = ckpt_time.shape[0]
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


@njit
def _heap_order(ready, grate, p, cost, gain, base_loss, cap, min_cost, prereq, f,
                dataset_size, batch_size, steps_per_epoch, ckpt_time, out_loss, out_learned,
                out_used, learn_step, record):
    """Reject (first arrivals that fit) with unequal costs or prerequisites: ready events in
    time order; a learned prerequisite moves its dependents' ready times earlier."""
    k_total = p.shape[0]
    n_ckpt = ckpt_time.shape[0]
    t_end = ckpt_time[n_ckpt - 1]
    n_prereq, dep_ptr, dep_idx = prereq.n_prereq, prereq.dep_ptr, prereq.dep_idx
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
        used += cost[k]
        loss -= gain[k]
        n_learned += 1
        if record:
            learn_step[k] = time_to_step(t, dataset_size, batch_size, steps_per_epoch)
        for j in range(dep_ptr[k], dep_ptr[k + 1]):
            d = dep_idx[j]
            missing[d] -= 1
            if missing[d] == 0 and not done[d] and p[d] > 0.0:
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


@njit
def _outputs(n_agents, n_ckpt, k_total, record_steps, record_strength):
    """(loss, learned, used, first-learn steps, strengths) arrays for A agents."""
    loss = np.empty((n_agents, n_ckpt))
    learned = np.empty((n_agents, n_ckpt), dtype=np.int64)
    used = np.empty((n_agents, n_ckpt))
    steps_out = np.full((n_agents, k_total if record_steps else 0), -1, dtype=np.int64)
    strength_out = np.zeros((n_agents, n_ckpt if record_strength else 0,
                             k_total if record_strength else 0))
    return loss, learned, used, steps_out, strength_out


# ---------------------------------------------------------------- entry kernels
#
# numba compiles every branch of a function and of everything it calls, so one kernel for
# every regime would compile the dataset draws, the evict ranking and the heap on every first
# run. Counting and logistic runs therefore get an entry kernel per *variant* — which of
# those code paths the run's agents can reach — built by ``_counting_entry`` with the
# variant's flags as closure constants, which numba's dead-branch pruning removes before
# typing. Each variant has its own name, so its own cache index. ``entry_for`` picks the
# kernel of a compiled run. Inputs as ``exact.run_exact`` (``kernels.inputs``), except
# ``ckpt_time``: samples seen at each checkpoint (float64[C], increasing). Each returns
# (loss float64[A, C] bits per sample; learned int64[A, C]; used float64[A, C] cost units;
# first-learn step int64[A, K] (shape (A, 0) unless learn steps or learned sets are
# recorded); logistic strengths float64[A, C, K] ((A, 0, 0) unless recorded)).


class EventsVariant(NamedTuple):
    """The code paths an events run can reach (see ``variant_for``)."""

    strengths: bool  # logistic: strengths on top of the slot times
    dataset: bool  # dataset regime (else online)
    first_arrivals: bool  # some agent learns the first arrivals that fit
    top_by_count: bool  # some agent ranks by exposure count (evict, finite capacity)
    heap_order: bool  # some agent orders ready events by a heap (costs, prerequisites)

    @property
    def name(self) -> str:
        paths = [name for name in ("first_arrivals", "top_by_count", "heap_order")
                 if getattr(self, name)]
        return "_".join(["run_events", "logistic" if self.strengths else "counting",
                         "dataset" if self.dataset else "online", *paths])


def variant_for(quanta, learner, prereq, data) -> EventsVariant:
    """The code paths the agents of a compiled counting or logistic run reach: per agent,
    the first arrivals when nothing orders them (no prerequisites, and unlimited capacity or
    equal costs under reject), else the exposure ranking under evict with finite capacity,
    else the heap."""
    unlimited = np.isinf(learner.capacity)
    evict = learner.policy == EVICT
    equal_costs = quanta.cost.max() == quanta.cost.min()
    first = (unlimited | (equal_costs and not evict)) & (prereq.mode == PREREQ_NONE)
    top = ~first & evict & ~unlimited
    strengths, dataset = learner.acquisition == LOGISTIC, data.dataset_size > 0
    if (strengths or dataset) and (prereq.mode != PREREQ_NONE or top.any()):
        raise ValueError("events: logistic and the dataset regime run without prerequisites "
                         "and without evict at finite capacity")
    return EventsVariant(strengths=strengths, dataset=dataset, first_arrivals=bool(first.any()),
                         top_by_count=bool(top.any()), heap_order=bool((~first & ~top).any()))


@njit
def _all_equal(values):
    """True when every entry equals the first (or there are none)."""
    for v in values:
        if v != values[0]:
            return False
    return True


@njit
def _min_max(values):
    """(min, max) of a non-empty array, in a plain loop (a reduction in a parallel kernel
    would be compiled as a parallel loop of its own)."""
    lo, hi = values[0], values[0]
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@functools.cache
def _counting_entry(variant: EventsVariant):
    """The entry kernel of a counting (threshold, geometric) or logistic run of ``variant``:
    ready times drawn directly, the learned set at every checkpoint, and (logistic) the
    strengths (``acquisition/logistic.py``)."""
    strengths, dataset = variant.strengths, variant.dataset
    first_arrivals, top_by_count, heap_order = (variant.first_arrivals, variant.top_by_count,
                                                variant.heap_order)

    def entry(states, quanta, learner, prereq, data, ckpt_time, record):
        n_agents, n_ckpt, k_total = states.shape[0], ckpt_time.shape[0], quanta.p.shape[0]
        steps_per_epoch = (data.dataset_size + data.batch_size - 1) // data.batch_size
        table, key_lo = build_bin_table(ckpt_time)
        min_cost, max_cost = _min_max(quanta.cost)
        equal_costs = max_cost == min_cost
        eta_lo, eta_hi = _min_max(quanta.eta)
        equal_rates = eta_lo == eta_hi
        record_steps = record.learn_steps or record.learned_sets
        policy = learner.policy
        loss, learned, used, steps_out, strength_out = _outputs(
            n_agents, n_ckpt, k_total, record_steps, strengths and record.strength)
        if strengths:
            # one set of strength tables for all agents when they share a speed (building
            # them costs ~0.5 ms, ~3 % of an agent at K = 10^5)
            one_speed = _all_equal(learner.speed)
            shared_stab, shared_tabs = logistic.strength_tables(
                quanta.eta, learner.s0, learner.speed[0] if n_agents > 0 else 1.0,
                equal_rates and one_speed)
            # (the parallel loop gets the arrays, not the named tuple: numba 0.68 fails to
            # lower a tuple of arrays captured by a prange body)
            lam_sat, cdf, guide, fcdf, fguide = shared_tabs
        uncovered = np.zeros(n_agents, dtype=np.bool_)
        for agent in prange(n_agents):
            s = states[agent].copy()
            speed = learner.speed[agent]
            cap = learner.capacity[agent]
            unlimited = cap == np.inf
            # logistic reads its slots off the learn steps, recorded or not (with unlimited
            # capacity every ready quantum holds one)
            keep_steps = record_steps or (strengths and not unlimited)
            row = (steps_out[agent] if record_steps
                   else np.full(k_total if keep_steps else 0, -1, dtype=np.int64))
            fixed = _fixed_needs(s, quanta, learner, data, speed, equal_rates)
            ready = np.empty(k_total)
            need = np.empty(k_total if policy == EVICT else 0, dtype=np.int64)
            grate = np.empty(k_total if prereq.mode != PREREQ_NONE else 0)  # G_k
            if dataset:
                _ready_times_dataset(s, quanta, learner, data, speed, ready)
            else:
                _ready_times_online(s, quanta, learner, prereq, speed, fixed, ready, need,
                                    grate)
            if first_arrivals and prereq.mode == PREREQ_NONE and (
                    unlimited or (equal_costs and policy != EVICT)):
                _first_arrivals(ready, quanta.gain, quanta.cost, quanta.base_loss, cap,
                                min_cost, unlimited, ckpt_time, table, key_lo,
                                data.dataset_size, data.batch_size, steps_per_epoch,
                                loss[agent], learned[agent], used[agent], row, keep_steps)
            elif top_by_count and policy == EVICT and not unlimited:
                _top_by_count(s, quanta.p, quanta.gain, quanta.base_loss, cap, min_cost,
                              ready, need, ckpt_time, loss[agent], learned[agent],
                              used[agent])
            elif heap_order:
                _heap_order(ready, grate, quanta.p, quanta.cost, quanta.gain,
                            quanta.base_loss, cap, min_cost, prereq,
                            slow_factor_or_zero(prereq), data.dataset_size, data.batch_size,
                            steps_per_epoch, ckpt_time, loss[agent], learned[agent],
                            used[agent], row, keep_steps)
            else:
                uncovered[agent] = True  # raised below: a prange loop must have one exit
            if strengths:
                # loss = Σ p_k b_k − Σ gain_k s_k, changes binned per checkpoint
                stab = shared_stab
                tabs = logistic.PoissonTables(lam_sat, cdf, guide, fcdf, fguide)
                if not one_speed:
                    stab, tabs = logistic.strength_tables(quanta.eta, learner.s0, speed,
                                                          equal_rates)
                logistic.events_strengths(s, quanta.p, quanta.gain, ready, row, fixed,
                                          quanta.eta, speed, learner.s0, stab, tabs,
                                          quanta.base_loss, ckpt_time, table, key_lo,
                                          loss[agent], strength_out[agent])
        if uncovered.any():
            raise ValueError("events: an agent needs a code path its kernel variant lacks")
        return loss, learned, used, steps_out, strength_out

    entry.__name__ = entry.__qualname__ = variant.name  # its own cache index
    with kernel_cache():
        return njit(cache=True, parallel=True)(entry)


@njit(cache=True, parallel=True)
def run_events_resource(states, quanta, learner, prereq, data, ckpt_time, record):
    """Resource family (online, reject, block prerequisites): event-driven
    (``acquisition/resource.py``)."""
    if data.dataset_size > 0 or prereq.mode == PREREQ_SLOW or learner.policy == EVICT:
        raise ValueError("events: resource runs online, without evict or slow prerequisites")
    n_agents, n_ckpt, k_total = states.shape[0], ckpt_time.shape[0], quanta.p.shape[0]
    min_cost, _ = _min_max(quanta.cost)
    record_steps = record.learn_steps or record.learned_sets
    loss, learned, used, steps_out, strength_out = _outputs(n_agents, n_ckpt, k_total,
                                                            record_steps, False)
    for agent in prange(n_agents):
        s = states[agent].copy()
        row = steps_out[agent] if record_steps else np.empty(0, dtype=np.int64)
        resource.events_agent(s, quanta.p, quanta.tau, quanta.share, quanta.cost, quanta.gain,
                              quanta.base_loss, learner.capacity[agent], learner.speed[agent],
                              min_cost, prereq.n_prereq, prereq.dep_ptr, prereq.dep_idx,
                              prereq.mode, data.batch_size, ckpt_time, loss[agent],
                              learned[agent], used[agent], row, record_steps)
    return loss, learned, used, steps_out, strength_out


def entry_for(quanta, learner, prereq, data):
    """The events entry kernel of a compiled run, by its family's events path
    (``codes.EVENTS_PATHS``); ValueError for a family code without one."""
    path = EVENTS_PATHS.get(learner.acquisition)
    if path == "ready_times":
        return _counting_entry(variant_for(quanta, learner, prereq, data))
    if path == "budget":
        return run_events_resource
    raise ValueError(f"events engine: no events path for acquisition code "
                     f"{learner.acquisition!r}")
