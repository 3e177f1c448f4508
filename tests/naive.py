"""Slow, obviously correct reference learner (the stumpy ``tests/naive.py`` pattern).

It replays the exact engine's random stream in pure Python and applies the model with
explicit per-quantum state, so the fast kernel can be checked draw for draw:

- a pure-Python xoshiro256** seeded from ``simquanta.kernels.random.agent_states``;
- Walker/Vose alias tables built by the same procedure as the kernel and decoded the same
  way (column from the high 32 bits by multiply-shift, accept on the low 32 bits);
- geometric trials by inversion ``ceil(log U / log1p(−q))`` with U = ((x >> 11) + 1)·2^−53;
- Fisher–Yates shuffles with Lemire bounded integers.

Order of draws per agent: needs (geometric rule, k = 0..K−1), the training set (dataset
regime), initial prerequisite gaps ("slow" mode: k = 0..K−1, learnable with at least one
prerequisite), then per epoch a shuffle, then per sample its draw (online) and any gap
draw its exposure triggers.

The model, per quantum k: ``count[k]`` counted exposures, ``ready[k]``, ``learned[k]``,
``learn_step[k]`` (first acquisition). A quantum is *blocked* while any prerequisite has
never been learned; exposures of a blocked, not-yet-ready quantum are ignored ("block")
or counted with probability f ("slow": the number of exposures to the next counted one is
Geometric(f), re-drawn after each counted one). Once ready, every exposure counts. k
becomes ready when count reaches need (⌈τ_k⌉, or a Geometric(1/τ_k) draw). A ready,
unlearned quantum asks for room: it is learned if used + cost ≤ capacity; under "evict"
it may instead evict learned quanta with strictly fewer exposures (fewest first, ties →
larger index) until it fits, all or nothing, and asks again at each later exposure.

Capacity sums are recomputed from scratch, so tests should use dyadic costs (exact in
binary) for the comparison with the kernel's running sums to be exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simquanta.kernels.random import agent_states
from simquanta.specs import Dataset, Simulation

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
GEOMETRIC_CAP = 4_000_000_000_000_000_000


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Xoshiro256StarStar:
    """xoshiro256** on Python ints (Blackman & Vigna 2018), every result masked to 64 bits."""

    def __init__(self, state) -> None:
        self.s = [int(v) for v in state]
        assert len(self.s) == 4 and all(0 <= v <= MASK64 for v in self.s)

    def next_u64(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def uniform_open0(self) -> float:
        """(top 53 bits + 1) · 2^−53 ∈ (0, 1]; every step is exact in float64."""
        return (float(self.next_u64() >> 11) + 1.0) * 2.0**-53

    def bounded(self, n: int) -> int:
        """Lemire multiply-shift on the top 32 bits: an integer in [0, n)."""
        assert 0 < n < 2**32
        return ((self.next_u64() >> 32) * n) >> 32

    def geometric(self, q: float) -> int:
        """Bernoulli(q) trials up to and including the first success (no draw if q >= 1)."""
        if q >= 1.0:
            return 1
        n = math.ceil(math.log(self.uniform_open0()) / math.log1p(-q))
        return min(max(n, 1), GEOMETRIC_CAP)

    def categorical(self, table: list[tuple[int, int]]) -> int:
        """One draw from an alias table given as (accept threshold, alias) per column."""
        x = self.next_u64()
        column = ((x >> 32) * len(table)) >> 32
        threshold, alias = table[column]
        return column if (x & MASK32) < threshold else alias


def alias_table(p) -> list[tuple[int, int]]:
    """Walker/Vose alias table as (threshold, alias) pairs, built like the kernel's."""
    k_total = len(p)
    scaled = [float(v) * k_total for v in p]
    prob = [1.0] * k_total
    alias = list(range(k_total))
    small = [i for i in range(k_total) if scaled[i] < 1.0]
    large = [i for i in range(k_total) if scaled[i] >= 1.0]
    while small and large:
        lo = small.pop()
        hi = large.pop()
        prob[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] = (scaled[hi] + scaled[lo]) - 1.0
        (small if scaled[hi] < 1.0 else large).append(hi)
    table = []
    for i in range(k_total):
        if alias[i] == i:
            threshold = MASK32
        else:
            threshold = int(min(math.floor(prob[i] * 4294967296.0 + 0.5), 4294967295.0))
        table.append((threshold, alias[i]))
    return table


