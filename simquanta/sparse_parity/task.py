"""Multitask sparse parity (Michaud et al. 2023, §3): the paper's toy task, seeded.

An input is ``n_tasks`` one-hot *control bits* followed by ``n_bits`` uniformly random
*task bits*. Subtask i (0-based in arrays, i + 1 in the equations) owns a fixed random
subset S_i of ``k`` task bits, the subsets being distinct; when control bit i is on, the
label is the parity Σ_{j ∈ S_i} x_j mod 2. Subtask i is active with probability

    p_i = (i + offset)^−(α+1) / Σ_j (j + offset)^−(α+1),   i = 1..n_tasks,

our α convention (the paper's code writes p ∝ i^−alpha with alpha = α + 1).

Samples are stored compactly: the active subtask index (the position of the single
control bit), the task bits as uint8 and the label. ``Batch.dense()`` gives the network
input row [one-hot control | task bits]. Randomness: every method takes a
``numpy.random.Generator`` or an int seed; the subsets come from ``seed`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numba import njit

from ..analysis.theory import zipf_frequencies
from ..validation import check_int, check_real, invalid

__all__ = ["Batch", "SparseParityTask", "TestSet", "as_generator"]


def as_generator(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """An int seed (or None) → ``numpy.random.default_rng``; a Generator passes through."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


@dataclass(frozen=True, eq=False)
class Batch:
    """Samples of multitask sparse parity.

    ``task`` int32[B]: active subtask (0-based); ``bits`` uint8[B, n_bits]: task bits;
    ``label`` uint8[B]: parity of the active subtask's bits (0 or 1).
    """

    task: np.ndarray
    bits: np.ndarray
    label: np.ndarray
    n_tasks: int

    def __len__(self) -> int:
        return int(self.task.shape[0])

    def take(self, index: np.ndarray | slice) -> Batch:
        """The samples at ``index`` (a new Batch)."""
        return Batch(self.task[index], self.bits[index], self.label[index], self.n_tasks)

    def dense(self, dtype: type | np.dtype = np.float32) -> np.ndarray:
        """Network inputs [one-hot control bits | task bits], shape (B, n_tasks + n_bits)."""
        out = np.zeros((len(self), self.n_tasks + self.bits.shape[1]), dtype=dtype)
        out[np.arange(len(self)), self.task] = 1
        out[:, self.n_tasks:] = self.bits
        return out


@dataclass(frozen=True, eq=False)
class TestSet:
    """A fixed held-out set: ``zipf`` holds round(p_i · n_points) samples of each subtask
    (largest-remainder rounding, so exactly n_points in total and proportions exact to
    one sample); ``per_task`` holds ``per_task`` samples of every subtask, subtask i at
    rows [i · per_task, (i + 1) · per_task)."""

    zipf: Batch
    per_task: Batch
    samples_per_task: int


