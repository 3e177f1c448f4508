"""Counter-free, per-agent random streams for numba kernels.

Every agent owns a xoshiro256** generator (Blackman & Vigna 2018) whose 256-bit state is
seeded from ``np.random.SeedSequence(seed, spawn_key=(agent,))``. The state lives in a
``uint64[4]`` array owned by the agent, so draws never depend on thread scheduling
(numba's global ``np.random`` state is per thread, numba issue #4452) and a pure-Python
re-implementation (``tests/naive.py``) can replay the exact stream.

All arithmetic is kept in ``uint64``: mixing signed and unsigned integers in numba
promotes to float64 and silently loses bits.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_U32 = np.uint64(0xFFFFFFFF)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53


def agent_states(seed: int, first_agent: int, n_agents: int) -> np.ndarray:
    """Initial xoshiro256** states, shape (n_agents, 4), for agents first_agent, ...

    Agent i's state depends only on (seed, i), so any split of the agents over calls,
    threads or processes reproduces the same streams.
    """
    states = np.empty((n_agents, 4), dtype=np.uint64)
    for row in range(n_agents):
        seq = np.random.SeedSequence(seed, spawn_key=(first_agent + row,))
        states[row] = seq.generate_state(4, np.uint64)
    return states


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def next_u64_regs(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in local variables: (64 random bits, s0, s1,
    s2, s3). Loops that draw many variates keep the state in registers this way; through
    the ``uint64[4]`` array every step waits on a store and a reload."""
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@njit(inline="always")
def next_u64(s):
    """Advance the xoshiro256** state ``s`` (uint64[4]) and return 64 random bits."""
    result, s[0], s[1], s[2], s[3] = next_u64_regs(s[0], s[1], s[2], s[3])
    return result


@njit(inline="always")
def open0_from_bits(bits):
    """Uniform double on (0, 1] from 64 random bits: (top 53 bits + 1) · 2^-53; never 0, so
    log() is safe."""
    return (np.float64(bits >> np.uint64(11)) + 1.0) * _TWO_M53


@njit(inline="always")
def uniform_open0(s):
    """Uniform double on (0, 1] (see ``open0_from_bits``)."""
    return open0_from_bits(next_u64(s))


