"""Specs: one test per rejected input (the ValueError names the field), plus the derived
quantities (frequencies, thresholds, checkpoints) they promise."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from simquanta import Dataset, Learner, Online, Prerequisites, Quanta, Simulation
from simquanta.specs import LEARN_STEPS_MAX_BYTES, checkpoint_steps


def rejects(field: str):
    """pytest.raises(ValueError) whose message starts with the field name."""
    return pytest.raises(ValueError, match=rf"^{field.replace('.', '[.]')} = ")


def sim(**kwargs) -> Simulation:
    base = dict(quanta=Quanta(10), learner=Learner(), data=Online(steps=100), agents=2)
    base.update(kwargs)
    return Simulation(**base)


# ------------------------------------------------------------------ Quanta


@pytest.mark.parametrize("n", [0, -3, 1.5, True, "10", None])
def test_n_quanta_rejected(n):
    with rejects("n_quanta"):
        Quanta(n)


@pytest.mark.parametrize("freq", [[1.0, math.nan, 1.0], [1.0, math.inf, 1.0],
                                  [1.0, -0.5, 1.0]])
def test_frequencies_non_finite_or_negative_rejected(freq):
    with rejects("frequencies"):
        Quanta(3, frequencies=freq)


def test_frequencies_zero_sum_rejected():
    with rejects("frequencies"):
        Quanta(3, frequencies=[0.0, 0.0, 0.0])


@pytest.mark.parametrize("freq", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [[1.0, 2.0, 3.0]]])
def test_frequencies_wrong_length_rejected(freq):
    with rejects("frequencies"):
        Quanta(3, frequencies=freq)


@pytest.mark.parametrize("alpha", [math.nan, math.inf, -math.inf, -2.0, -1.0, -0.5, 0.0, "0.5"])
def test_alpha_rejected(alpha):
    with rejects("alpha"):
        Quanta(5, alpha=alpha)


@pytest.mark.parametrize("offset", [-1.0, -1.5, math.nan, math.inf])
def test_offset_rejected(offset):
    with rejects("offset"):
        Quanta(5, offset=offset)


@pytest.mark.parametrize("tau", [0.5, 0.0, -1.0, [1.0, 2.0, 0.9], math.nan, math.inf])
def test_tau_below_one_or_non_finite_rejected(tau):
    with rejects("tau"):
        Quanta(3, tau=tau)


@pytest.mark.parametrize("tau", [[1.0, 2.0], [1.0] * 4, "abc"])
def test_tau_wrong_length_rejected(tau):
    with rejects("tau"):
        Quanta(3, tau=tau)


@pytest.mark.parametrize("field", ["cost", "learned_loss", "unlearned_loss"])
def test_per_quantum_wrong_length_rejected(field):
    with rejects(field):
        Quanta(3, **{field: [1.0, 2.0]})


def test_negative_cost_rejected():
    with rejects("cost"):
        Quanta(3, cost=[1.0, -1.0, 1.0])


@pytest.mark.parametrize("gamma", [-1.5, 10.5, math.nan, math.inf, "x"])
def test_gamma_out_of_range_rejected(gamma):
    with rejects("gamma"):
        Quanta(4, gamma=gamma)


def test_gamma_with_array_tau_rejected():
    with pytest.raises(ValueError, match=r"^tau = .*gamma") as info:
        Quanta(3, tau=[1.0, 2.0, 3.0], gamma=0.5)
    assert "gamma" in str(info.value)


# ------------------------------------------------------------------ Learner


@pytest.mark.parametrize("capacity", [-1.0, -math.inf, math.nan, "abc", [1.0, -1.0],
                                      [1.0, math.nan], [], [[1.0]]])
def test_capacity_rejected(capacity):
    with rejects("capacity"):
        Learner(capacity=capacity)


def test_capacity_per_agent_wrong_length_rejected():
    with rejects("capacity"):
        sim(learner=Learner(capacity=[1.0, 2.0, 3.0]), agents=2)


def test_unknown_acquisition_rejected():
    with rejects("acquisition"):
        Learner(acquisition="sigmoid")


def test_unknown_policy_rejected():
    with rejects("policy"):
        Learner(policy="lru")


def test_unknown_prerequisite_mode_rejected():
    with rejects("prerequisites.mode"):
        Prerequisites([(0, 1)], mode="soft")


@pytest.mark.parametrize("factor", [0.0, -0.1, 1.5, math.nan])
def test_prerequisite_factor_rejected(factor):
    with rejects("prerequisites.factor"):
        Prerequisites([(0, 1)], mode="slow", factor=factor)


@pytest.mark.parametrize("edges", [[(0, 1), (1, 2), (2, 0)], [(3, 4), (4, 3)]])
def test_prerequisite_cycle_rejected(edges):
    with pytest.raises(ValueError, match=r"^prerequisites[.]edges = .*cycle"):
        Prerequisites(edges)


@pytest.mark.parametrize("edges", [[(1, 1)], [(0, -1)], [(0, 1.0)], [(0, 1, 2)], [5]])
def test_prerequisite_malformed_edge_rejected(edges):
    with rejects("prerequisites.edges"):
        Prerequisites(edges)


@pytest.mark.parametrize("edge", [(0, 10), (10, 0), (25, 3)])
def test_prerequisite_index_out_of_range_rejected(edge):
    with pytest.raises(ValueError, match=r"^prerequisites[.]edges = .*n_quanta = 10"):
        sim(learner=Learner(prerequisites=Prerequisites([(0, 1), edge])))


def test_learner_prerequisites_type_rejected():
    with rejects("prerequisites"):
        Learner(prerequisites=[(0, 1)])


# ------------------------------------------------------------------ data regimes


@pytest.mark.parametrize("batch", [0, -1, 1.5])
def test_online_batch_size_rejected(batch):
    with rejects("batch_size"):
        Online(steps=10, batch_size=batch)


@pytest.mark.parametrize("batch", [0, -1, 2.0])
def test_dataset_batch_size_rejected(batch):
    with rejects("batch_size"):
        Dataset(size=100, batch_size=batch)


@pytest.mark.parametrize("steps", [0, -5, 10.0, True])
def test_steps_rejected(steps):
    with rejects("steps"):
        Online(steps=steps)


@pytest.mark.parametrize("size", [0, -1, 3.5])
def test_dataset_size_rejected(size):
    with rejects("dataset_size"):
        Dataset(size=size)


def test_dataset_smaller_than_a_batch_rejected():
    with pytest.raises(ValueError, match=r"^dataset_size = 10 .*batch_size = 11"):
        Dataset(size=10, batch_size=11)


@pytest.mark.parametrize("epochs", [0, -2, 1.5])
def test_epochs_rejected(epochs):
    with rejects("epochs"):
        Dataset(size=100, epochs=epochs)


# ------------------------------------------------------------------ Simulation


def test_unknown_engine_rejected():
    with rejects("engine"):
        sim(engine="gpu")


@pytest.mark.parametrize("checkpoints", [[0], [0, 5], [101], [1, 50, 101], [-3]])
def test_checkpoints_outside_run_rejected(checkpoints):
    with pytest.raises(ValueError, match=r"^checkpoints = .*1\.\.100"):
        sim(checkpoints=checkpoints)


@pytest.mark.parametrize("checkpoints", [0, -1, True, [], [1.5, 3.0], "many"])
def test_checkpoints_count_or_list_rejected(checkpoints):
    with rejects("checkpoints"):
        sim(checkpoints=checkpoints)


@pytest.mark.parametrize("field, value", [("agents", 0), ("agents", 2.0), ("seed", -1),
                                          ("first_agent", -1), ("record_learn_steps", 1)])
def test_simulation_scalars_rejected(field, value):
    with rejects(field):
        sim(**{field: value})


@pytest.mark.parametrize("field, value", [("quanta", 10), ("learner", "reject"),
                                          ("data", 100)])
def test_simulation_component_types_rejected(field, value):
    with rejects(field):
        sim(**{field: value})


def test_record_learn_steps_over_limit_fails_before_allocating():
    agents, k_total = 10**6, 10**4  # 80 GB of learn steps
    assert agents * k_total * 8 > LEARN_STEPS_MAX_BYTES
    quanta = Quanta(k_total)
    tracemalloc.start()
    try:
        with rejects("record_learn_steps"):
            sim(quanta=quanta, agents=agents, record_learn_steps=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Validation touches O(agents) for capacities (8 MB here), never agents × K.
    assert peak < 64 * 2**20


def test_record_learn_steps_just_under_limit_accepted():
    agents = LEARN_STEPS_MAX_BYTES // (8 * 1000)
    s = sim(quanta=Quanta(1000), agents=agents, record_learn_steps=True)
    assert s.record_learn_steps


@pytest.mark.parametrize("field, make", [
    ("tau", lambda: Quanta(3, tau=[1.0, "a", 2.0])),
    ("cost", lambda: Quanta(3, cost={"a": 1})),
    ("frequencies", lambda: Quanta(3, frequencies=["x", 1, 2])),
    ("capacity", lambda: Learner(capacity=[1.0, "a"])),
], ids=["tau", "cost", "frequencies", "capacity"])
def test_non_numeric_entries_name_the_field(field, make):
    with rejects(field):
        make()


def test_record_learn_steps_over_limit_with_absurd_agents():
    with rejects("record_learn_steps"):
        sim(quanta=Quanta(1), agents=10**14, record_learn_steps=True)


# ------------------------------------------------------------------ derived quantities


@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0, 2.5])
def test_zipf_frequencies(alpha):
    k = np.arange(1, 51, dtype=float)
    w = k ** -(alpha + 1)
    p = Quanta(50, alpha=alpha).p
    assert np.allclose(p, w / w.sum(), rtol=1e-12, atol=0)
    assert math.isclose(p.sum(), 1.0, rel_tol=1e-12)
    assert np.all(np.diff(p) <= 0)


@pytest.mark.parametrize("offset", [-0.5, 2.0, 10.0])
def test_zipf_offset(offset):
    k = np.arange(1, 31, dtype=float)
    w = (k + offset) ** -1.5
    assert np.allclose(Quanta(30, alpha=0.5, offset=offset).p, w / w.sum(), rtol=1e-12,
                       atol=0)


def test_zipf_large_alpha_no_underflow():
    p = Quanta(1000, alpha=300.0).p
    assert np.all(np.isfinite(p)) and math.isclose(p.sum(), 1.0) and p[0] > 0.99


def test_user_frequencies_normalised():
    q = Quanta(4, frequencies=[2, 0, 1, 1])
    assert np.array_equal(q.p, [0.5, 0.0, 0.25, 0.25])


@pytest.mark.parametrize("gamma", [-0.19, 0.0, 0.4, 2.0])
def test_gamma_thresholds(gamma):
    q = Quanta(40, alpha=0.6, tau=3.0, gamma=gamma)
    p, tau = q.p, q.thresholds
    # Expected steps to learn k, τ_k / p_k, scale as p_k^−(1+γ): the ratio is constant.
    ratio = (tau / p) / p ** -(1 + gamma)
    assert np.allclose(ratio, ratio[0], rtol=1e-12, atol=0)
    assert math.isclose(tau.min(), 3.0, rel_tol=1e-12)
    assert np.all(tau >= 1.0)


def test_thresholds_without_gamma():
    tau = [1.0, 2.5, 7.0]
    assert np.array_equal(Quanta(3, tau=tau).thresholds, tau)
    assert np.array_equal(Quanta(3, tau=2.0).thresholds, [2.0, 2.0, 2.0])


def test_spec_arrays_are_read_only():
    q = Quanta(3, tau=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        q.tau[0] = 5.0
    with pytest.raises(ValueError):
        q.p[0] = 0.0


@pytest.mark.parametrize("count, total", [(40, 10_000), (12, 1000), (50, 30), (2, 7),
                                          (1, 5), (7, 1)])
def test_log_spaced_checkpoints(count, total):
    steps = checkpoint_steps(count, total)
    assert steps.dtype == np.int64
    assert np.array_equal(steps, np.unique(steps))  # sorted, no duplicates
    assert steps[-1] == total and steps[0] >= 1
    assert steps.size == min(count, total)  # checkpoints=n gives n checkpoints
    if count >= total:
        assert np.array_equal(steps, np.arange(1, total + 1))
    elif count > 1:
        assert steps[0] == 1
        ideal = np.round(np.geomspace(1, total, count)).astype(np.int64)
        if np.unique(ideal).size == count:  # rounding repeats nothing: the plain grid
            assert np.array_equal(steps, ideal)
        else:  # each step at or after its ideal place, log-spaced where rounding allows
            assert np.all(steps >= ideal)
            tail = ideal >= count
            assert np.array_equal(steps[tail], ideal[tail])


@pytest.mark.parametrize("count", [29, 30, 31, 100])
def test_checkpoint_count_is_exact_where_rounding_collides(count):
    assert checkpoint_steps(count, 100).size == count
    assert checkpoint_steps(count, 10**6).size == count


def test_checkpoint_list_sorted_and_deduplicated():
    assert np.array_equal(checkpoint_steps([50, 3, 3, 100], 100), [3, 50, 100])


def test_dataset_steps_and_samples():
    data = Dataset(size=230, epochs=3, batch_size=16)
    assert data.steps_per_epoch == 15 and data.total_steps == 45
    assert np.array_equal(data.samples_at(np.array([1, 14, 15, 16, 45])),
                          [16, 224, 230, 246, 690])
    assert np.array_equal(Online(steps=10, batch_size=7).samples_at(np.array([1, 10])),
                          [7, 70])


def test_config_round_trips_through_json():
    import json

    s = sim(quanta=Quanta(10, tau=[1.0] * 5 + [2.0] * 5),
            learner=Learner(capacity=[1.0, math.inf], policy="evict",
                            prerequisites=Prerequisites([(0, 1)], mode="slow", factor=0.5)),
            data=Dataset(size=50, epochs=2, batch_size=7))
    config = json.loads(json.dumps(s.to_config()))
    assert config["capacity"] == [1.0, "inf"]
    assert config["prerequisites"] == {"edges": [[0, 1]], "mode": "slow", "factor": 0.5}
    assert config["dataset_size"] == 50 and config["tau"][-1] == 2.0


def test_huge_checkpoint_count_is_clamped_to_steps():
    s = sim(quanta=Quanta(10), data=Online(steps=50), checkpoints=10**10)
    assert np.array_equal(s.checkpoint_steps, np.arange(1, 51))


def test_record_learned_sets_over_limit():
    with rejects("record_learned_sets"):
        sim(quanta=Quanta(10_000), agents=10_000, checkpoints=40, record_learned_sets=True)
