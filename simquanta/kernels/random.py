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
