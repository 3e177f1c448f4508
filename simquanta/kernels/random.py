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
def next_u64(s):
    """Advance the xoshiro256** state ``s`` (uint64[4]) and return 64 random bits."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(inline="always")
def uniform_open0(s):
    """Uniform double on (0, 1]: (top 53 bits + 1) · 2^-53; never 0, so log() is safe."""
    return (np.float64(next_u64(s) >> np.uint64(11)) + 1.0) * _TWO_M53


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
    """Exp(1) by inversion: −log U."""
    return -np.log(uniform_open0(s))


@njit
def standard_normal(s):
    """N(0, 1) by Box–Muller (one of the pair; two uniforms per draw)."""
    u1 = uniform_open0(s)
    u2 = uniform_open0(s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit
def gamma_int(s, shape):
    """Gamma(shape, 1) for an integer shape ≥ 1 (the time of the shape-th arrival of a
    unit-rate Poisson process).

    shape ≤ 16: −log Π U_i (exact; the product of ≤ 16 uniforms ≥ 2^−848 cannot
    underflow). Larger: Marsaglia & Tsang (2000) squeeze–rejection.
    """
    if shape <= 16:
        prod = 1.0
        for _ in range(shape):
            prod *= uniform_open0(s)
        return -np.log(prod)
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = standard_normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform_open0(s)
        if np.log(u) < 0.5 * x * x + d - d * v + d * np.log(v):
            return d * v


@njit
def beta_int(s, a, b):
    """Beta(a, b) for integer a, b ≥ 1 as G_a / (G_a + G_b)."""
    ga = gamma_int(s, a)
    gb = gamma_int(s, b)
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
