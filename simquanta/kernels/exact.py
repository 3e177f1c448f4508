"""Exact engine: every sample is drawn and applied, one agent per parallel iteration.

Model (Michaud et al. 2023 with finite capacity). Quantum k needs ``need_k`` counted
exposures before it is *ready* (threshold rule: need_k = ⌈τ_k⌉; geometric rule: each
exposure succeeds with probability 1/τ_k, which is the same as drawing
need_k ~ Geometric(1/τ_k) once per agent). A ready quantum is learned if its cost fits in
the remaining capacity; otherwise ``reject`` leaves it unlearned for good, and ``evict``
lets it replace learned quanta with strictly fewer exposures (fewest first, ties: the
larger index), re-trying at each of its later exposures.

Hot loop. ``rem[k]`` holds the exposures still to go before the next event of quantum k,
so a sample costs one alias draw, one decrement and one compare. Events (rem reaching 0)
are rare: a quantum becoming ready, or, for a quantum slowed by an unlearned prerequisite,
its next counted exposure. Blocked and unlearnable quanta get rem = NEVER.

Prerequisites. ``missing[k]`` counts prerequisites of k never learned yet. ``block``: no
exposure counts while missing > 0. ``slow``: each exposure counts with probability f
(the gap to the next counted one is Geometric(f)). When the last prerequisite is first
learned, counting continues normally from the exposures counted so far.

Exposure count used by ``evict``: count_k = need_k − rem_k for unblocked quanta.

Random stream per agent, in order (replayed by tests/naive.py): need draws (geometric rule,
k = 0..K−1), dataset draws, initial slow gaps (k = 0..K−1, learnable with missing > 0),
then per epoch a Fisher–Yates shuffle, then samples and slow gaps as they occur.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import heap
from .codes import (
    EVICT,
    FIT_RTOL,
    GEOMETRIC,
    PREREQ_BLOCK,
    PREREQ_SLOW,
)
from .random import bounded_int, geometric_trials
from .sampling import alias_draw

NEVER = np.int64(4_000_000_000_000_000_000)

# quantum states
NOT_READY = 0
LEARNED = 1
READY = 2  # ready, never learned yet (rejected or waiting for room)
EVICTED = 3  # ready, learned before and evicted since



# ---------------------------------------------------------------- evict: lazy min-heap
# Learned quanta keyed by (exposure count, −index). Counts only grow, so a stored key is
# a lower bound of the true key: refreshing the root until it is current yields the true
# minimum (amortised O(log K) per refresh, and refreshes happen only on evict attempts).


@njit
def _heap_pop_min(heap_key, heap_item, size, need, rem):
    """Remove and return the learned quantum with the fewest exposures (current keys)."""
    while True:
        k = -heap_item[0]
        current = need[k] - rem[k]
        if heap_key[0] == current:
            break
        heap_key[0] = current
        heap.sift_down(heap_key, heap_item, size, 0)
    _, _, size = heap.pop(heap_key, heap_item, size)
    return k, size


# ---------------------------------------------------------------- hot loops
# Kept tiny and separate from the event handling so the compiler keeps the sample loop in
# registers: one alias draw (or one array read), one decrement, one compare per sample.


@njit
def _draw_until_event(s, table, k_total, rem, state, n, evict):
    """Draw up to n samples; stop after the first that triggers an event (a quantum's
    rem reaching 0, or under evict an exposure of a ready, unlearned quantum).
    Returns (samples consumed, quantum or −1)."""
    for i in range(n):
        k = alias_draw(table, k_total, s)
        r = rem[k] - 1
        rem[k] = r
        if r == 0 or (evict and r < 0 and state[k] >= READY):
            return i + 1, k
    return n, np.int64(-1)


@njit
def _replay_until_event(data, pos, rem, state, n, evict):
    """As _draw_until_event, reading samples data[pos], data[pos + 1], ..."""
    for i in range(n):
        k = np.int64(data[pos + i])
        r = rem[k] - 1
        rem[k] = r
        if r == 0 or (evict and r < 0 and state[k] >= READY):
            return i + 1, k
    return n, np.int64(-1)


@njit(inline="always")
def _step_of_sample(i, dataset_size, batch_size, steps_per_epoch):
    """Step (1-based) in which the i-th sample (1-based) is presented."""
    if dataset_size == 0:
        return (i - 1) // batch_size + 1
    epoch = (i - 1) // dataset_size
    within = i - epoch * dataset_size
    return epoch * steps_per_epoch + (within - 1) // batch_size + 1


# ---------------------------------------------------------------- one agent


@njit
def _learn(k, step, acc, cnt, state, need, rem, counted, missing, cost, gain, dep_ptr, dep_idx,
           heap_key, heap_item, learn_step, prereq_mode, learnable):
    """Mark k learned. acc = [capacity used, loss]; cnt = [number learned, heap size].

    Only what every event needs is touched (state, cost, gain): learn steps and the
    prerequisite graph are read only when recorded / present, because each is another
    cache miss per event and events dominate the engine's cost beyond the sample loop."""
    first = state[k] == READY
    state[k] = LEARNED
    acc[0] += cost[k]
    acc[1] -= gain[k]
    cnt[0] += 1
    if heap_key.shape[0] > 0:
        cnt[1] = heap.push(heap_key, heap_item, cnt[1], need[k] - rem[k], -k)
    if not first:
        return
    if learn_step.shape[0] > 0:
        learn_step[k] = step
    if dep_idx.shape[0] > 0:
        # First acquisition releases dependents whose last missing prerequisite this was.
        for j in range(dep_ptr[k], dep_ptr[k + 1]):
            d = dep_idx[j]
            missing[d] -= 1
            if missing[d] == 0 and state[d] == NOT_READY and learnable[d]:
                if prereq_mode == PREREQ_BLOCK:
                    rem[d] = need[d]
                else:
                    rem[d] = need[d] - counted[d]


