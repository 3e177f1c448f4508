"""Compile a validated Simulation into the flat arrays the numba kernels take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import codes
from .kernels.random import agent_states
from .kernels.sampling import build_alias_table
from .specs import Dataset, Simulation


@dataclass(frozen=True)
class Compiled:
    """Kernel inputs. Arrays are 0-based over quanta; codes are the kernels' constants."""

    table: np.ndarray  # packed alias table, uint64[K] (empty for the events engine)
    p: np.ndarray  # use frequencies, float64[K]
    tau: np.ndarray  # thresholds τ_k, float64[K]
    acquisition: int
    cost: np.ndarray  # float64[K]
    gain: np.ndarray  # p_k (b_k − a_k), float64[K]
    base_loss: float  # Σ p_k b_k: the loss with nothing learned
    capacity: np.ndarray  # float64[agents]
    policy: int
    n_prereq: np.ndarray  # int64[K]: number of prerequisites of each quantum
    dep_ptr: np.ndarray  # CSR over prerequisites → dependents, int64[K + 1]
    dep_idx: np.ndarray  # int64[n_edges]
    prereq_mode: int
    slow_factor: float
    dataset_size: int  # 0 = online
    batch_size: int
    checkpoints: np.ndarray  # int64[C]
    states: np.ndarray  # xoshiro256** states, uint64[agents, 4]


def _kernel_array(values) -> np.ndarray:
    """float64, C-contiguous and writable (copied only if it is not yet): numba compiles a
    kernel once per combination of array types, and read-only or strided arrays are other
    types (spec arrays are read-only; scalar fields are stride-0 views)."""
    return np.require(np.asarray(values, dtype=np.float64), requirements=["C", "W"])


def compile_simulation(sim: Simulation, engine: str = "exact") -> Compiled:
    """Flatten ``sim`` for ``engine``; the alias table is built only for the exact engine
    (the events engine never draws individual samples)."""
    quanta, learner, data = sim.quanta, sim.learner, sim.data
    k_total = quanta.n_quanta
    p = _kernel_array(quanta.p)
    prereq = learner.prerequisites
    n_prereq = np.zeros(k_total, dtype=np.int64)
    dep_ptr = np.zeros(k_total + 1, dtype=np.int64)
    dep_idx = np.zeros(0, dtype=np.int64)
    prereq_mode = codes.PREREQ_NONE
    slow_factor = 1.0
    if prereq is not None and prereq.edges:
        edges = np.array(sorted(set(prereq.edges)), dtype=np.int64)
        np.add.at(n_prereq, edges[:, 1], 1)
        order = np.argsort(edges[:, 0], kind="stable")
        dep_idx = np.ascontiguousarray(edges[order, 1])
        dep_ptr[1:] = np.cumsum(np.bincount(edges[:, 0], minlength=k_total))
        prereq_mode = codes.PREREQ_BLOCK if prereq.mode == "block" else codes.PREREQ_SLOW
        slow_factor = prereq.factor
    return Compiled(
        table=build_alias_table(p) if engine == "exact" else np.zeros(0, dtype=np.uint64),
        p=p,
        tau=_kernel_array(quanta.thresholds),
        acquisition=codes.THRESHOLD if learner.acquisition == "threshold" else codes.GEOMETRIC,
        cost=_kernel_array(quanta.cost),
        gain=_kernel_array(quanta.loss_gain),
        base_loss=float(np.sum(p * quanta.unlearned_loss)),  # no BLAS: see simulate.run
        capacity=_kernel_array(learner.capacities(sim.agents)),
        policy=codes.REJECT if learner.policy == "reject" else codes.EVICT,
        n_prereq=n_prereq,
        dep_ptr=dep_ptr,
        dep_idx=dep_idx,
        prereq_mode=prereq_mode,
        slow_factor=float(slow_factor),
        dataset_size=data.size if isinstance(data, Dataset) else 0,
        batch_size=data.batch_size,
        checkpoints=sim.checkpoint_steps,
        states=agent_states(sim.seed, sim.first_agent, sim.agents),
    )
