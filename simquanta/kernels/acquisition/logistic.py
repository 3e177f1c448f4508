"""Logistic family (Nam, Fonseca, Lee, Mingard & Louis 2024, "An exactly solvable model for
emergence and scaling laws", arXiv 2404.17563): each quantum has a continuous strength.

Strength after c counted exposures, with rate η_k per exposure (η_k / f for an agent with
speed factor f) and initial strength s0 ∈ (0, ½):

    s(c) = 1 / (1 + (1/s0 − 1) · exp(−η_k c)),

the exact solution of ds/dc = η_k s (1 − s) at integer counts. A sample that uses k costs
b_k − (b_k − a_k)·s_k bits, so an agent's loss is Σ_k p_k b_k − Σ_k gain_k s_k with
gain_k = p_k (b_k − a_k).

Capacity (discrete slots held by quanta past strength ½). k asks for a slot of cost c_k at
its c½-th exposure, c½ = max(1, ⌈ln(1/s0 − 1)/η_k⌉), the first count at which s ≥ ½;
capacity policies act on that event exactly as on the threshold rule's ready event. A quantum
that holds no slot keeps growing only up to s(c½ − 1) < ½: below ½ its strength stands for
partial, shared features that need no dedicated capacity; past ½ the model represents it,
which is what capacity bounds (n = N / C quanta in Michaud et al.). With unlimited capacity
the cap never binds and E[s_k] = E[s(c_k)], c_k ~ Binomial(n, p_k) (exact engine) or
Poisson(n p_k) (events engine). ``learned`` counts quanta holding a slot, i.e. s_k ≥ ½.

Events engine (online, no prerequisites, reject or unlimited capacity). The slot time is the
c½-th arrival of a rate-p_k Poisson process, T = Gamma(c½)/p_k. Given T, the c½ − 1 earlier
arrivals are uniform on [0, T] (order statistics); arrivals after T form a fresh Poisson
process, whose counts at the checkpoints after T are drawn as Poisson increments until the
strength saturates (1 − s < 1e−17 after c_sat exposures). Each quantum costs c½ − 1 uniform
draws (fewer, Binomial-thinned, when T lies beyond the run) plus one Poisson draw per
checkpoint between T and saturation — independent of the number of samples; loss changes are
accumulated per checkpoint.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..checkpoints import checkpoint_index
from ..random import binomial, poisson, uniform_open0

#: 1 − s(c) below this (relative) is 1 in double precision: stop drawing exposures
_SATURATION_LOG = 39.0


@njit(inline="always")
def strength(c, eta_eff, s0):
    """s(c) = 1 / (1 + (1/s0 − 1) e^{−η c}), dimensionless in (0, 1)."""
    return 1.0 / (1.0 + (1.0 / s0 - 1.0) * np.exp(-eta_eff * c))


@njit(inline="always")
def half_count(eta_k, s0, speed):
    """c½ = max(1, ⌈ln(1/s0 − 1) / (η_k / f)⌉): the exposures at which s reaches ½."""
    return np.int64(max(1.0, np.ceil(np.log(1.0 / s0 - 1.0) * speed / eta_k)))


@njit(inline="always")
def saturation_count(eta_eff, s0):
    """Exposures beyond which 1 − s(c) < e^{−39} ≈ 1e−17: strength is 1 in double."""
    return np.int64(np.ceil((np.log(1.0 / s0 - 1.0) + _SATURATION_LOG) / eta_eff))


@njit
def strength_table(eta_eff, s0):
    """s(c) for c = 0 .. c_sat (float64[c_sat + 1]): one exp per count, shared by every
    quantum of an agent when η is the same for all of them."""
    table = np.empty(saturation_count(eta_eff, s0) + 1)
    for c in range(table.shape[0]):
        table[c] = strength(c, eta_eff, s0)
    return table


@njit(inline="always")
def _lookup(c, eta_eff, s0, table):
    """s(c), from ``table`` when it covers c (empty table: computed)."""
    if c < table.shape[0]:
        return table[c]
    return strength(c, eta_eff, s0)


@njit
def counted_strength(count, holds_slot, chalf, eta_eff, s0):
    """Strength of a quantum with ``count`` counted exposures: s(count) while it holds a
    slot, else s(min(count, c½ − 1)) (the cap of a quantum without capacity)."""
    if not holds_slot and count > chalf - 1:
        count = chalf - 1
    if count <= 0:
        return s0
    return strength(count, eta_eff, s0)


@njit
def _binomial_small(s, m, q):
    """Binomial(m, q) by inversion from one uniform, for the few arrivals before a slot
    time beyond the run (q = t_end / T, usually tiny): (1 − q)^m ≥ 1 − m q, so a uniform
    below 1 − m q is 0 without computing (1 − q)^m; m > 64 goes to ``random.binomial``."""
    if m > 64:
        return binomial(s, m, q)
    u = uniform_open0(s)
    if u <= 1.0 - m * q:
        return np.int64(0)
    px = np.exp(m * np.log1p(-q))
    x = 0
    while u > px and x < m:
        u -= px
        x += 1
        px = px * (m - x + 1) * q / (x * (1.0 - q))
    return np.int64(x)


@njit
def _sort_small(a, n):
    """Insertion sort of a[:n] (n ≤ c½ − 1, a handful of values)."""
    for i in range(1, n):
        x = a[i]
        j = i - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@njit
def events_strength(s, p_k, gain_k, ready_k, holds_slot, chalf, eta_eff, s0, stab, ckpt_time,
                    table, key_lo, delta, scratch, strength_col):
    """Draw quantum k's exposure times up to the last checkpoint (or saturation) given its
    slot time ``ready_k`` (the c½-th arrival) and add gain_k · Δs at each strength change
    to ``delta[checkpoint of the change]``. ``strength_col`` (length C, or 0 when not
    recorded) receives s_k at every checkpoint. ``table``/``key_lo`` bin times into
    checkpoints (``checkpoints.build_bin_table``); ``stab`` is ``strength_table(η, s0)`` or
    empty; ``scratch`` holds ≥ c½ − 1 floats."""
    n_ckpt = ckpt_time.shape[0]
    t_end = ckpt_time[n_ckpt - 1]
    record = strength_col.shape[0] > 0
    filled = 0  # checkpoints of strength_col already written
    s_cur = s0
    # Arrivals before the slot time: c½ − 1 uniform points on [0, T]; only those ≤ t_end.
    m = chalf - 1
    if ready_k > t_end:
        m = _binomial_small(s, m, t_end / ready_k)
        span = t_end
    else:
        span = ready_k
    if span <= ckpt_time[0] and m > 0:
        # every earlier arrival falls in the first checkpoint: only the total matters
        s_new = _lookup(m, eta_eff, s0, stab)
        delta[0] += gain_k * (s_new - s_cur)
        s_cur = s_new
        m = 0
    for i in range(m):
        scratch[i] = span * uniform_open0(s)
    _sort_small(scratch, m)
    c = 0
    for i in range(m):
        c += 1
        s_new = _lookup(c, eta_eff, s0, stab)
        ci = checkpoint_index(scratch[i], ckpt_time, table, key_lo)
        delta[ci] += gain_k * (s_new - s_cur)
        if record:
            while filled < ci:
                strength_col[filled] = s_cur
                filled += 1
        s_cur = s_new
    if holds_slot and ready_k <= t_end:
        c_sat = saturation_count(eta_eff, s0)
        t = ready_k
        c = chalf
        ci = checkpoint_index(t, ckpt_time, table, key_lo)
        s_new = _lookup(c, eta_eff, s0, stab)
        delta[ci] += gain_k * (s_new - s_cur)
        if record:
            while filled < ci:
                strength_col[filled] = s_cur
                filled += 1
        s_cur = s_new
        # Poisson increments per checkpoint interval until saturation: after the slot,
        # strength only matters at checkpoints, and log-spaced checkpoints reach
        # saturation (≈ (c_sat − c½)/p_k samples on) within a few intervals.
        t_prev = t
        for cj in range(ci, n_ckpt):
            if c >= c_sat:
                break
            lam = p_k * (ckpt_time[cj] - t_prev)
            short = c_sat - c
            if lam >= short + 10.0 * np.sqrt(lam) + 45.0:
                # P(Poisson(λ) < short) < 1e−20 here: saturated, strength 1 in double.
                c = c_sat
            else:
                c += poisson(s, lam)
            t_prev = ckpt_time[cj]
            s_new = _lookup(c, eta_eff, s0, stab)
            delta[cj] += gain_k * (s_new - s_cur)
            if record:
                while filled < cj:
                    strength_col[filled] = s_cur
                    filled += 1
            s_cur = s_new
    if record:
        while filled < n_ckpt:
            strength_col[filled] = s_cur
            filled += 1
