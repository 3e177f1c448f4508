"""Integer codes shared by the kernels and the compiler (numba takes ints, not strings)."""

THRESHOLD = 0
GEOMETRIC = 1

REJECT = 0
EVICT = 1

PREREQ_NONE = 0
PREREQ_BLOCK = 1
PREREQ_SLOW = 2

#: Capacity checks allow a relative slack so that sums of costs that are exact in decimal
#: (0.1 + 0.1 + 0.1 against 0.3) fit in every engine alike.
FIT_RTOL = 1e-9
