"""Exact engine: every sample is drawn and applied, one agent per parallel iteration.

Model (Michaud et al. 2023 with finite capacity). Quantum k needs ``need_k`` counted
exposures before it is *ready*, set by its dynamics family (``acquisition/``): threshold
need_k = ⌈τ_k f⌉; geometric need_k ~ Geometric(1/(τ_k f)), drawn once per agent; logistic
need_k = c½, the count at which its strength reaches ½ (strengths are evaluated from the
counts at checkpoints); resource: a countdown reset whenever the shared budget is
re-divided (O(K) per ready event). f is the agent's speed factor (1 unless a speed law is
set). A ready quantum is learned if its cost fits in
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

from collections import namedtuple

import numpy as np
from numba import njit, prange

from . import heap
from .acquisition import draw_need, logistic, resource
from .codes import (
    EVICT,
    EVICTED,
    FIT_RTOL,
    LEARNED,
    LOGISTIC,
    NEVER,
    NOT_READY,
    PREREQ_BLOCK,
    PREREQ_SLOW,
    READY,
    RESOURCE,
)
from .random import bounded_int, geometric_trials
from .sampling import alias_draw

NEVER = np.int64(NEVER)

# acc[]: running sums of an agent (float64)
ACC_USED = 0  # capacity used, cost units
ACC_LOSS = 1  # loss of the counting families, bits per sample
ACC_WEIGHT = 2  # resource family: progress per exposure, 1/U
# cnt[]: running counts of an agent (int64)
CNT_LEARNED = 0  # quanta learned (holding capacity)
CNT_HEAP = 1  # size of the evict heap

#: One agent's mutable state; arrays of length K unless noted (length 0 when unused).
#:   need      counted exposures at which k is ready (int64)
#:   rem       exposures to go before k's next event; need − rem = exposures counted
#:   state     NOT_READY, LEARNED, READY, EVICTED (uint8)
#:   learnable False for quanta a dataset holds too few examples of
#:   missing   prerequisites never learned yet
#:   counted   slow prerequisites: exposures counted so far (K when mode is slow)
#:   heap_key, heap_item, popped   evict heap over learned quanta (K under evict)
#:   acc, cnt  running sums and counts (ACC_*, CNT_*)
#:   learn_step  first-learn step (K when recorded)
#:   progress, rem_base   resource family: progress at the last reweighting and the
#:            countdown set then (K under resource)
AgentState = namedtuple("AgentState", [
    "need", "rem", "state", "learnable", "missing", "counted", "heap_key", "heap_item",
    "popped", "acc", "cnt", "learn_step", "progress", "rem_base"])


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
def _learn(k, step, st, quanta, prereq):
    """Mark k learned: capacity, loss, counts, evict heap; on its first acquisition record
    the step and release dependents whose last missing prerequisite this was.

    Only what every event needs is touched (state, cost, gain): learn steps and the
    prerequisite graph are read only when recorded / present, because each is another
    cache miss per event and events dominate the engine's cost beyond the sample loop."""
    first = st.state[k] == READY
    st.state[k] = LEARNED
    st.acc[ACC_USED] += quanta.cost[k]
    st.acc[ACC_LOSS] -= quanta.gain[k]
    st.cnt[CNT_LEARNED] += 1
    if st.heap_key.shape[0] > 0:
        st.cnt[CNT_HEAP] = heap.push(st.heap_key, st.heap_item, st.cnt[CNT_HEAP],
                                     st.need[k] - st.rem[k], -k)
    if not first:
        return
    if st.learn_step.shape[0] > 0:
        st.learn_step[k] = step
    if prereq.dep_idx.shape[0] > 0:
        for j in range(prereq.dep_ptr[k], prereq.dep_ptr[k + 1]):
            d = prereq.dep_idx[j]
            st.missing[d] -= 1
            if st.missing[d] == 0 and st.state[d] == NOT_READY and st.learnable[d]:
                if prereq.mode == PREREQ_BLOCK:
                    st.rem[d] = st.need[d]
                else:
                    st.rem[d] = st.need[d] - st.counted[d]
                if st.rem_base.shape[0] > 0:
                    st.rem_base[d] = st.rem[d]


@njit
def _try_acquire(k, step, cap, policy, st, quanta, prereq):
    """Ready quantum k asks for room: learn it, evict for it, or leave it READY."""
    room = cap * (1.0 + FIT_RTOL)
    cost = quanta.cost
    if st.acc[ACC_USED] + cost[k] <= room:
        _learn(k, step, st, quanta, prereq)
        return
    if policy != EVICT:
        return
    # Pop learned quanta, fewest exposures first, until k fits; all of them must have
    # strictly fewer exposures than k, otherwise nothing is evicted.
    need, rem = st.need, st.rem
    count_k = need[k] - rem[k]
    n_pop = 0
    freed = 0.0
    evicting = True
    while st.acc[ACC_USED] - freed + cost[k] > room:
        if st.cnt[CNT_HEAP] == 0:
            evicting = False
            break
        m, st.cnt[CNT_HEAP] = _heap_pop_min(st.heap_key, st.heap_item, st.cnt[CNT_HEAP],
                                            need, rem)
        st.popped[n_pop] = m
        n_pop += 1
        if need[m] - rem[m] >= count_k:
            evicting = False
            break
        freed += cost[m]
    if evicting:
        for i in range(n_pop):
            m = st.popped[i]
            st.state[m] = EVICTED
            st.acc[ACC_USED] -= cost[m]
            st.acc[ACC_LOSS] += quanta.gain[m]
            st.cnt[CNT_LEARNED] -= 1
        _learn(k, step, st, quanta, prereq)
    else:
        for i in range(n_pop):
            m = st.popped[i]
            st.cnt[CNT_HEAP] = heap.push(st.heap_key, st.heap_item, st.cnt[CNT_HEAP],
                                         need[m] - rem[m], -m)


@njit
def _exposures_counted(k, st, prereq_mode):
    """Counted exposures of k so far (logistic strength)."""
    if not st.learnable[k] or st.rem[k] == NEVER:
        return np.int64(0)
    if prereq_mode == PREREQ_SLOW and st.missing[k] > 0 and st.state[k] == NOT_READY:
        return st.counted[k]
    return st.need[k] - st.rem[k]


@njit
def _logistic_loss(st, quanta, learner, speed, prereq_mode, out_strength, ci):
    """base_loss − Σ_k gain_k s_k at the current counts; records s_k in
    ``out_strength[ci]`` when strengths are recorded."""
    loss = quanta.base_loss
    record = out_strength.shape[0] > 0
    for k in range(st.state.shape[0]):
        s_k = logistic.counted_strength(_exposures_counted(k, st, prereq_mode),
                                        st.state[k] == LEARNED, st.need[k],
                                        quanta.eta[k] / speed, learner.s0)
        loss -= quanta.gain[k] * s_k
        if record:
            out_strength[ci, k] = s_k
    return loss


@njit
def _new_agent(s, table, quanta, learner, prereq, data, speed, record_steps):
    """Draw the agent's needs (and dataset) and set up its state; returns (state, data)."""
    k_total = quanta.p.shape[0]
    acquisition = learner.acquisition
    evict = learner.policy == EVICT
    has_slow = prereq.mode == PREREQ_SLOW
    resource_law = acquisition == RESOURCE
    st = AgentState(
        np.empty(k_total, dtype=np.int64),
        np.empty(k_total, dtype=np.int64),
        np.zeros(k_total, dtype=np.uint8),
        np.ones(k_total, dtype=np.bool_),
        prereq.n_prereq.copy(),
        np.zeros(k_total if has_slow else 1, dtype=np.int64),
        np.empty(k_total if evict else 0, dtype=np.int64),
        np.empty(k_total if evict else 0, dtype=np.int64),
        np.empty(k_total if evict else 0, dtype=np.int64),
        np.zeros(3),
        np.zeros(2, dtype=np.int64),
        np.full(k_total if record_steps else 0, -1, dtype=np.int64),
        np.zeros(k_total if resource_law else 0),
        np.zeros(k_total if resource_law else 0, dtype=np.int64),
    )
    st.acc[ACC_LOSS] = quanta.base_loss
    for k in range(k_total):
        st.need[k] = draw_need(s, acquisition, quanta.tau[k], quanta.eta[k], learner.s0, speed)
    dataset_size = data.dataset_size
    samples = np.empty(dataset_size, dtype=np.int32)
    if dataset_size > 0:
        per_quantum = np.zeros(k_total, dtype=np.int64)
        for i in range(dataset_size):
            samples[i] = alias_draw(table, k_total, s)
            per_quantum[samples[i]] += 1
        # A quantum with fewer than ⌈τ_k⌉ distinct examples can never be learned.
        for k in range(k_total):
            st.learnable[k] = per_quantum[k] >= np.ceil(quanta.tau[k])
    for k in range(k_total):
        if not st.learnable[k] or (st.missing[k] > 0 and prereq.mode == PREREQ_BLOCK):
            st.rem[k] = NEVER
        elif st.missing[k] > 0 and has_slow:
            st.rem[k] = geometric_trials(s, prereq.slow_factor)
        else:
            st.rem[k] = st.need[k]
    if resource_law:
        # element loops, not slice copies: numba compiles a shape-mismatch error with
        # string formatting for an array-to-array slice assignment (~3 s of a cold compile)
        for k in range(k_total):
            st.rem_base[k] = st.rem[k]
        st.acc[ACC_WEIGHT] = resource.reweight_exact(st.state, st.rem, st.rem_base,
                                                     st.progress, quanta.tau, quanta.share,
                                                     speed, 0.0)
    return st, samples