@dataclass(frozen=True, eq=False)
class SparseParityTask:
    """Multitask sparse parity with Zipf subtask frequencies (see module docstring).

    Paper setting: ``n_tasks=500, n_bits=100, k=3, alpha=0.4``. ``seed`` fixes the subsets.
    """

    n_tasks: int = 500
    n_bits: int = 100
    k: int = 3
    alpha: float = 0.4
    offset: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        n_tasks = check_int("n_tasks", self.n_tasks, 1)
        n_bits = check_int("n_bits", self.n_bits, 1)
        k = check_int("k", self.k, 1)
        if k > n_bits:
            raise invalid("k", self.k, f"must be <= n_bits = {n_bits}")
        if math.comb(n_bits, k) < n_tasks:
            raise invalid("n_tasks", self.n_tasks,
                          f"must be <= C(n_bits, k) = {math.comb(n_bits, k)} distinct subsets")
        check_real("alpha", self.alpha, low=-1.0, low_open=True)
        check_real("offset", self.offset, low=-1.0, low_open=True)
        check_int("seed", self.seed, 0)

    @cached_property
    def p(self) -> np.ndarray:
        """Subtask frequencies p_i ∝ (i + offset)^−(α+1), float64[n_tasks], sum 1."""
        p = zipf_frequencies(self.n_tasks, self.alpha, self.offset)
        p.setflags(write=False)
        return p

    @cached_property
    def subsets(self) -> np.ndarray:
        """Distinct sorted k-subsets of the task bits, int64[n_tasks, k] (fixed by seed)."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0x5EB,)))
        seen: set[tuple[int, ...]] = set()
        rows: list[tuple[int, ...]] = []
        # Rejection sampling: fine while n_tasks is well below C(n_bits, k); near that
        # limit fall back to a random draw from the full enumeration.
        if self.n_tasks > math.comb(self.n_bits, self.k) // 4:
            from itertools import combinations

            every = np.array(list(combinations(range(self.n_bits), self.k)), dtype=np.int64)
            pick = rng.choice(len(every), size=self.n_tasks, replace=False)
            out = every[pick]
        else:
            while len(rows) < self.n_tasks:
                s = tuple(sorted(rng.choice(self.n_bits, size=self.k, replace=False).tolist()))
                if s not in seen:
                    seen.add(s)
                    rows.append(s)
            out = np.array(rows, dtype=np.int64)
        out.setflags(write=False)
        return out

    # -- sampling --------------------------------------------------------------------
    def batch_for(self, task: np.ndarray,
                  random_state: int | np.random.Generator | None = None) -> Batch:
        """Samples for the given subtasks (int[B]): fresh uniform task bits, parity labels."""
        rng = as_generator(random_state)
        task = np.asarray(task, dtype=np.int32)
        size = task.shape[0]
        # Uniform bits from random bytes: 8 bits per draw instead of one.
        n_bytes = -(-self.n_bits // 8)
        raw = rng.integers(0, 256, size=(size, n_bytes), dtype=np.uint8)
        bits = np.unpackbits(raw, axis=1, count=self.n_bits)
        return Batch(task, bits, parity_labels(bits, self.subsets, task), self.n_tasks)

    def sample(self, size: int, random_state: int | np.random.Generator | None = None, *,
               shuffle: bool = True) -> Batch:
        """``size`` i.i.d. samples: subtask i with probability p_i (online data).

        Drawn as multinomial counts, so rows come grouped by subtask unless ``shuffle``
        (a full-batch gradient does not care about order; a subset of rows does).
        """
        size = check_int("size", size, 1)
        rng = as_generator(random_state)
        counts = rng.multinomial(size, self.p)
        task = np.repeat(np.arange(self.n_tasks, dtype=np.int32), counts)
        if shuffle:
            rng.shuffle(task)
        return self.batch_for(task, rng)

    def online(self, batch_size: int,
               random_state: int | np.random.Generator | None = None) -> Iterator[Batch]:
        """An endless stream of fresh i.i.d. batches (single-epoch training)."""
        batch_size = check_int("batch_size", batch_size, 1)
        rng = as_generator(random_state)
        while True:
            yield self.sample(batch_size, rng, shuffle=False)

    def training_set(self, size: int,
                     random_state: int | np.random.Generator | None = None) -> Batch:
        """A fixed training set of ``size`` i.i.d. samples (multi-epoch training)."""
        return self.sample(check_int("dataset_size", size, 1), random_state)

    def test_set(self, n_points: int = 10_000, per_task: int = 200,
                 random_state: int | np.random.Generator | None = None) -> TestSet:
        """A held-out set with exact Zipf proportions plus ``per_task`` samples per subtask."""
        n_points = check_int("n_points", n_points, 1)
        per_task = check_int("per_task", per_task, 1)
        rng = as_generator(random_state)
        counts = largest_remainder(self.p, n_points)
        zipf = self.batch_for(np.repeat(np.arange(self.n_tasks, dtype=np.int32), counts), rng)
        blocks = self.batch_for(np.repeat(np.arange(self.n_tasks, dtype=np.int32), per_task),
                                rng)
        return TestSet(zipf, blocks, per_task)


@njit(cache=True)
def parity_labels(bits: np.ndarray, subsets: np.ndarray, task: np.ndarray) -> np.ndarray:
    """label_r = (Σ_{j ∈ S_{task_r}} bits_{r, j}) mod 2, uint8[B]."""
    out = np.empty(task.shape[0], dtype=np.uint8)
    for r in range(task.shape[0]):
        s = 0
        for j in subsets[task[r]]:
            s ^= bits[r, j]
        out[r] = s
    return out


def largest_remainder(p: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` with |count_i − p_i·total| < 1 (Hamilton rounding)."""
    exact = np.asarray(p, dtype=float) * total
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts
