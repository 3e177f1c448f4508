"""``simulate``: validate a run, pick an engine, run the kernel, wrap a Result."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from .compile import compile_simulation
from .kernels.exact import run_exact
from .result import Result
from .specs import DataRegime, Learner, Online, Quanta, Simulation


def simulate(
    quanta: Quanta,
    learner: Learner | None = None,
    data: DataRegime | None = None,
    *,
    agents: int = 1,
    seed: int = 0,
    checkpoints: int | Sequence[int] = 40,
    engine: Literal["exact", "events", "auto"] = "auto",
    record_learn_steps: bool = False,
    first_agent: int = 0,
) -> Result:
    """Simulate ``agents`` independent learners acquiring quanta from sampled data.

    Agent i (i = first_agent, first_agent + 1, ...) draws from its own random stream
    derived from (seed, i), so results are identical for any thread count and any split
    of the agents over calls. Returns a Result with per-checkpoint loss (bits per
    sample), number learned and capacity used per agent.
    """
    sim = Simulation(
        quanta=quanta,
        learner=learner if learner is not None else Learner(),
        data=data if data is not None else Online(steps=1000),
        agents=agents,
        seed=seed,
        checkpoints=checkpoints,
        engine=engine,
        record_learn_steps=record_learn_steps,
        first_agent=first_agent,
    )
    return run(sim)


def run(sim: Simulation) -> Result:
    """Run a validated Simulation."""
    if sim.engine == "events":
        raise NotImplementedError("engine = 'events' is not available yet")
    compiled = compile_simulation(sim)
    start = time.perf_counter()
    loss, learned, used, learn_step = run_exact(
        compiled.states, compiled.table, compiled.p, compiled.tau, compiled.acquisition,
        compiled.cost, compiled.gain, compiled.base_loss, compiled.capacity, compiled.policy,
        compiled.n_prereq, compiled.dep_ptr, compiled.dep_idx, compiled.prereq_mode,
        compiled.slow_factor, compiled.dataset_size, compiled.batch_size,
        compiled.total_steps, compiled.checkpoints, sim.record_learn_steps,
    )
    wall = time.perf_counter() - start
    return Result(
        engine="exact",
        steps=compiled.checkpoints,
        samples=sim.data.samples_at(compiled.checkpoints),
        loss=loss,
        learned=learned,
        used=used,
        capacity=compiled.capacity,
        frequencies=compiled.p,
        config=sim.to_config(),
        learn_step=learn_step if sim.record_learn_steps else None,
        wall_seconds=wall,
    )
