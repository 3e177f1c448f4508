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
c½-th arrival of a rate-p_k Poisson process, T = Gamma(c½)/p_k (drawn by the caller). Given
T, the c½ − 1 earlier arrivals are uniform on [0, T] (order statistics); arrivals after T
form a fresh Poisson process. Strength is only observed at checkpoints, so only the count at
each checkpoint is drawn: the earlier arrivals are drawn as times and counted against the
checkpoints from the slot's down until none is left (no sort; when T lies beyond the run and
few are expected, a Binomial-thinned number of them, usually from one uniform), and after T
one Poisson increment per checkpoint interval until the strength is 1.0 in double precision
(``saturation_count``: further exposures cannot change any output). The increments come from
per-agent tables of Poisson CDFs (``poisson_tables``); the two approximations, both below
1e−18 per draw, are the saturation shortcut (a count still short of saturation with
P < 1e−20 is taken as saturated) and the tail of the fractional-mean table (P < 1e−24).
Cost per quantum ≈ c½ − 1 uniforms plus one count draw per checkpoint between T and
saturation — independent of the number of samples; loss changes are accumulated per
checkpoint.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..checkpoints import checkpoint_index
from ..random import next_u64_regs, open0_from_bits

#: ln 2^53 minus a margin: below about this many e-folds 1 + (1/s0 − 1)e^{−ηc} is not yet 1
_SATURATION_LOG = 36.5
#: Poisson draws with λ below this invert the CDF from 0 (≈ λ cheap steps); above, PTRS
_PTRS_MIN_LAMBDA = 10.0
#: ln k! for k < _N_LOG_FACT (PTRS's rare exact test; lgamma costs ~50 ns)
_N_LOG_FACT = 1024
_LOG_FACT = np.array([math.lgamma(k + 1.0) for k in range(_N_LOG_FACT)])
#: 1/k for k < _N_INV (the inversion's pmf recursion multiplies instead of dividing)
_N_INV = 128
_INV = np.array([0.0] + [1.0 / k for k in range(1, _N_INV)])
#: P(Poisson(λ) < short) below this counts as saturated: no draw (≈ ln 1e−20 = −46)
_SATURATED_TAIL = 1e-20
#: guide-table buckets per row of the Poisson CDF tables (fine enough that most buckets hold
#: no CDF value: a uniform there is answered by the guide alone; 1024 rather than 256 saves
#: ~2.5 % at 10^10 samples — fewer searches, each a mispredicted branch — and the tables stay
#: in L2)
_GUIDE = 1024
#: the fractional part of a Poisson mean is tabled in steps of 1/_FRACTIONS …
_FRACTIONS = 64
#: … to this many counts (P(Poisson(1) ≥ 24) ≈ 7e−25)
_FRACTION_COLS = 24
#: the Poisson CDF tables are built per agent when they hold at most this many entries …
_MAX_TABLE = 1 << 16
#: … and the agent has at least this many quanta per entry's worth of build time
_TABLE_MIN_QUANTA_PER_ENTRY = 1 / 16


@njit(inline="always")
def strength(c, eta_eff, s0):
    """s(c) = 1 / (1 + (1/s0 − 1) e^{−η c}), dimensionless in (0, 1]."""
    return 1.0 / (1.0 + (1.0 / s0 - 1.0) * np.exp(-eta_eff * c))


@njit(inline="always")
def half_count(eta_k, s0, speed):
    """c½ = max(1, ⌈ln(1/s0 − 1) / (η_k / f)⌉): the exposures at which s reaches ½."""
    return np.int64(max(1.0, np.ceil(np.log(1.0 / s0 - 1.0) * speed / eta_k)))


@njit
def saturation_count(eta_eff, s0):
    """A count c_sat at which ``strength`` is exactly 1.0 in double precision (the first one,
    or a few past it for tiny η). Every operation in ``strength`` rounds monotonically, so
    s(c) = 1.0 for all c ≥ c_sat: exposures beyond c_sat cannot change a strength, a loss or
    anything recorded, and the events engine stops drawing them (an exact shortcut)."""
    c = max(0.0, np.floor((np.log(1.0 / s0 - 1.0) + _SATURATION_LOG) / eta_eff))
    while strength(c, eta_eff, s0) < 1.0:
        c += 1.0
    return np.int64(c)


