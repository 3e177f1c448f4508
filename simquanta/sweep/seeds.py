"""Replicate seeds: derived from a root seed, listed, or the base config's one seed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..validation import check_int, is_integer
from .keys import plain
from .locate import Locator, invalid_at

#: seeds are integers in [0, 2^64) (stored as netCDF int64, or uint64 past 2^63 − 1)
SEED_MAX = 2**64 - 1


def derive_seeds(root_seed: int, replicates: int) -> list[int]:
    """``replicates`` distinct seeds from one root seed.

    The first distinct words of ``SeedSequence(root_seed).generate_state``: deterministic,
    and a prefix of the list for any larger ``replicates`` (so extending a sweep keeps the
    seeds, hence the cells, it already has).
    """
    root_seed = check_int("root_seed", root_seed, 0)
    replicates = check_int("replicates", replicates, 1)
    words = max(int(replicates), 4)
    while True:
        state = np.random.SeedSequence(int(root_seed)).generate_state(words, dtype=np.uint32)
        distinct = list(dict.fromkeys(int(s) for s in state))
        if len(distinct) >= replicates:
            return distinct[:replicates]
        words *= 2  # a 32-bit collision: draw further along the same stream


def resolve_seeds(loc: Locator, seeds: Any, replicates: Any, root_seed: Any,
                  base: Mapping[str, Any]) -> list[int]:
    """The replicate seeds of a sweep: ``seeds``, or derived from ``root_seed`` and
    ``replicates``, or ``[base.seed]`` (default 0); errors name the field and line."""
    if seeds is not None and (replicates is not None or root_seed is not None):
        raise invalid_at(loc, "seeds", seeds,
                         "give seeds = [...] or replicates + root_seed, not both")
    if (seeds is not None or replicates is not None) and "seed" in base:
        raise invalid_at(loc, "base.seed", base["seed"],
                         "replicate seeds come from seeds/replicates; remove base.seed")
    if seeds is not None:
        seeds = plain(seeds)
        if not isinstance(seeds, list) or not seeds:
            raise invalid_at(loc, "seeds", seeds, "must be a non-empty list of integers")
        for s in seeds:
            if not is_integer(s) or not 0 <= s <= SEED_MAX:
                raise invalid_at(loc, "seeds", seeds,
                                 f"every seed must be an integer in 0..2^64-1; got {s!r}")
        if len(set(seeds)) != len(seeds):
            dup = next(s for s in seeds if seeds.count(s) > 1)
            raise invalid_at(loc, "seeds", seeds,
                             f"seed {dup} repeats; replicates with one seed are identical "
                             "copies, not replicates")
        return seeds
    if replicates is not None or root_seed is not None:
        if replicates is None:
            raise invalid_at(loc, "root_seed", root_seed,
                             "needs replicates = N (the number of seeds to derive)")
        if root_seed is None:
            raise invalid_at(loc, "replicates", replicates,
                             "needs root_seed = S (seeds are derived from it)")
        for name, value, minimum in (("root_seed", root_seed, 0), ("replicates", replicates, 1)):
            if not is_integer(value) or value < minimum:
                raise invalid_at(loc, name, value, f"must be an integer >= {minimum}")
        if root_seed > SEED_MAX:
            raise invalid_at(loc, "root_seed", root_seed, "must be an integer in 0..2^64-1")
        return derive_seeds(root_seed, replicates)
    seed = base.get("seed", 0)
    if not is_integer(seed) or not 0 <= seed <= SEED_MAX:
        raise invalid_at(loc, "base.seed", seed, "must be an integer in 0..2^64-1")
    return [seed]
