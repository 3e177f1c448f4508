"""Numba kernel evaluating a compiled composition graph.

The graph arrives flattened (see :meth:`simquanta.composition.CompositionGraph.compile`):

* ``leaf_quanta[i]``: the quantum index read by leaf slot ``i``; its value is
  ``leaf_chance[i] + (leaf_score[i] - leaf_chance[i]) * learned[row, leaf_quanta[i]]``.
* inner node ``j`` (slot ``n_leaves + j``, in topological order so children come first) has
  children ``child[ptr[j]:ptr[j + 1]]`` (slot indices), per-edge weights ``weight[...]``,
  an operation code ``op[j]`` and a threshold ``kreq[j]`` (only read by ``OP_K_OF_N``).

The kernel knows nothing of rule names (``codes.COMPOSITION_RULES`` maps them to operations:
``all`` and ``product`` are both ``OP_PRODUCT``; ``any`` is ``OP_NOISY_OR`` with unit weights;
``mean`` is ``OP_WEIGHTED_SUM`` with weights normalised at compile time); an unknown operation
code raises instead of falling through to one of them.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .codes import OP_K_OF_N, OP_NOISY_OR, OP_PRODUCT, OP_WEIGHTED_SUM

# Rows per block: the innermost loops run over a block's rows, so they vectorise. Chosen by
# measurement on a 10^4-node graph (2 MB L2): 64 beat 16-48 (per-edge loop overhead dominates)
# and 256 (the n_slots x BLOCK scratch buffer falls out of cache).
BLOCK = 64


def evaluate_compiled(
    learned: np.ndarray,
    leaf_quanta: np.ndarray,
    leaf_chance: np.ndarray,
    leaf_score: np.ndarray,
    ptr: np.ndarray,
    child: np.ndarray,
    weight: np.ndarray,
    op: np.ndarray,
    kreq: np.ndarray,
    out_slot: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[r, o]`` with the value of slot ``out_slot[o]`` for every row ``r`` of ``learned``.

    ``learned`` has shape (n_rows, K) (uint8 0/1 or float64 in [0, 1]); ``out`` has shape
    (n_rows, len(out_slot)). Rows are split into a few contiguous chunks per numba thread.
    """
    _evaluate_chunks(
        learned,
        leaf_quanta,
        leaf_chance,
        leaf_score,
        ptr,
        child,
        weight,
        op,
        kreq,
        out_slot,
        out,
        4 * get_num_threads(),
    )


@njit(cache=True, parallel=True)
def _evaluate_chunks(
    learned,
    leaf_quanta,
    leaf_chance,
    leaf_score,
    ptr,
    child,
    weight,
    op,
    kreq,
    out_slot,
    out,
    n_chunks,
):
    """``prange`` over ``n_chunks`` contiguous row ranges; each walks its rows block by block."""
    n_rows = learned.shape[0]
    n_slots = leaf_quanta.shape[0] + op.shape[0]
    max_k = 0
    for j in range(op.shape[0]):
        if op[j] == OP_K_OF_N and kreq[j] > max_k:
            max_k = kreq[j]
    n_blocks = (n_rows + BLOCK - 1) // BLOCK
    # Allocating scratch per chunk rather than per block avoids mapping and zeroing megabytes of
    # fresh pages for every block; the caller picks a few chunks per thread to balance load.
    n_chunks = max(1, min(n_blocks, n_chunks))
    for chunk in prange(n_chunks):
        buf = np.empty((n_slots, BLOCK))
        dp = np.empty((max_k + 1, BLOCK))
        for blk in range(chunk * n_blocks // n_chunks, (chunk + 1) * n_blocks // n_chunks):
            r0 = blk * BLOCK
            nb = min(BLOCK, n_rows - r0)
            _eval_block(
                learned,
                r0,
                nb,
                leaf_quanta,
                leaf_chance,
                leaf_score,
                ptr,
                child,
                weight,
                op,
                kreq,
                buf,
                dp,
            )
            for o in range(out_slot.shape[0]):
                s = out_slot[o]
                for b in range(nb):
                    out[r0 + b, o] = buf[s, b]


@njit(cache=True)
def _eval_block(
    learned, r0, nb, leaf_quanta, leaf_chance, leaf_score, ptr, child, weight, op, kreq, buf, dp
):
    """Evaluate every slot for rows ``r0 .. r0+nb-1`` into ``buf[slot, row - r0]``.

    The innermost loops always run over all ``BLOCK`` columns (a compile-time trip count, so
    they vectorise); columns ``nb ..`` of a short last block hold zeros and are never copied out.

    k-of-n uses the O(n k) Poisson-binomial recursion: ``dp[m]`` is P(exactly m successes so far)
    for m < k and ``dp[k]`` is P(at least k so far); adding a child with probability v maps
    ``dp[k] += v dp[k-1]``, then ``dp[m] = (1 - v) dp[m] + v dp[m-1]`` for m = k-1 .. 1,
    then ``dp[0] *= 1 - v``.
    """
    n_leaves = leaf_quanta.shape[0]
    for i in range(n_leaves):
        q = leaf_quanta[i]
        c = leaf_chance[i]
        d = leaf_score[i] - c
        for b in range(nb):
            buf[i, b] = c + d * learned[r0 + b, q]
        for b in range(nb, BLOCK):
            buf[i, b] = 0.0
    for j in range(op.shape[0]):
        s = n_leaves + j
        code = op[j]
        lo = ptr[j]
        hi = ptr[j + 1]
        if code == OP_K_OF_N:
            k = kreq[j]
            for b in range(BLOCK):
                dp[0, b] = 1.0
            for m in range(1, k + 1):
                for b in range(BLOCK):
                    dp[m, b] = 0.0
            for e in range(lo, hi):
                c = child[e]
                for b in range(BLOCK):
                    dp[k, b] += buf[c, b] * dp[k - 1, b]
                for m in range(k - 1, 0, -1):
                    for b in range(BLOCK):
                        v = buf[c, b]
                        dp[m, b] = (1.0 - v) * dp[m, b] + v * dp[m - 1, b]
                for b in range(BLOCK):
                    dp[0, b] *= 1.0 - buf[c, b]
            for b in range(BLOCK):
                buf[s, b] = dp[k, b]
        elif code == OP_WEIGHTED_SUM:
            for b in range(BLOCK):
                buf[s, b] = 0.0
            for e in range(lo, hi):
                c = child[e]
                w = weight[e]
                for b in range(BLOCK):
                    buf[s, b] += w * buf[c, b]
        elif code == OP_NOISY_OR:
            for b in range(BLOCK):
                buf[s, b] = 1.0
            for e in range(lo, hi):
                c = child[e]
                w = weight[e]
                for b in range(BLOCK):
                    buf[s, b] *= 1.0 - w * buf[c, b]
            for b in range(BLOCK):
                buf[s, b] = 1.0 - buf[s, b]
        elif code == OP_PRODUCT:
            for b in range(BLOCK):
                buf[s, b] = 1.0
            for e in range(lo, hi):
                c = child[e]
                for b in range(BLOCK):
                    buf[s, b] *= buf[c, b]
        else:
            raise ValueError("composition graph: unknown operation code")
