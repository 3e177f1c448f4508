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

Dynamics families (``acquisition/``): threshold and geometric as above; ``logistic`` draws
the slot time like the threshold rule with need = c½ and then each quantum's exposure times
up to strength saturation (``acquisition/logistic.py``; online, no prerequisites, reject or
unlimited capacity); ``resource`` is event-driven at O(K) per ready event
(``acquisition/resource.py``; online, reject or unlimited capacity, block prerequisites).
An agent's speed factor f multiplies the exposures needed (divides η).

Times are in samples; a learn at time T falls in step ⌈T / B⌉ (online) and checkpoint c
covers times ≤ samples(c).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import heap
from .acquisition import draw_need, geometric, logistic, resource
from .checkpoints import build_bin_table, checkpoint_index, time_to_step
from .codes import (
    EVICT,
    FIT_RTOL,
    GEOMETRIC,
    LOGISTIC,
    PREREQ_NONE,
    PREREQ_SLOW,
    RESOURCE,
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
def _ready_times(s, quanta, learner, prereq, data, speed, fixed, ready, need, grate):
    """Fill ``ready`` with each quantum's ready time (samples; tentative for quanta waiting
    on prerequisites, inf if never), ``need`` (under evict) with its exposures needed and
    ``grate`` (with prerequisites) with its unit-rate time G_k. ``fixed``: the threshold-like
    rules' needs as floats when they differ from τ (logistic, speed ≠ 1), else empty."""
    p, tau = quanta.p, quanta.tau
    acquisition = learner.acquisition
    k_total = p.shape[0]
    dataset_size = data.dataset_size
    if dataset_size > 0:
        counts = np.empty(k_total, dtype=np.int64)
        _dataset_counts(s, p, dataset_size, counts)
        for k in range(k_total):
            n_k = draw_need(s, acquisition, tau[k], quanta.eta[k], learner.s0, speed)
            if counts[k] < np.ceil(tau[k]) or p[k] == 0.0:
                ready[k] = np.inf
            else:
                ready[k] = _dataset_time(s, n_k, counts[k], dataset_size, data.epochs)
        return
    # Online. Threshold-like rules (a fixed need): all G_k ~ Gamma(need_k) in one
    # register-held pass (``ready`` holds G_k until it is turned into a time below); the
    # same stream as drawing them one by one.
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
def _counting_agent(s, quanta, learner, prereq, data, cap, speed, min_cost, equal_costs,
                    fixed, table, key_lo, steps_per_epoch, ckpt_time, out_loss, out_learned,
                    out_used, learn_step, record, ready):
    """Ready times, then the learned set at every checkpoint (``ready`` float64[K] is filled
    with each quantum's ready time; ``fixed``: the needs when they differ from τ, else empty)."""
    p, cost, gain, base_loss = quanta.p, quanta.cost, quanta.gain, quanta.base_loss
    policy = learner.policy
    prereq_mode = prereq.mode
    dataset_size, batch_size = data.dataset_size, data.batch_size
    k_total = p.shape[0]
    unlimited = cap == np.inf

    # 1. Ready times (samples) — tentative ones for quanta waiting on prerequisites.
    need = np.empty(k_total if policy == EVICT else 0, dtype=np.int64)
    grate = np.empty(k_total if prereq_mode != PREREQ_NONE else 0)  # G_k
    _ready_times(s, quanta, learner, prereq, data, speed, fixed, ready, need, grate)

    if prereq_mode == PREREQ_NONE and (unlimited or (equal_costs and policy != EVICT)):
        # 2a. Unlimited capacity, or reject with equal costs: the learned set is the first
        # n_slots arrivals, so binning ready times into checkpoints suffices.
        _first_arrivals(ready, gain, cost, base_loss, cap, min_cost, unlimited, ckpt_time,
                        table, key_lo, dataset_size, batch_size, steps_per_epoch,
                        out_loss, out_learned, out_used, learn_step, record)
    elif policy == EVICT and not unlimited:
        _top_by_count(s, p, gain, base_loss, cap, min_cost, ready, need, ckpt_time,
                      out_loss, out_learned, out_used)
    else:
        _heap_order(ready, grate, p, cost, gain, base_loss, cap, min_cost, prereq,
                    slow_factor_or_zero(prereq), dataset_size, batch_size, steps_per_epoch,
                    ckpt_time, out_loss, out_learned, out_used, learn_step, record)


@njit
def _fixed_needs(s, quanta, learner, data, speed, equal_rates):
    """The threshold-like rules' needs as floats where they differ from τ (logistic, or a
    speed factor ≠ 1), else an empty array; no draws."""
    k_total = quanta.p.shape[0]
    is_logistic = learner.acquisition == LOGISTIC
    if not (data.dataset_size == 0 and learner.acquisition != GEOMETRIC
            and (is_logistic or speed != 1.0)):
        return np.empty(0)
    fixed = np.empty(k_total)
    if is_logistic and equal_rates:  # one c½ for all (a log per quantum cost ~15 ns)
        fixed[:] = logistic.half_count(quanta.eta[0], learner.s0, speed)
    else:
        for k in range(k_total):
            fixed[k] = draw_need(s, learner.acquisition, quanta.tau[k], quanta.eta[k],
                                 learner.s0, speed)
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


# One entry kernel per family group, so that a run compiles only the code its family
# reaches (numba compiles every branch of a function): the counting families share the
# ready-time machinery; logistic adds strengths on top of it; resource is event-driven.
# ``entry_for`` is the dispatch. Inputs as ``exact.run_exact`` (``kernels.inputs``), except
# ``ckpt_time``: samples seen at each checkpoint (float64[C], increasing). Each returns
# (loss float64[A, C] bits per sample; learned int64[A, C]; used float64[A, C] cost units;
# first-learn step int64[A, K] (shape (A, 0) unless learn steps or learned sets are
# recorded); logistic strengths float64[A, C, K] ((A, 0, 0) unless recorded)).


@njit(cache=True, parallel=True)
def run_events(states, quanta, learner, prereq, data, ckpt_time, record):
    """Threshold and geometric families: acquisition times drawn directly."""
    if learner.acquisition != THRESHOLD and learner.acquisition != GEOMETRIC:
        raise ValueError("events.run_events: counting families only (see entry_for)")
    n_agents, n_ckpt, k_total = states.shape[0], ckpt_time.shape[0], quanta.p.shape[0]
    steps_per_epoch = (data.dataset_size + data.batch_size - 1) // data.batch_size
    table, key_lo = build_bin_table(ckpt_time)
    min_cost = quanta.cost.min()
    equal_costs = quanta.cost.max() == min_cost
    record_steps = record.learn_steps or record.learned_sets
    loss, learned, used, steps_out, strength_out = _outputs(n_agents, n_ckpt, k_total,
                                                            record_steps, False)
    for agent in prange(n_agents):
        s = states[agent].copy()
        speed = learner.speed[agent]
        row = steps_out[agent] if record_steps else np.empty(0, dtype=np.int64)
        fixed = _fixed_needs(s, quanta, learner, data, speed, True)
        _counting_agent(s, quanta, learner, prereq, data, learner.capacity[agent], speed,
                        min_cost, equal_costs, fixed, table, key_lo, steps_per_epoch,
                        ckpt_time, loss[agent], learned[agent], used[agent], row,
                        record_steps, np.empty(k_total))
    return loss, learned, used, steps_out, strength_out


@njit(cache=True, parallel=True)
def run_events_logistic(states, quanta, learner, prereq, data, ckpt_time, record):
    """Logistic family (online, no prerequisites or evict): slot times as the threshold
    rule with need c½, then strengths (``acquisition/logistic.py``)."""
    if (learner.acquisition != LOGISTIC or data.dataset_size > 0
            or prereq.mode != PREREQ_NONE or learner.policy == EVICT):
        raise ValueError("events: logistic runs online without prerequisites or evict")
    n_agents, n_ckpt, k_total = states.shape[0], ckpt_time.shape[0], quanta.p.shape[0]
    table, key_lo = build_bin_table(ckpt_time)
    min_cost = quanta.cost.min()
    equal_costs = quanta.cost.max() == min_cost
    equal_rates = quanta.eta.max() == quanta.eta.min()
    record_steps = record.learn_steps or record.learned_sets
    loss, learned, used, steps_out, strength_out = _outputs(n_agents, n_ckpt, k_total,
                                                            record_steps, record.strength)
    for agent in prange(n_agents):
        s = states[agent].copy()
        speed = learner.speed[agent]
        # slots are read off learn steps, recorded or not
        row = steps_out[agent] if record_steps else np.full(k_total, -1, dtype=np.int64)
        fixed = _fixed_needs(s, quanta, learner, data, speed, equal_rates)
        ready = np.empty(k_total)
        _counting_agent(s, quanta, learner, prereq, data, learner.capacity[agent], speed,
                        min_cost, equal_costs, fixed, table, key_lo, 0, ckpt_time,
                        loss[agent], learned[agent], used[agent], row, True, ready)
        # Strengths: loss = Σ p_k b_k − Σ gain_k s_k, changes binned per checkpoint.
        logistic.events_strengths(s, quanta.p, quanta.gain, ready, row, fixed, quanta.eta,
                                  speed, learner.s0, equal_rates, quanta.base_loss,
                                  ckpt_time, table, key_lo, loss[agent], strength_out[agent])
    return loss, learned, used, steps_out, strength_out


@njit(cache=True, parallel=True)
def run_events_resource(states, quanta, learner, prereq, data, ckpt_time, record):
    """Resource family (online, reject, block prerequisites): event-driven
    (``acquisition/resource.py``)."""
    if (learner.acquisition != RESOURCE or data.dataset_size > 0
            or prereq.mode == PREREQ_SLOW or learner.policy == EVICT):
        raise ValueError("events: resource runs online, without evict or slow prerequisites")
    n_agents, n_ckpt, k_total = states.shape[0], ckpt_time.shape[0], quanta.p.shape[0]
    min_cost = quanta.cost.min()
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


def entry_for(acquisition: int):
    """The events entry kernel of a family code; ValueError for a code it does not know."""
    if acquisition == THRESHOLD or acquisition == GEOMETRIC:
        return run_events
    if acquisition == LOGISTIC:
        return run_events_logistic
    if acquisition == RESOURCE:
        return run_events_resource
    raise ValueError(f"events engine: unknown acquisition code {acquisition!r}")
