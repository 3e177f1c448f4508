"""Compile a validated Simulation into the named arrays the numba kernels take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import codes
from .kernels.inputs import DataInputs, LearnerInputs, PrereqInputs, QuantaInputs, Recording
from .kernels.random import agent_states
from .kernels.sampling import build_alias_table
from .specs import Dataset, Simulation


@dataclass(frozen=True)
class Compiled:
    """Kernel inputs (``kernels.inputs``); arrays are 0-based over quanta."""

    table: np.ndarray  # packed alias table, uint64[K] (empty for the events engine)
    quanta: QuantaInputs
    learner: LearnerInputs
    prereq: PrereqInputs
    data: DataInputs
    record: Recording
    checkpoints: np.ndarray  # int64[C]
    states: np.ndarray  # xoshiro256** states, uint64[agents, 4]

    def for_agents(self, lo: int, hi: int) -> tuple[np.ndarray, LearnerInputs]:
        """States and learner inputs of agents lo..hi−1."""
        learner = self.learner._replace(capacity=self.learner.capacity[lo:hi],
                                        speed=self.learner.speed[lo:hi])
        return self.states[lo:hi], learner


def _kernel_array(values) -> np.ndarray:
    """float64, C-contiguous and writable (copied only if it is not yet): numba compiles a
    kernel once per combination of array types, and read-only or strided arrays are other
    types (spec arrays are read-only; scalar fields are stride-0 views)."""
    return np.require(np.asarray(values, dtype=np.float64), requirements=["C", "W"])


def _prerequisites(sim: Simulation) -> PrereqInputs:
    """CSR over prerequisite → dependents (sorted, duplicate edges dropped)."""
    k_total = sim.quanta.n_quanta
    prereq = sim.learner.prerequisites
    n_prereq = np.zeros(k_total, dtype=np.int64)
    dep_ptr = np.zeros(k_total + 1, dtype=np.int64)
    if prereq is None or not prereq.edges:
        return PrereqInputs(n_prereq, dep_ptr, np.zeros(0, dtype=np.int64), codes.PREREQ_NONE,
                            1.0)
    edges = np.array(sorted(set(prereq.edges)), dtype=np.int64)
    np.add.at(n_prereq, edges[:, 1], 1)
    order = np.argsort(edges[:, 0], kind="stable")
    dep_idx = np.ascontiguousarray(edges[order, 1])
    dep_ptr[1:] = np.cumsum(np.bincount(edges[:, 0], minlength=k_total))
    return PrereqInputs(n_prereq, dep_ptr, dep_idx,
                        codes.code_of("prerequisites.mode", prereq.mode), float(prereq.factor))


def compile_simulation(sim: Simulation, engine: str = "exact") -> Compiled:
    """Flatten ``sim`` for ``engine``; the alias table is built only for the exact engine
    (the events engine never draws individual samples)."""
    quanta, learner, data = sim.quanta, sim.learner, sim.data
    k_total = quanta.n_quanta
    p = _kernel_array(quanta.p)
    gain = _kernel_array(quanta.loss_gain)
    eta = np.zeros(k_total)
    if learner.eta is not None:  # η_k = η (p_k/p_ref)^γ, like τ_k = τ (p_k/p_ref)^−γ
        eta = np.full(k_total, learner.eta)
        if quanta.gamma_factor is not None:
            eta = _kernel_array(eta / quanta.gamma_factor)
    share = np.zeros(k_total)
    if learner.acquisition == "resource":
        signal = gain if np.sum(gain) > 0 else p  # no loss to remove: share by frequency
        share = _kernel_array(signal / np.sum(signal))
    capacity = _kernel_array(learner.capacities(sim.agents))
    return Compiled(
        table=build_alias_table(p) if engine == "exact" else np.zeros(0, dtype=np.uint64),
        quanta=QuantaInputs(
            p=p,
            tau=_kernel_array(quanta.thresholds),
            eta=eta,
            share=share,
            cost=_kernel_array(quanta.cost),
            gain=gain,
            base_loss=float(np.sum(p * quanta.unlearned_loss)),  # no BLAS: see simulate.run
        ),
        learner=LearnerInputs(
            acquisition=codes.code_of("acquisition", learner.acquisition),
            s0=float(learner.s0) if learner.s0 is not None else 0.0,
            policy=codes.code_of("policy", learner.policy),
            capacity=capacity,
            speed=_kernel_array(learner.speed_factors(sim.agents)),
        ),
        prereq=_prerequisites(sim),
        data=DataInputs(
            dataset_size=data.size if isinstance(data, Dataset) else 0,
            epochs=data.epochs if isinstance(data, Dataset) else 1,
            batch_size=data.batch_size,
        ),
        record=Recording(
            learn_steps=sim.record_learn_steps,
            learned_sets=sim.record_learned_sets,
            strength=sim.record_strength,
        ),
        checkpoints=sim.checkpoint_steps,
        states=agent_states(sim.seed, sim.first_agent, sim.agents),
    )