def pack_alias_table(table: list[tuple[int, int]]) -> np.ndarray:
    """The kernel's packed form: (threshold << 32) | alias, uint64[K]."""
    return np.array([(t << 32) | a for t, a in table], dtype=np.uint64)


@dataclass
class AgentOutcome:
    loss: np.ndarray  # float64[C]
    learned: np.ndarray  # int64[C]
    used: np.ndarray  # float64[C]
    learn_step: np.ndarray  # int64[K], −1 = never
    evictions: int  # quanta evicted over the run


@dataclass
class NaiveResult:
    loss: np.ndarray  # float64[agents, C]
    learned: np.ndarray  # int64[agents, C]
    used: np.ndarray  # float64[agents, C]
    learn_step: np.ndarray  # int64[agents, K]
    evictions: np.ndarray  # int64[agents]


def logistic_strength(c: int, eta: float, s0: float) -> float:
    """s(c) = 1 / (1 + (1/s0 − 1) e^{−η c}) (Nam et al. 2024)."""
    return 1.0 / (1.0 + (1.0 / s0 - 1.0) * math.exp(-eta * c))


def run_agent(rng: Xoshiro256StarStar, *, p, tau, acquisition, cost, learned_loss,
              unlearned_loss, capacity, policy, edges=(), prereq_mode="block",
              slow_factor=1.0, dataset_size=0, epochs=1, batch_size=1, steps=1,
              checkpoints=(), eta=None, s0=None, speed=1.0) -> AgentOutcome:
    """One agent from its generator; ``dataset_size = 0`` is the online regime.

    ``acquisition = "logistic"``: k is ready (asks for a slot) at c½ = max(1, ⌈ln(1/s0 − 1)
    f / η_k⌉) exposures; its strength is s(count) while it holds a slot, else
    s(min(count, c½ − 1)); a sample using k costs b_k − (b_k − a_k) s_k. ``speed`` is the
    agent's factor f (exposures needed × f, η ÷ f)."""
    k_total = len(p)
    p = [float(v) for v in p]
    table = alias_table(p)
    prereqs = [[a for a, b in edges if b == k] for k in range(k_total)]
    checkpoints = [int(c) for c in checkpoints]

    # Per-quantum state.
    need = [0] * k_total
    count = [0] * k_total
    ready = [False] * k_total
    learned = [False] * k_total
    learnable = [True] * k_total
    gap = [0] * k_total  # slow mode: exposures to the next counted one while blocked
    learn_step = [-1] * k_total
    evictions = [0]

    for k in range(k_total):
        if acquisition == "geometric":
            need[k] = rng.geometric(1.0 / (float(tau[k]) * speed))
        elif acquisition == "logistic":
            need[k] = max(1, math.ceil(math.log(1.0 / s0 - 1.0) * speed / float(eta[k])))
        else:
            need[k] = math.ceil(float(tau[k]) * speed)

    data: list[int] = []
    if dataset_size:
        data = [rng.categorical(table) for _ in range(dataset_size)]
        for k in range(k_total):
            learnable[k] = data.count(k) >= math.ceil(float(tau[k]))

    if prereq_mode == "slow":
        for k in range(k_total):
            if learnable[k] and prereqs[k]:
                gap[k] = rng.geometric(slow_factor)

    def blocked(k: int) -> bool:
        return any(learn_step[j] < 0 for j in prereqs[k])

    def used_capacity() -> float:
        return sum(float(cost[j]) for j in range(k_total) if learned[j])

    def learn(k: int, step: int) -> None:
        learned[k] = True
        if learn_step[k] < 0:
            learn_step[k] = step

    def ask_for_room(k: int, step: int) -> None:
        used = used_capacity()
        if used + cost[k] <= capacity:
            learn(k, step)
            return
        if policy != "evict":
            return
        victims: list[int] = []
        freed = 0.0
        while used - freed + cost[k] > capacity:
            candidates = [j for j in range(k_total) if learned[j] and j not in victims]
            if not candidates:
                return
            # Fewest exposures; among equals the larger index.
            fewest = min(count[j] for j in candidates)
            m = max(j for j in candidates if count[j] == fewest)
            if count[m] >= count[k]:
                return
            victims.append(m)
            freed += cost[m]
        for m in victims:
            learned[m] = False
        evictions[0] += len(victims)
        learn(k, step)

    def expose(k: int, step: int) -> None:
        if not learnable[k]:
            return
        if ready[k]:
            count[k] += 1
            if policy == "evict" and not learned[k]:
                ask_for_room(k, step)
            return
        if blocked(k):
            if prereq_mode == "block":
                return
            gap[k] -= 1
            if gap[k] > 0:
                return
            count[k] += 1
            if count[k] < need[k]:
                gap[k] = rng.geometric(slow_factor)
                return
        else:
            count[k] += 1
            if count[k] < need[k]:
                return
        ready[k] = True
        ask_for_room(k, step)

    out_loss, out_learned, out_used = [], [], []

    def sample_loss(j: int) -> float:
        """Bits a sample using j costs now."""
        if acquisition != "logistic":
            return float(learned_loss[j] if learned[j] else unlearned_loss[j])
        c = count[j] if learned[j] else min(count[j], need[j] - 1)
        s_j = logistic_strength(c, float(eta[j]) / speed, s0)
        return float(unlearned_loss[j]) - float(unlearned_loss[j] - learned_loss[j]) * s_j

    def record(step: int) -> None:
        for _ in range(checkpoints.count(step)):
            out_loss.append(sum(p[j] * sample_loss(j) for j in range(k_total)))
            out_learned.append(sum(learned))
            out_used.append(used_capacity())

    if dataset_size:
        step = 0
        for _ in range(epochs):
            for i in range(dataset_size - 1, 0, -1):  # Fisher–Yates
                j = rng.bounded(i + 1)
                data[i], data[j] = data[j], data[i]
            for start in range(0, dataset_size, batch_size):
                step += 1
                for k in data[start:start + batch_size]:
                    expose(k, step)
                record(step)
    else:
        for step in range(1, steps + 1):
            for _ in range(batch_size):
                expose(rng.categorical(table), step)
            record(step)

    return AgentOutcome(np.array(out_loss, dtype=float), np.array(out_learned, dtype=np.int64),
                        np.array(out_used, dtype=float), np.array(learn_step, dtype=np.int64),
                        evictions[0])