@njit
def _try_acquire(k, step, cap, policy, acc, cnt, state, need, rem, counted, missing, cost,
                 gain, dep_ptr, dep_idx, heap_key, heap_item, popped, learn_step,
                 prereq_mode, learnable):
    """Ready quantum k asks for room: learn it, evict for it, or leave it READY."""
    room = cap * (1.0 + FIT_RTOL)
    if acc[0] + cost[k] <= room:
        _learn(k, step, acc, cnt, state, need, rem, counted, missing, cost, gain, dep_ptr,
               dep_idx, heap_key, heap_item, learn_step, prereq_mode, learnable)
        return
    if policy != EVICT:
        return
    # Pop learned quanta, fewest exposures first, until k fits; all of them must have
    # strictly fewer exposures than k, otherwise nothing is evicted.
    count_k = need[k] - rem[k]
    n_pop = 0
    freed = 0.0
    evicting = True
    while acc[0] - freed + cost[k] > room:
        if cnt[1] == 0:
            evicting = False
            break
        m, cnt[1] = _heap_pop_min(heap_key, heap_item, cnt[1], need, rem)
        popped[n_pop] = m
        n_pop += 1
        if need[m] - rem[m] >= count_k:
            evicting = False
            break
        freed += cost[m]
    if evicting:
        for i in range(n_pop):
            m = popped[i]
            state[m] = EVICTED
            acc[0] -= cost[m]
            acc[1] += gain[m]
            cnt[0] -= 1
        _learn(k, step, acc, cnt, state, need, rem, counted, missing, cost, gain, dep_ptr,
               dep_idx, heap_key, heap_item, learn_step, prereq_mode, learnable)
    else:
        for i in range(n_pop):
            m = popped[i]
            cnt[1] = heap.push(heap_key, heap_item, cnt[1], need[m] - rem[m], -m)