@njit
def strength_table(eta_eff, s0):
    """s(c) for c = 0 .. c_sat (float64[c_sat + 1]): one exp per count, shared by every
    quantum of an agent when η is the same for all of them."""
    table = np.empty(saturation_count(eta_eff, s0) + 1)
    table[0] = s0  # (the formula can be an ulp off at c = 0)
    for c in range(1, table.shape[0]):
        table[c] = strength(c, eta_eff, s0)
    return table


@njit(inline="always")
def _s_of(c, stab, n_stab, eta_eff, s0):
    """s(c) (s0 at c = 0): from ``stab`` when it covers c (shared η), else computed."""
    if c < n_stab:
        return stab[c]
    if c == 0:
        return s0
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


# ---------------------------------------------------------------- events engine
# The per-quantum work below runs ~10^5 times per agent, so the agent's xoshiro state is held
# in four local variables (r0..r3) for the whole agent and every draw returns it updated
# (the ``next_u64_regs`` pattern of ``kernels.random``): through the uint64[4] array each
# draw would wait on a store and a reload.


@njit(inline="always")
def _uniform(r0, r1, r2, r3):
    """Uniform on (0, 1] and the advanced state."""
    bits, r0, r1, r2, r3 = next_u64_regs(r0, r1, r2, r3)
    return open0_from_bits(bits), r0, r1, r2, r3


@njit(inline="always")
def _log_factorial(k):
    """ln k! (table below _N_LOG_FACT: the same numbers as math.lgamma(k + 1))."""
    if k < _N_LOG_FACT:
        return _LOG_FACT[np.int64(k)]
    return math.lgamma(k + 1.0)


@njit(inline="always")
def _poisson_capped(lam, cap, r0, r1, r2, r3):
    """min(Poisson(λ), cap), cap ≥ 1, and the advanced state.

    Small λ (or small cap): inversion of the CDF from 0 with one uniform, stopped at cap —
    about min(λ, cap) multiply-adds after one exp, where the multiplication method would
    draw λ + 1 uniforms. Otherwise Hörmann's (1993) PTRS, the algorithm of
    ``random.poisson`` (and numpy) step for step, with ln λ computed only in its rare exact
    test and ln k! from a table: the same variates from the same uniforms."""
    if lam < _PTRS_MIN_LAMBDA or cap < _PTRS_MIN_LAMBDA:
        u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
        px = np.exp(-lam)  # P(X = x), x = 0, 1, ...
        x = 0
        while x < cap and u > px:
            u -= px
            x += 1
            px *= lam * _INV[x] if x < _N_INV else lam / x
        return np.int64(x), r0, r1, r2, r3
    slam = np.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
        v, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
        u -= 0.5
        us = 0.5 - np.abs(u)
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            break
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        if (np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b)
                <= -lam + k * np.log(lam) - _log_factorial(k)):
            break
    return np.int64(min(k, float(cap))), r0, r1, r2, r3


@njit(inline="always")
def _binomial_thin(m, q, r0, r1, r2, r3):
    """Binomial(m, q) and the advanced state when m q is small (the arrivals before a slot
    time beyond the run, q = t_end / T): inversion from one uniform, and since
    (1 − q)^m ≥ 1 − m q a uniform below 1 − m q is 0 without computing (1 − q)^m."""
    u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
    if u <= 1.0 - m * q:
        return np.int64(0), r0, r1, r2, r3
    px = np.exp(m * np.log1p(-q))
    x = 0
    while u > px and x < m:
        u -= px
        x += 1
        px = px * (m - x + 1) * q / (x * (1.0 - q))
    return np.int64(x), r0, r1, r2, r3


class PoissonTables(NamedTuple):
    """Tables for the post-slot Poisson increments (``poisson_tables``)."""

    lam_sat: np.ndarray  # float64[cols + 1]
    cdf: np.ndarray  # float64[R, cols + 1]
    guide: np.ndarray  # int16[R, _GUIDE]
    fcdf: np.ndarray  # float64[_FRACTIONS, _FRACTION_COLS + 1]
    fguide: np.ndarray  # int16[_FRACTIONS, _GUIDE]


@njit
def _cdf_table(means, cols):
    """Poisson CDFs for the given means: cdf[i, x] = P(Poisson(means[i]) ≤ x) for
    x < cols and cdf[i, cols] = 1 (the sentinel that ends every search), and a guide for
    their inversion, x = the least x with u ≤ cdf[i, x] for a uniform u: bucket
    g = ⌊u · _GUIDE⌋ holds x_g = the least x with cdf[i, x] ≥ g / _GUIDE, stored as x_g when
    cdf[i, x_g] ≥ (g + 1) / _GUIDE (every u in the bucket inverts to x_g) and as −x_g − 1
    (search upward from x_g) when a CDF value falls inside the bucket. The CDFs are running
    sums of the pmf recursion e^{−λ} λ^x / x!, so their rounding error (~1e−16) is that of
    any floating-point inversion."""
    rows = means.shape[0]
    cdf = np.empty((rows, cols + 1))
    guide = np.empty((rows, _GUIDE), dtype=np.int16)
    for i in range(rows):
        px = np.exp(-means[i])
        acc = 0.0
        for x in range(cols):
            acc += px
            cdf[i, x] = acc
            px *= means[i] / (x + 1.0)
        cdf[i, cols] = 1.0
        x = 0
        for g in range(_GUIDE):
            while cdf[i, x] < g / _GUIDE:
                x += 1
            pure = cdf[i, x] >= min((g + 1) / _GUIDE, 1.0)
            guide[i, g] = x if pure else -x - 1
    return cdf, guide


@njit(inline="always")
def _bucket(u):
    """Guide bucket of a uniform u ∈ (0, 1] (u = 1 goes to the last)."""
    return min(np.int64(u * _GUIDE), _GUIDE - 1)


@njit
def poisson_tables(cols):
    """Per-agent tables for the post-slot increments min(Poisson(λ), short), short ≤ cols.

    - ``lam_sat`` float64[cols + 1]: lam_sat[short] = the least integer n with
      P(Poisson(n) < short) < 1e−20. P(Poisson(λ) < short) decreases in λ, so for
      λ ≥ lam_sat[short] the count reaches ``short`` except with probability < 1e−20 — the
      engine then takes it as reached without a draw (the one documented shortcut).
    - ``cdf``, ``guide``: ``_cdf_table`` of the integer means n < lam_sat[cols] (every mean
      below the shortcut), columns 0 .. cols (the last: "cols or more").
    - ``fcdf``, ``fguide``: ``_cdf_table`` of the means i / _FRACTIONS, i < _FRACTIONS,
      to _FRACTION_COLS columns: P(Poisson(1) ≥ _FRACTION_COLS) < 1e−24, and the last column
      (set to 1) takes that tail, which is the only approximation (< 1e−24 per draw)."""
    # the old rule λ ≥ short + 10√λ + 45 (tail < 1e−20) bounds the means needed
    bound = np.int64((5.0 + np.sqrt(70.0 + cols)) ** 2) + 2
    cdf, guide = _cdf_table(np.arange(bound).astype(np.float64), cols)
    lam_sat = np.full(cols + 1, float(bound))
    n = 0
    for short in range(1, cols + 1):
        while n < bound and cdf[n, short - 1] >= _SATURATED_TAIL:
            n += 1
        lam_sat[short] = n
    rows = np.int64(lam_sat[cols])
    fcdf, fguide = _cdf_table(np.arange(_FRACTIONS) / _FRACTIONS, _FRACTION_COLS)
    return PoissonTables(lam_sat, cdf[:rows], guide[:rows], fcdf, fguide)


@njit
def no_poisson_tables():
    """Empty ``PoissonTables``: post-slot increments are drawn without tables."""
    return PoissonTables(np.empty(0), np.empty((0, 0)), np.empty((0, 0), dtype=np.int16),
                         np.empty((0, 0)), np.empty((0, 0), dtype=np.int16))


@njit
def strength_tables(eta, s0, speed, equal_rates):
    """The tables ``events_strengths`` reads for one agent: when every quantum has the same
    η (``equal_rates``), s(c) for c = 0 .. c_sat at η_eff = η / f and — where building them
    costs less than they save — the Poisson tables for the post-slot increments
    (``poisson_tables``); otherwise empty ones (strengths computed, increments drawn without
    tables). They depend on the agent only through f, so agents with one speed share them."""
    stab = np.empty(0)
    tabs = no_poisson_tables()
    if equal_rates:
        stab = strength_table(eta[0] / speed, s0)
        cols = stab.shape[0] - 1 - half_count(eta[0], s0, speed)  # largest post-slot step
        entries = (5.0 + np.sqrt(70.0 + cols)) ** 2 * cols  # bounds the table size
        if (cols > 0 and entries <= _MAX_TABLE
                and eta.shape[0] >= _TABLE_MIN_QUANTA_PER_ENTRY * entries):
            tabs = poisson_tables(cols)
    return stab, tabs


@njit
def events_strengths(s, p, gain, ready, learn_step, chalf, eta, speed, s0, stab, tabs,
                     base_loss, ckpt_time, table, key_lo, out_loss, out_strength):
    """One agent's strengths and loss at the checkpoints, given its slot times.

    Arrays (K quanta, C checkpoints): ``p`` float64[K] frequencies; ``gain`` float64[K]
    bits per sample, p_k (b_k − a_k); ``ready`` float64[K] slot times (samples; the c½-th
    arrival); ``learn_step`` int64[K] ≥ 0 where k holds a slot (empty: unlimited capacity,
    every quantum ready by t_end holds one); ``chalf`` float64[K] c½;
    ``eta`` float64[K] η_k per exposure (divided by the agent's ``speed``); ``ckpt_time``
    float64[C] samples at each checkpoint, with its bin ``table``/``key_lo``
    (``checkpoints.build_bin_table``); ``stab``, ``tabs``: ``strength_tables`` of the
    agent's speed. Writes ``out_loss`` float64[C] = base_loss −
    Σ_k gain_k s_k (bits per sample) and, unless it is empty, ``out_strength`` float64[C, K].
    ``s``: the agent's stream (uint64[4]).

    Written for speed (≈ 10^5 quanta per agent; see benchmarks/README.md):
    - the quantum loop is one flat body: numba reference-counts every array passed to an
      inlined helper that contains a loop, and those atomic increments cost ~40 ns a
      quantum; helpers here take scalars only;
    - checkpoints whose count did not change still add gain_k · 0 to ``delta`` rather than
      branch: a mispredicted branch costs as much as a uniform and a table lookup;
    - the xoshiro state stays in registers (r0..r3) for the whole agent."""
    k_total = p.shape[0]
    n_ckpt = ckpt_time.shape[0]
    t_end = ckpt_time[n_ckpt - 1]
    record = out_strength.shape[0] > 0
    all_slotted = learn_step.shape[0] == 0  # unlimited capacity: every ready quantum
    delta = np.zeros(n_ckpt)  # loss decrease at each checkpoint
    arrivals = np.zeros(n_ckpt + 1, dtype=np.int64)  # pre-slot arrivals per checkpoint bin
    lam_sat, cdf, guide, fcdf, fguide = tabs
    use_tables = cdf.shape[0] > 0
    n_stab = stab.shape[0]
    loss0 = base_loss
    r0, r1, r2, r3 = s[0], s[1], s[2], s[3]
    for k in range(k_total):
        loss0 -= gain[k] * s0
        p_k = p[k]
        if p_k == 0.0:
            if record:
                out_strength[:, k] = s0
            continue
        gain_k = gain[k]
        ready_k = ready[k]
        chalf_k = np.int64(chalf[k])
        eta_eff = eta[k] / speed
        c_sat = n_stab - 1 if n_stab > 0 else saturation_count(eta_eff, s0)
        slotted = (all_slotted or learn_step[k] >= 0) and ready_k <= t_end

        # 1. Arrivals before the slot time T: c½ − 1 uniform points on [0, T], seen up to
        # t_end. Only the count at each checkpoint matters, c_j = #{arrivals ≤ t_j}: each
        # arrival is binned into its checkpoint (a table lookup, ``checkpoint_index``) and
        # the counts are summed upward from the lowest bin — no sort, and no pass over the
        # arrivals per checkpoint.
        m = chalf_k - 1
        scale = ready_k
        top = n_ckpt - 1  # the highest checkpoint the arrivals can reach
        if ready_k > t_end and m * t_end < 0.25 * ready_k:
            # Few expected before t_end: draw how many (0 from one uniform in ≥ 75 % of
            # cases); they are uniform on [0, t_end].
            m, r0, r1, r2, r3 = _binomial_thin(m, t_end / ready_k, r0, r1, r2, r3)
            scale = t_end
        elif ready_k <= t_end:
            top = checkpoint_index(ready_k, ckpt_time, table, key_lo)
        c_top = 0  # count at checkpoint ``top``
        low = top + 1  # the lowest checkpoint an arrival falls in
        if m > 0 and scale <= ckpt_time[0]:
            c_top = m  # every one falls in the first checkpoint: no draws
            top = 0
            low = 0
            arrivals[0] = m
        elif m > 0:
            for _ in range(m):
                u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
                t_i = scale * u
                # branch-free: an arrival after t_end (about half of them when T is beyond
                # the run) goes to the spare bin n_ckpt, which the sums below never read
                seen = t_i <= t_end
                b = checkpoint_index(min(t_i, t_end), ckpt_time, table, key_lo)
                b = b if seen else n_ckpt
                arrivals[b] += 1
                low = min(low, b)
                c_top += seen
            arrivals[n_ckpt] = 0
        if record:
            out_strength[:low, k] = s0
        c_j = 0
        s_j = s0
        for j in range(low, top + 1):
            c_j += arrivals[j]
            arrivals[j] = 0
            s_next = _s_of(c_j, stab, n_stab, eta_eff, s0)
            delta[j] += gain_k * (s_next - s_j)
            s_j = s_next
            if record:
                out_strength[j, k] = s_j
        s_top = s_j
        if record:
            out_strength[top + 1:, k] = s_top  # (after a slot: overwritten below)
        s_cur = s_top
        if slotted:
            # 2. At the slot checkpoint: the earlier arrivals binned there and the slot's
            # own arrival (c = c½ now); after T a fresh Poisson process, drawn as one
            # increment per checkpoint interval up to the count c_sat at which the strength
            # is 1 in double. With log-spaced checkpoints c_sat (≈ c_sat / p_k samples on)
            # is a few intervals on.
            c = chalf_k
            t_prev = ready_k
            for j in range(top, n_ckpt):
                short = c_sat - c
                if short > 0:
                    lam = p_k * (ckpt_time[j] - t_prev)
                    t_prev = ckpt_time[j]
                    if use_tables and lam >= lam_sat[short]:
                        c = c_sat  # P(Poisson(λ) < short) < 1e−20: saturated
                    elif use_tables:
                        # Poisson(λ) = A + B + C, independent Poisson variables with means
                        # ⌊λ⌋, the multiple of 1/64 just below λ − ⌊λ⌋, and δ < 1/64: A and
                        # B by inversion of their tabled CDFs (mostly the guide entry alone,
                        # see ``_cdf_table``); C is 0 when its uniform is ≤ 1 − δ ≤ e^{−δ}
                        # (≥ 98 %: no exp), else inverted.
                        n = np.int64(lam)
                        u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
                        x = np.int64(guide[n, _bucket(u)])
                        if x < 0:  # a CDF value inside the bucket: search
                            x = -x - 1
                            while cdf[n, x] < u:  # ends at the sentinel cdf[n, cols] = 1
                                x += 1
                        if x < short:
                            frac = (lam - n) * _FRACTIONS
                            i = np.int64(frac)
                            u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
                            y = np.int64(fguide[i, _bucket(u)])
                            if y < 0:
                                y = -y - 1
                                while fcdf[i, y] < u:
                                    y += 1
                            x += y
                            rest = (frac - i) / _FRACTIONS
                            u, r0, r1, r2, r3 = _uniform(r0, r1, r2, r3)
                            if u > 1.0 - rest:
                                px = np.exp(-rest)
                                z = 0
                                while u > px:
                                    u -= px
                                    z += 1
                                    px *= rest / z
                                x += z
                        c += min(x, short)
                    elif lam > short and lam >= short + 10.0 * np.sqrt(lam) + 45.0:
                        c = c_sat  # P(Poisson(λ) < short) < 1e−20 here too
                    else:
                        x, r0, r1, r2, r3 = _poisson_capped(lam, short, r0, r1, r2, r3)
                        c += x
                s_new = _s_of(c, stab, n_stab, eta_eff, s0)
                delta[j] += gain_k * (s_new - s_cur)
                s_cur = s_new
                if record:
                    out_strength[j:, k] = s_cur
                if c >= c_sat:
                    break
    s[0], s[1], s[2], s[3] = r0, r1, r2, r3
    loss = loss0
    for c in range(n_ckpt):
        loss -= delta[c]
        out_loss[c] = loss
