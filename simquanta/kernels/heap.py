"""Binary min-heap of (key, item) pairs kept in two parallel arrays.

Order is lexicographic: smaller key first, then smaller item, so every tie has one
documented outcome and results never depend on the heap's internal layout. The events
engine keys ready events by time (ties → lower quantum index); the exact engine's evict
heap keys learned quanta by exposure count and stores item = −k (ties → larger index).
"""

from __future__ import annotations

from numba import njit


@njit(inline="always")
def less(key_a, item_a, key_b, item_b):
    return key_a < key_b or (key_a == key_b and item_a < item_b)


@njit
def sift_down(keys, items, size, pos):
    """Restore the heap below ``pos`` after its key grew (or after a removal)."""
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        if child + 1 < size and less(keys[child + 1], items[child + 1], keys[child],
                                     items[child]):
            child += 1
        if less(keys[child], items[child], keys[pos], items[pos]):
            keys[pos], keys[child] = keys[child], keys[pos]
            items[pos], items[child] = items[child], items[pos]
            pos = child
        else:
            return


@njit
def push(keys, items, size, key, item):
    """Insert (key, item) into a heap of ``size`` entries; returns the new size."""
    pos = size
    keys[pos] = key
    items[pos] = item
    while pos > 0:
        parent = (pos - 1) // 2
        if less(keys[pos], items[pos], keys[parent], items[parent]):
            keys[pos], keys[parent] = keys[parent], keys[pos]
            items[pos], items[parent] = items[parent], items[pos]
            pos = parent
        else:
            break
    return size + 1


@njit
def heapify(keys, items, size):
    """Turn the first ``size`` entries into a heap in O(size)."""
    for pos in range(size // 2 - 1, -1, -1):
        sift_down(keys, items, size, pos)


@njit
def pop(keys, items, size):
    """Remove the smallest entry; returns (key, item, new size)."""
    key, item = keys[0], items[0]
    size -= 1
    keys[0] = keys[size]
    items[0] = items[size]
    sift_down(keys, items, size, 0)
    return key, item, size
