"""Every rule name of simquanta, listed once, with the integer code the kernels use.

numba kernels take integers, not strings: each table maps a user-facing name to its code.
Validation (``specs``, ``composition``), the compiler, the CLI, theory and tests read these
tables, so a name exists in exactly one place; ``code_of`` is the only name → code lookup and
raises on anything unknown, and every kernel dispatch on a code ends in an error branch
instead of a default.
"""

from __future__ import annotations

from types import MappingProxyType

# ---------------------------------------------------------------- acquisition (dynamics families)
THRESHOLD = 0  # ready at the ⌈τ_k⌉-th counted exposure
GEOMETRIC = 1  # each counted exposure makes k ready with probability 1/τ_k
LOGISTIC = 2  # continuous strength s(c) = 1/(1 + (1/s0 − 1) e^{−η c}) (Nam et al. 2024)
RESOURCE = 3  # exposures weighted by 1/U(t), a shared update budget (Liu et al. 2025)

ACQUISITIONS = MappingProxyType({
    "threshold": THRESHOLD,
    "geometric": GEOMETRIC,
    "logistic": LOGISTIC,
    "resource": RESOURCE,
})

#: dynamics parameters each family reads (others are refused for it); defaults where unset
FAMILY_PARAMETERS = MappingProxyType({
    "threshold": (),
    "geometric": (),
    "logistic": ("eta", "s0"),
    "resource": (),
})
PARAMETER_DEFAULTS = MappingProxyType({"eta": 1.0, "s0": 0.01})

#: how the events engine runs each family: ``ready_times`` draws each quantum's ready time
#: from its need (``acquisition.draw_need``), ``budget`` is event-driven
#: (``acquisition/resource.py``). Logistic adds its strengths on top of its ready times.
EVENTS_PATHS = MappingProxyType({
    THRESHOLD: "ready_times",
    GEOMETRIC: "ready_times",
    LOGISTIC: "ready_times",
    RESOURCE: "budget",
})

# ---------------------------------------------------------------- capacity policies
REJECT = 0  # a ready quantum that does not fit stays unlearned
EVICT = 1  # it replaces learned quanta with strictly fewer exposures

POLICIES = MappingProxyType({"reject": REJECT, "evict": EVICT})

# ---------------------------------------------------------------- prerequisite modes
PREREQ_NONE = 0
PREREQ_BLOCK = 1  # exposures do not count until every prerequisite has been learned
PREREQ_SLOW = 2  # they count with probability ``factor``

PREREQUISITE_MODES = MappingProxyType({"block": PREREQ_BLOCK, "slow": PREREQ_SLOW})

# ---------------------------------------------------------------- composition operations
OP_PRODUCT = 0  # v = Π_i v_i
OP_NOISY_OR = 1  # v = 1 − Π_i (1 − w_i v_i)
OP_WEIGHTED_SUM = 2  # v = Σ_i w_i v_i (weights sum to 1)
OP_K_OF_N = 3  # v = P(at least k of the independent children succeed)

#: composition rule name → operation; several rules share one operation (``any`` is noisy-or
#: with unit weights, ``mean`` a weighted sum with weights normalised at compile time)
COMPOSITION_RULES = MappingProxyType({
    "all": OP_PRODUCT,
    "product": OP_PRODUCT,
    "any": OP_NOISY_OR,
    "noisy_or": OP_NOISY_OR,
    "mean": OP_WEIGHTED_SUM,
    "k_of_n": OP_K_OF_N,
})

TABLES = MappingProxyType({
    "acquisition": ACQUISITIONS,
    "policy": POLICIES,
    "prerequisites.mode": PREREQUISITE_MODES,
    "rule": COMPOSITION_RULES,
})


def code_of(table: str, name: object) -> int:
    """The kernel code of ``name`` in ``TABLES[table]``; ValueError naming the field otherwise."""
    codes = TABLES[table]
    if not isinstance(name, str) or name not in codes:
        raise ValueError(f"{table} = {name!r} is invalid: must be one of {', '.join(codes)}")
    return codes[name]


# ---------------------------------------------------------------- exact engine: per-quantum state
NOT_READY = 0  # still counting exposures
LEARNED = 1
READY = 2  # ready, never learned yet (rejected or waiting for room)
EVICTED = 3  # ready, learned before and evicted since
#: exposures-to-go of a quantum that never counts (blocked, unlearnable): beyond any run
NEVER = 4_000_000_000_000_000_000

# ---------------------------------------------------------------- numerics shared by kernels
#: Capacity checks allow a relative slack so that sums of costs that are exact in decimal
#: (0.1 + 0.1 + 0.1 against 0.3) fit in every engine alike.
FIT_RTOL = 1e-9
#: Resource family: exposures needed are ⌈remaining / w · (1 − PROGRESS_RTOL)⌉, so that a
#: weight 1/U whose sum of shares carries rounding (U = 1.0000000000000009 for a full set)
#: does not turn an exact number of exposures into one more.
PROGRESS_RTOL = 1e-9