@njit
def _run_agent(s, table, quanta, learner, prereq, data, cap, speed, ckpt_samples,
               out_loss, out_learned, out_used, out_steps, out_sets, out_strength):
    st, samples = _new_agent(s, table, quanta, learner, prereq, data, speed,
                             out_steps.shape[0] > 0)
    k_total = quanta.p.shape[0]
    evict = learner.policy == EVICT
    has_slow = prereq.mode == PREREQ_SLOW
    is_logistic = learner.acquisition == LOGISTIC
    resource_law = learner.acquisition == RESOURCE
    dataset_size = data.dataset_size
    batch_size = data.batch_size
    rem, state = st.rem, st.state
    # Samples are consumed in long runs up to the next checkpoint (or epoch end) and only
    # events leave the tight loop; the step of an event is recovered from its sample index.
    online = dataset_size == 0
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
                        samples[i], samples[j] = samples[j], samples[i]
                    pos = 0
                n_used, k = _replay_until_event(samples, pos, rem, state,
                                                min(n, dataset_size - pos), evict)
                pos += n_used
            consumed += n_used
            if k < 0:
                continue
            became_ready = False
            if rem[k] == 0:
                if has_slow and st.missing[k] > 0 and state[k] == NOT_READY:
                    st.counted[k] += 1
                    if st.counted[k] < st.need[k]:
                        rem[k] = geometric_trials(s, prereq.slow_factor)
                        continue
                state[k] = READY
                became_ready = True
            step = _step_of_sample(consumed, dataset_size, batch_size, steps_per_epoch)
            _try_acquire(k, step, cap, learner.policy, st, quanta, prereq)
            if resource_law and became_ready:
                st.acc[ACC_WEIGHT] = resource.reweight_exact(
                    state, rem, st.rem_base, st.progress, quanta.tau, quanta.share, speed,
                    st.acc[ACC_WEIGHT])
        out_used[ci] = st.acc[ACC_USED]
        out_learned[ci] = st.cnt[CNT_LEARNED]
        if is_logistic:
            out_loss[ci] = _logistic_loss(st, quanta, learner, speed, prereq.mode,
                                          out_strength, ci)
        else:
            out_loss[ci] = st.acc[ACC_LOSS]
        if out_sets.shape[0] > 0:
            for k in range(k_total):
                out_sets[ci, k] = state[k] == LEARNED
    if out_steps.shape[0] > 0:
        for k in range(k_total):
            out_steps[k] = st.learn_step[k]


@njit(cache=True, parallel=True)
def run_exact(states, table, quanta, learner, prereq, data, ckpt_samples, record):
    """Simulate A = len(states) agents sample by sample.

    Inputs (see ``kernels.inputs``): ``states`` uint64[A, 4] xoshiro256** states; ``table``
    packed alias table uint64[K]; ``quanta`` QuantaInputs; ``learner`` LearnerInputs
    (capacity and speed float64[A]); ``prereq`` PrereqInputs; ``data`` DataInputs;
    ``ckpt_samples`` int64[C], increasing sample counts; ``record`` Recording flags.

    Returns (loss float64[A, C] bits per sample; learned int64[A, C] quanta holding
    capacity; used float64[A, C] cost units; first-learn step int64[A, K] (−1 never; shape
    (A, 0) unless recorded); learned sets bool[A, C, K] ((A, 0, 0) unless recorded); logistic
    strengths float64[A, C, K] ((A, 0, 0) unless recorded; the counting families' strengths
    are their learned sets)). Loss is Σ_k p_k (b_k − (b_k − a_k) s_k),
    s_k ∈ {0, 1} for the counting families and the logistic strength otherwise.
    """
    n_agents = states.shape[0]
    n_ckpt = ckpt_samples.shape[0]
    k_total = quanta.p.shape[0]
    loss = np.empty((n_agents, n_ckpt))
    learned = np.empty((n_agents, n_ckpt), dtype=np.int64)
    used = np.empty((n_agents, n_ckpt))
    steps_out = np.full((n_agents, k_total if record.learn_steps else 0), -1, dtype=np.int64)
    sets_out = np.zeros((n_agents, n_ckpt if record.learned_sets else 0,
                         k_total if record.learned_sets else 0), dtype=np.bool_)
    record_strength = record.strength and learner.acquisition == LOGISTIC
    strength_out = np.zeros((n_agents, n_ckpt if record_strength else 0,
                             k_total if record_strength else 0))
    for agent in prange(n_agents):
        s = states[agent].copy()
        _run_agent(s, table, quanta, learner, prereq, data, learner.capacity[agent],
                   learner.speed[agent], ckpt_samples, loss[agent], learned[agent],
                   used[agent], steps_out[agent], sets_out[agent], strength_out[agent])
    return loss, learned, used, steps_out, sets_out, strength_out
