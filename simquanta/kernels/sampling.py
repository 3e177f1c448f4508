"""Walker/Vose alias tables: O(K) build, O(1) categorical draws from one 64-bit word.

A table entry packs ``(accept_threshold << 32) | alias`` into one uint64 so a draw costs a
single memory access: column i = ⌊hi32 · K / 2^32⌋ (Lemire's multiply-shift), keep i if
lo32 < threshold_i, else take alias_i. Thresholds have 2^-32 resolution, i.e. each
quantum's probability is represented to within 2^-32 / K absolute.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .random import _U32, next_u64


@njit(cache=True)
def build_alias_table(p):
    """Packed alias table for probabilities ``p`` (float64[K], summing to 1)."""
    k_total = p.shape[0]
    scaled = p * k_total
    prob = np.ones(k_total)
    alias = np.arange(k_total)
    small = np.empty(k_total, dtype=np.int64)
    large = np.empty(k_total, dtype=np.int64)
    n_small = 0
    n_large = 0
    for i in range(k_total):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        lo = small[n_small]
        n_large -= 1
        hi = large[n_large]
        prob[lo] = scaled[lo]
        alias[lo] = hi
        scaled[hi] = (scaled[hi] + scaled[lo]) - 1.0
        if scaled[hi] < 1.0:
            small[n_small] = hi
            n_small += 1
        else:
            large[n_large] = hi
            n_large += 1
    # Whatever is left is a full column up to rounding: it keeps itself (alias = self).
    table = np.empty(k_total, dtype=np.uint64)
    for i in range(k_total):
        threshold = np.uint64(min(np.floor(prob[i] * 4294967296.0 + 0.5), 4294967295.0))
        if alias[i] == i:
            threshold = _U32
        table[i] = (threshold << np.uint64(32)) | np.uint64(alias[i])
    return table


@njit(inline="always")
def alias_draw(table, k_total, s):
    """One categorical draw (0-based quantum index) from a packed alias table."""
    x = next_u64(s)
    column = ((x >> np.uint64(32)) * np.uint64(k_total)) >> np.uint64(32)
    entry = table[column]
    if (x & _U32) < (entry >> np.uint64(32)):
        return np.int64(column)
    return np.int64(entry & _U32)