@njit(inline="always")
def bounded_int(s, n):
    """Integer in [0, n) for 0 < n < 2^32 by Lemire's multiply-shift on the top 32 bits.

    The bias is below n / 2^32 and the cost one draw, which is what shuffles need.
    """
    return np.int64(((next_u64(s) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(inline="always")
def geometric_trials(s, q):
    """Number of Bernoulli(q) trials up to and including the first success (≥ 1).

    Inversion: N = ceil(log U / log(1 − q)), U ~ Uniform(0, 1]; P(N > n) = (1 − q)^n.
    """
    if q >= 1.0:
        return np.int64(1)
    n = np.ceil(np.log(uniform_open0(s)) / np.log1p(-q))
    if n < 1.0:
        return np.int64(1)
    if n > 4.0e18:
        return np.int64(4_000_000_000_000_000_000)
    return np.int64(n)


# ---------------------------------------------------------------- continuous and count
# variates for the events engine. Each consumes a data-dependent number of draws from the
# agent's stream; results depend only on that stream, never on threads.


@njit
def standard_exponential(s):
    """Exp(1) by inversion: −log U (as 0 − log U: at U = 1 that is +0, not −0)."""
    return 0.0 - np.log(uniform_open0(s))


def _ziggurat_normal_tables(r: float, n: int = 256):
    """Marsaglia & Tsang's (2000) ziggurat for N(0, 1) with n layers of equal area v, the
    base layer ending at r, for 52-bit magnitudes. Layer i ≥ 1 spans x ≤ x_i (x_{n−1} = r,
    x_1 smallest); layer 0 is the base strip with the tail beyond r. Returns (k, w, f):
    a magnitude m is accepted at once if m < k[i]; x = m · w[i]; f[i] = exp(−x_i² / 2)."""
    # v = r f(r) + ∫_r^∞ f: computed rather than the published 12 digits, whose 3e-12 error
    # the recursion below magnifies to 1e-9 in the area of the top layer.
    v = r * math.exp(-0.5 * r * r) + math.sqrt(0.5 * math.pi) * math.erfc(r / math.sqrt(2.0))
    scale = 2.0**52
    k = np.zeros(n, dtype=np.uint64)
    w = np.zeros(n)
    f = np.zeros(n)
    q = v / math.exp(-0.5 * r * r)
    k[0] = np.uint64(r / q * scale)
    w[0], w[n - 1] = q / scale, r / scale
    f[0], f[n - 1] = 1.0, math.exp(-0.5 * r * r)
    x_prev = x = r
    for i in range(n - 2, 0, -1):
        x = math.sqrt(-2.0 * math.log(v / x + math.exp(-0.5 * x * x)))
        k[i + 1] = np.uint64(x / x_prev * scale)
        x_prev = x
        f[i] = math.exp(-0.5 * x * x)
        w[i] = x / scale
    return k, w, f


_ZIG_R = 3.6541528853610088
_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_normal_tables(_ZIG_R)  # normal_regs assumes n = 256
_M52 = np.uint64((1 << 52) - 1)


@njit(inline="always")
def normal_regs(s0, s1, s2, s3):
    """N(0, 1) by the 256-layer ziggurat on a register-held state: (x, s0, s1, s2, s3).
    One 64-bit draw (8 bits layer, 1 bit sign, 52 bits magnitude) in 98.5 % of calls."""
    while True:
        bits, s0, s1, s2, s3 = next_u64_regs(s0, s1, s2, s3)
        layer = np.int64(bits & np.uint64(0xFF))
        negative = ((bits >> np.uint64(8)) & np.uint64(1)) != 0
        magnitude = (bits >> np.uint64(9)) & _M52
        x = np.float64(magnitude) * _ZIG_W[layer]
        if negative:
            x = -x
        if magnitude < _ZIG_K[layer]:
            return x, s0, s1, s2, s3
        if layer == 0:  # the tail beyond r (Marsaglia 1964)
            while True:
                b1, s0, s1, s2, s3 = next_u64_regs(s0, s1, s2, s3)
                b2, s0, s1, s2, s3 = next_u64_regs(s0, s1, s2, s3)
                xx = -np.log(open0_from_bits(b1)) / _ZIG_R
                yy = -np.log(open0_from_bits(b2))
                if yy + yy > xx * xx:
                    return (-(_ZIG_R + xx) if negative else _ZIG_R + xx), s0, s1, s2, s3
        bits, s0, s1, s2, s3 = next_u64_regs(s0, s1, s2, s3)
        y = _ZIG_F[layer] + (_ZIG_F[layer - 1] - _ZIG_F[layer]) * open0_from_bits(bits)
        if y < np.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3


@njit
def standard_normal(s):
    """N(0, 1) (ziggurat, see ``normal_regs``)."""
    x, s[0], s[1], s[2], s[3] = normal_regs(s[0], s[1], s[2], s[3])
    return x


@njit(inline="always")
def gamma_regs(d, c, s0, s1, s2, s3):
    """Gamma(a, 1), a ≥ 1, by Marsaglia & Tsang's (2000) squeeze–rejection, given
    d = a − 1/3 and c = 1/√(9d): returns (d·v, s0, s1, s2, s3) with v = (1 + c·x)³,
    x ~ N(0, 1), accepted with probability ∝ the Gamma density (95 % of attempts at a = 1,
    99.4 % at a = 5)."""
    while True:
        x, s0, s1, s2, s3 = normal_regs(s0, s1, s2, s3)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        bits, s0, s1, s2, s3 = next_u64_regs(s0, s1, s2, s3)
        u = open0_from_bits(bits)
        xx = x * x
        if u < 1.0 - 0.0331 * xx * xx:  # squeeze: no log in ≈ 92 % of attempts
            return d * v, s0, s1, s2, s3
        if np.log(u) < 0.5 * xx + d * (1.0 - v + np.log(v)):
            return d * v, s0, s1, s2, s3


@njit
def standard_gamma(s, shape):
    """Gamma(shape, 1) for shape ≥ 1; for an integer shape, the time of the shape-th
    arrival of a unit-rate Poisson process (Marsaglia–Tsang, see ``gamma_regs``)."""
    d = shape - 1.0 / 3.0
    g, s[0], s[1], s[2], s[3] = gamma_regs(d, 1.0 / np.sqrt(9.0 * d),
                                           s[0], s[1], s[2], s[3])
    return g


@njit
def fill_gamma_ceil(s, tau, out):
    """out[k] ~ Gamma(⌈τ_k⌉, 1) for k = 0..K−1: the same numbers, in the same order, as
    ``standard_gamma(s, ⌈τ_k⌉)`` for each k, with the state held in registers throughout
    (the events engine's inner loop)."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    shape = -1.0
    d = c = 0.0
    for k in range(tau.shape[0]):
        if np.ceil(tau[k]) != shape:  # thresholds are usually shared: one sqrt per change
            shape = np.ceil(tau[k])
            d = shape - 1.0 / 3.0
            c = 1.0 / np.sqrt(9.0 * d)
        out[k], s0, s1, s2, s3 = gamma_regs(d, c, s0, s1, s2, s3)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3


@njit
def beta_int(s, a, b):
    """Beta(a, b) for integer a, b ≥ 1 as G_a / (G_a + G_b)."""
    ga = standard_gamma(s, a)
    gb = standard_gamma(s, b)
    return ga / (ga + gb)


@njit
def poisson(s, lam):
    """Poisson(λ): multiplication method for λ < 10, else Hörmann's (1993) PTRS
    transformed rejection (the algorithm numpy uses)."""
    if lam <= 0.0:
        return np.int64(0)
    if lam < 10.0:
        limit = np.exp(-lam)
        k = 0
        prod = uniform_open0(s)
        while prod > limit:
            k += 1
            prod *= uniform_open0(s)
        return np.int64(k)
    slam = np.sqrt(lam)
    loglam = np.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform_open0(s) - 0.5
        v = uniform_open0(s)
        us = 0.5 - np.abs(u)
        k = np.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if (np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b)
                <= -lam + k * loglam - math.lgamma(k + 1.0)):
            return np.int64(k)


@njit
def binomial(s, n, p):
    """Binomial(n, p): inversion when n·min(p, 1−p) < 30, else Hörmann's (1993) BTRS."""
    if n <= 0 or p <= 0.0:
        return np.int64(0)
    if p >= 1.0:
        return np.int64(n)
    if p > 0.5:
        return n - binomial(s, n, 1.0 - p)
    q = 1.0 - p
    if n * p < 30.0:
        qn = np.exp(n * np.log1p(-p))
        bound = min(float(n), n * p + 10.0 * np.sqrt(n * p * q + 1.0))
        x = 0
        px = qn
        u = uniform_open0(s)
        while u > px:
            x += 1
            if x > bound:
                x = 0
                px = qn
                u = uniform_open0(s)
            else:
                u -= px
                px = ((n - x + 1) * p * px) / (x * q)
        return np.int64(x)
    spq = np.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = np.log(p / q)
    m = np.floor((n + 1) * p)
    h = math.lgamma(m + 1.0) + math.lgamma(n - m + 1.0)
    while True:
        u = uniform_open0(s) - 0.5
        v = uniform_open0(s)
        us = 0.5 - np.abs(u)
        k = np.floor((2.0 * a / us + b) * u + c)
        if k < 0.0 or k > n:
            continue
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        v = np.log(v * alpha / (a / (us * us) + b))
        if v <= h - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0) + (k - m) * lpq:
            return np.int64(k)
