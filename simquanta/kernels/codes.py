"""Integer codes shared by the kernels and the compiler (numba takes ints, not strings)."""

THRESHOLD = 0
GEOMETRIC = 1

REJECT = 0
EVICT = 1

PREREQ_NONE = 0
PREREQ_BLOCK = 1
PREREQ_SLOW = 2