@njit
def _run_agent(s, table, p, tau, acquisition, cost, gain, base_loss, cap, policy,
               n_prereq, dep_ptr, dep_idx, prereq_mode, slow_factor,
               dataset_size, batch_size, ckpt_samples, out_loss, out_learned, out_used,
               learn_step, out_sets):
    k_total = p.shape[0]
    need = np.empty(k_total, dtype=np.int64)
    rem = np.empty(k_total, dtype=np.int64)
    state = np.zeros(k_total, dtype=np.uint8)
    learnable = np.ones(k_total, dtype=np.bool_)
    missing = n_prereq.copy()
    has_slow = prereq_mode == PREREQ_SLOW
    counted = np.zeros(k_total if has_slow else 1, dtype=np.int64)
    evict = policy == EVICT
    heap_key = np.empty(k_total if evict else 0, dtype=np.int64)
    heap_item = np.empty(k_total if evict else 0, dtype=np.int64)
    popped = np.empty(k_total if evict else 0, dtype=np.int64)
    acc = np.zeros(2)  # capacity used, loss (bits per sample)
    acc[1] = base_loss
    cnt = np.zeros(2, dtype=np.int64)  # number learned, evict-heap size

    for k in range(k_total):
        if acquisition == GEOMETRIC:
            need[k] = geometric_trials(s, 1.0 / tau[k])
        else:
            need[k] = np.int64(np.ceil(tau[k]))

    online = dataset_size == 0
    data = np.empty(0 if online else dataset_size, dtype=np.int32)
    if not online:
        per_quantum = np.zeros(k_total, dtype=np.int64)
        for i in range(dataset_size):
            data[i] = alias_draw(table, k_total, s)
            per_quantum[data[i]] += 1
        # A quantum with fewer than ⌈τ_k⌉ distinct examples can never be learned.
        for k in range(k_total):
            learnable[k] = per_quantum[k] >= np.ceil(tau[k])

    for k in range(k_total):
        if not learnable[k] or (missing[k] > 0 and prereq_mode == PREREQ_BLOCK):
            rem[k] = NEVER
        elif missing[k] > 0 and has_slow:
            rem[k] = geometric_trials(s, slow_factor)
        else:
            rem[k] = need[k]

    # Samples are consumed in long runs up to the next checkpoint (or epoch end) and only
    # events leave the tight loop; the step of an event is recovered from its sample index.
    steps_per_epoch = (dataset_size + batch_size - 1) // batch_size if not online else 0
    consumed = 0  # samples presented so far
    pos = dataset_size  # position in the current epoch's order (dataset regime)
    for ci in range(ckpt_samples.shape[0]):
        while consumed < ckpt_samples[ci]:
            n = ckpt_samples[ci] - consumed
            if online:
                n_used, k = _draw_until_event(s, table, k_total, rem, state, n, evict)
            else:
                if pos >= dataset_size:  # new epoch: reshuffle (Fisher–Yates)
                    for i in range(dataset_size - 1, 0, -1):
                        j = bounded_int(s, i + 1)
                        data[i], data[j] = data[j], data[i]
                    pos = 0
                n_used, k = _replay_until_event(data, pos, rem, state,
                                                min(n, dataset_size - pos), evict)
                pos += n_used
            consumed += n_used
            if k < 0:
                continue
            if rem[k] == 0:
                if has_slow and missing[k] > 0 and state[k] == NOT_READY:
                    counted[k] += 1
                    if counted[k] < need[k]:
                        rem[k] = geometric_trials(s, slow_factor)
                        continue
                state[k] = READY
            step = _step_of_sample(consumed, dataset_size, batch_size, steps_per_epoch)
            _try_acquire(k, step, cap, policy, acc, cnt, state, need, rem, counted,
                         missing, cost, gain, dep_ptr, dep_idx, heap_key, heap_item,
                         popped, learn_step, prereq_mode, learnable)
        out_used[ci] = acc[0]
        out_loss[ci] = acc[1]
        out_learned[ci] = cnt[0]
        if out_sets.shape[0] > 0:
            for k in range(k_total):
                out_sets[ci, k] = state[k] == LEARNED


@njit(cache=True, parallel=True)
def run_exact(states, table, p, tau, acquisition, cost, gain, base_loss, capacity, policy,
              n_prereq, dep_ptr, dep_idx, prereq_mode, slow_factor,
              dataset_size, batch_size, ckpt_samples, record_steps, record_sets):
    """Simulate len(states) agents up to each checkpoint's sample count ``ckpt_samples``
    (int64, increasing); returns loss, learned, used (agents × checkpoints) and the
    first-learn step per agent and quantum (−1 = never; shape (agents, 0) if not recorded)
    and, with ``record_sets``, the learned set at every checkpoint (bool[agents, C, K];
    shape (agents, 0, 0) otherwise) — what ``evict`` leaves learned, which first-learn steps
    cannot tell.

    Loss is Σ_k p_k ℓ_k in bits per sample with ℓ_k = a_k if learned else b_k; it is kept
    as base_loss − Σ_{learned} gain_k with gain_k = p_k (b_k − a_k).
    """
    n_agents = states.shape[0]
    n_ckpt = ckpt_samples.shape[0]
    k_total = p.shape[0]
    loss = np.empty((n_agents, n_ckpt))
    learned = np.empty((n_agents, n_ckpt), dtype=np.int64)
    used = np.empty((n_agents, n_ckpt))
    steps_out = np.full((n_agents, k_total if record_steps else 0), -1, dtype=np.int64)
    sets_out = np.zeros((n_agents, n_ckpt if record_sets else 0, k_total if record_sets else 0),
                        dtype=np.bool_)
    for agent in prange(n_agents):
        s = states[agent].copy()
        row = steps_out[agent]  # length 0 when not recorded
        _run_agent(s, table, p, tau, acquisition, cost, gain, base_loss, capacity[agent],
                   policy, n_prereq, dep_ptr, dep_idx, prereq_mode, slow_factor,
                   dataset_size, batch_size, ckpt_samples,
                   loss[agent], learned[agent], used[agent], row, sets_out[agent])
    return loss, learned, used, steps_out, sets_out
