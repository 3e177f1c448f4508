"""Named kernel inputs, built by ``simquanta.compile`` and read by both engines.

numba passes named tuples by value (a struct of array pointers and scalars), so grouping
the arguments costs nothing in the kernels and gives every field a name. Shapes use K for
quanta, A for agents; all arrays are float64 or int64, C-contiguous and writable (read-only
or strided arrays would compile other kernel signatures).
"""

from __future__ import annotations

from collections import namedtuple

#: Per-quantum inputs (arrays of length K) and the loss with nothing learned.
#:   p        use frequencies (sum 1)                                     1/sample
#:   tau      exposures needed (threshold, geometric, resource; progress units for resource),
#:            and for every family the distinct examples a dataset must hold for k to count
#:   eta      logistic rate per counted exposure (zeros for other families)   1/exposure
#:   share    g_k / Σ_j g_j with g_k = p_k (b_k − a_k): k's share of the gradient signal
#:            (resource family; zeros otherwise)
#:   cost     capacity cost                                               cost units
#:   gain     p_k (b_k − a_k): loss removed by learning k fully           bits/sample
#:   base_loss  Σ_k p_k b_k                                               bits/sample
QuantaInputs = namedtuple("QuantaInputs", ["p", "tau", "eta", "share", "cost", "gain",
                                           "base_loss"])

#: The learner: dynamics family and policy codes (``codes``), the logistic initial strength
#: s0, and per agent (length A) the capacity (cost units) and the speed factor f ≥ 1 that
#: multiplies exposures needed (divides η): f = (1 + n0/n)^κ.
LearnerInputs = namedtuple("LearnerInputs", ["acquisition", "s0", "policy", "capacity",
                                             "speed"])

#: Prerequisites as CSR over prerequisite → dependents: n_prereq int64[K], dep_ptr
#: int64[K + 1], dep_idx int64[E]; mode code (``codes.PREREQ_*``) and the slow factor.
PrereqInputs = namedtuple("PrereqInputs", ["n_prereq", "dep_ptr", "dep_idx", "mode",
                                           "slow_factor"])

#: Data regime: dataset_size 0 = online; epochs (dataset regime); batch size (samples/step).
DataInputs = namedtuple("DataInputs", ["dataset_size", "epochs", "batch_size"])

#: What to record besides loss, learned count and capacity used.
Recording = namedtuple("Recording", ["learn_steps", "learned_sets", "strength"])