def simulate_naive(sim: Simulation) -> NaiveResult:
    """Every agent of a validated Simulation, read from the spec (not from compile.py)."""
    quanta, learner, data = sim.quanta, sim.learner, sim.data
    prereq = learner.prerequisites
    kwargs = dict(
        p=quanta.p, tau=quanta.thresholds, acquisition=learner.acquisition, cost=quanta.cost,
        learned_loss=quanta.learned_loss, unlearned_loss=quanta.unlearned_loss,
        policy=learner.policy, batch_size=data.batch_size, checkpoints=sim.checkpoint_steps,
        edges=() if prereq is None else prereq.edges,
        prereq_mode="block" if prereq is None else prereq.mode,
        slow_factor=1.0 if prereq is None else prereq.factor,
    )
    if isinstance(data, Dataset):
        kwargs.update(dataset_size=data.size, epochs=data.epochs)
    else:
        kwargs.update(steps=data.steps)
    if learner.acquisition == "logistic":
        eta = np.full(quanta.n_quanta, learner.eta)
        if quanta.gamma_factor is not None:
            eta = eta / quanta.gamma_factor
        kwargs.update(eta=eta, s0=learner.s0)
    capacities = learner.capacities(sim.agents)
    speeds = learner.speed_factors(sim.agents)
    states = agent_states(sim.seed, sim.first_agent, sim.agents)
    outcomes = [run_agent(Xoshiro256StarStar(states[i]), capacity=float(capacities[i]),
                          speed=float(speeds[i]), **kwargs) for i in range(sim.agents)]
    return NaiveResult(
        loss=np.stack([o.loss for o in outcomes]),
        learned=np.stack([o.learned for o in outcomes]),
        used=np.stack([o.used for o in outcomes]),
        learn_step=np.stack([o.learn_step for o in outcomes]),
        evictions=np.array([o.evictions for o in outcomes], dtype=np.int64),
    )


def assert_kernel_matches_naive(sim: Simulation) -> NaiveResult:
    """The exact kernel's run of ``sim`` equals this reference: first-learn steps, learned
    counts and capacity used exactly, loss within 1e-12 bits (summation order differs)."""
    from simquanta.simulate import run

    fast = run(sim)
    slow = simulate_naive(sim)
    assert np.array_equal(fast.learn_step, slow.learn_step)
    assert np.array_equal(fast.learned, slow.learned)
    assert np.array_equal(fast.used, slow.used)
    assert np.allclose(fast.loss, slow.loss, rtol=0, atol=1e-12)
    return slow

