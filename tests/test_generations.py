"""Agents that learn from agents (simquanta.populations, analysis.population_theory):
students against the closed forms, generations against the mean-field recursion and its
fixed point, bit-identity with the validated one-agent path, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

import simquanta as sq
from simquanta.analysis import population_theory as pt
from simquanta.analysis.stats import sem
from simquanta.cli import main
from simquanta.generations_cli import compare
from simquanta.populations import (
    Synthetic,
    _student_quanta,
    generations_summary,
    simulate_generations,
    simulate_synthetic,
)
from simquanta.simulate import run
from simquanta.specs import Simulation

TOP_N = dict(n_quanta=100, alpha=1.0, tau=5)
N_TOP = 10


def _top_n_generations(agents=64, engine="auto"):
    """Generation 0: evict learners of capacity n converged to the top n; generation 1
    learns from them only (ρ = 0)."""
    return simulate_generations(
        sq.Quanta(**TOP_N), sq.Learner(capacity=N_TOP, policy="evict"),
        sq.Online(steps=5000, batch_size=100), generations=2, agents=agents, seed=1,
        checkpoints=12, engine=engine)


def test_generation_one_matches_top_n_closed_form_at_every_checkpoint():
    ds = _top_n_generations()
    teachers = ds["learned_final"].values[0].astype(bool)
    assert np.all(teachers == (np.arange(100) < N_TOP))  # converged to the top n
    assert list(ds["engine"].values) == ["exact", "exact"]
    p = sq.Quanta(**TOP_N).p
    samples = ds["samples"].values
    theory, variance = pt.student_expected_loss(samples, p, teachers[0], 5.0,
                                                with_variance=True)
    np.testing.assert_allclose(theory, pt.top_n_student_loss(samples, p, N_TOP, 5.0))
    real = ds["loss_real"].values[1]
    z = compare(real.mean(axis=0), sem(real), theory, np.sqrt(variance / real.shape[0]))
    assert np.all(np.abs(z) <= 4), z
    # the plateau is the cut tail Σ_{k>n} p_k
    assert real[:, -1].mean() == pytest.approx(p[N_TOP:].sum(), rel=1e-12)


def test_generation_plateau_with_real_data_matches_fixed_point():
    q = sq.Quanta(n_quanta=1000, alpha=0.5, tau=5)
    generations = 12
    ds = simulate_generations(q, sq.Learner(), sq.Online(steps=200, batch_size=100),
                              generations=generations, real_fraction=0.5, agents=256, seed=2,
                              checkpoints=6, engine="events")
    m = ds["samples"].values[-1]
    fixed, _ = pt.generation_fixed_point(q.p, m, 5.0, real_fraction=0.5, poisson=True)
    plateaus = pt.generation_plateaus(q.p, m, 5.0, generations, real_fraction=0.5,
                                      poisson=True)
    final = ds["loss_real"].values[:, :, -1]
    z_fixed = (final[-1].mean() - fixed) / sem(final[-1])
    assert abs(z_fixed) <= 4, z_fixed
    z_gen = (final.mean(axis=1) - plateaus) / sem(final, axis=1)
    assert np.all(np.abs(z_gen) <= 4), z_gen
    # collapse without real data: the plateau rises generation after generation
    assert plateaus[-1] > plateaus[0]
    no_real = pt.generation_plateaus(q.p, m, 5.0, generations, poisson=True)
    assert np.all(np.diff(no_real) >= 0) and no_real[-1] > plateaus[-1]


@pytest.mark.parametrize("engine", ["events", "exact"])
def test_students_bit_identical_to_the_validated_one_agent_path(engine):
    q = sq.Quanta(n_quanta=300, alpha=0.5, tau=4)
    learner, data = sq.Learner(), sq.Online(steps=300, batch_size=10)
    rng = np.random.default_rng(0)
    teachers = rng.random((3, 300)) < np.linspace(0.9, 0.1, 300)
    source = Synthetic(teachers, real_fraction=0.2, error=0.1, distill=0.5)
    ds = simulate_synthetic(q, learner, data, source, agents=6, seed=5, checkpoints=5,
                            engine=engine)
    for i in (0, 4):
        qi = _student_quanta(q, teachers[i % 3], source)
        assert qi.n_quanta == 301  # the noise quantum
        ref = run(Simulation(qi, learner, data, agents=1, seed=5, checkpoints=5, engine=engine,
                             first_agent=i, record_learn_steps=True))
        assert np.array_equal(ref.loss[0], ds["loss_train"].values[0, i])
        assert np.array_equal(ref.learned[0], ds["learned"].values[0, i])
        mask = ref.learned_mask()[0][:, :300]
        real = 1.0 - np.sum(np.where(mask, q.p, 0.0), axis=-1)
        np.testing.assert_allclose(ds["loss_real"].values[0, i], real, rtol=0, atol=1e-12)
    # any split of the agents over calls gives the same students
    part = simulate_synthetic(q, learner, data, source, agents=3, seed=5, checkpoints=5,
                              engine=engine, first_agent=3)
    assert np.array_equal(part["loss_train"].values[0], ds["loss_train"].values[0, 3:])


def test_generation_zero_is_plain_simulate_and_json_format():
    q = sq.Quanta(n_quanta=200, alpha=0.5, tau=3)
    data = sq.Online(steps=100, batch_size=10)
    ds = simulate_generations(q, sq.Learner(), data, generations=3, real_fraction=0.3,
                              agents=4, seed=9, checkpoints=4, engine="events")
    plain = sq.simulate(q, sq.Learner(), data, agents=4, seed=9, checkpoints=4,
                        engine="events")
    assert np.array_equal(ds["loss_train"].values[0], plain.loss)
    np.testing.assert_allclose(ds["loss_real"].values[0], plain.loss, atol=1e-12)
    assert len(set(ds["seed"].values.tolist())) == 3  # generations draw independently
    out = generations_summary(ds)
    assert [g["generation"] for g in out["generations"]] == [0, 1, 2]
    assert set(out["generations"][0]) == {"generation", "samples", "loss_real_mean",
                                          "loss_real_sem", "loss_train_mean", "learned_mean"}


def test_noise_and_distillation_frequencies():
    p = np.array([0.5, 0.3, 0.2])
    known = np.array([True, False, True])
    q, noise = pt.student_frequencies(p, known, real_fraction=0.25, error=0.2)
    assert noise == pytest.approx(0.75 * 0.2)
    assert q.sum() + noise == pytest.approx(1.0)
    assert q[1] == pytest.approx(0.25 * 0.3)
    assert q[0] == pytest.approx(0.25 * 0.5 + 0.75 * 0.8 * 0.5 / 0.7)
    tau = pt.distilled_tau(np.array([10.0, 10.0, 2.0]), known, 0.3)
    assert tau.tolist() == [3.0, 10.0, 1.0]  # exact 3, not 3.0000000000000004; floor 1
    # a teacher that knows nothing emits only noise
    q0, noise0 = pt.student_frequencies(p, np.zeros(3, bool), 0.0, 0.0)
    assert q0.sum() == 0 and noise0 == 1.0


def test_tail_cut_law_bounds_the_student_form():
    p = sq.Quanta(n_quanta=500, alpha=0.5).p
    m = np.array([10, 100, 1000, 10**4, 10**6])
    ours = pt.top_n_student_loss(m, p, 50, 5.0)
    theirs = pt.tail_cut_law(m, p, 50, 5.0)
    assert np.all(ours <= theirs + 1e-15)
    assert ours[-1] == pytest.approx(p[50:].sum(), rel=1e-9)
    assert theirs[-1] == pytest.approx(p[50:].sum(), rel=1e-9)


def test_task_success_per_generation():
    from simquanta.composition import CompositionGraph

    graph = CompositionGraph()
    graph.add_node("head", rule="all", children=[0, 1])
    graph.add_node("tail", rule="all", children=[0, 150])
    ds = simulate_generations(sq.Quanta(n_quanta=200, alpha=0.5, tau=3), sq.Learner(),
                              sq.Online(steps=50, batch_size=10), generations=3, agents=8,
                              seed=1, checkpoints=3, engine="events", graph=graph)
    success = ds["task_success"].sel(task="tail").values[:, :, -1].mean(axis=1)
    assert ds["task_success"].dims == ("generation", "agent", "checkpoint", "task")
    assert success[1] <= success[0] and success[2] <= success[1]  # ρ = 0: the tail is lost


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("field, kwargs", [
    ("real_fraction", dict(real_fraction=1.5)),
    ("real_fraction", dict(real_fraction=-0.1)),
    ("error", dict(error=1.0)),
    ("error", dict(error=-0.1)),
    ("distill", dict(distill=0.0)),
    ("distill", dict(distill=1.5)),
    ("generations", dict(generations=0)),
])
def test_bad_options_name_the_field(field, kwargs):
    args = dict(generations=2) | kwargs
    with pytest.raises(ValueError, match=f"^{field} = "):
        simulate_generations(sq.Quanta(n_quanta=10), generations=args.pop("generations"),
                             **args)


def test_bad_teachers_name_the_field():
    q = sq.Quanta(n_quanta=20)
    data = sq.Online(steps=10)
    no_sets = sq.simulate(q, sq.Learner(), data, agents=2)
    with pytest.raises(ValueError, match="^teacher = .*no recorded learned sets"):
        Synthetic(no_sets)
    teacher = sq.simulate(q, sq.Learner(), data, agents=2, record_learn_steps=True)
    with pytest.raises(ValueError, match="^teacher = .*n_quanta = 30"):
        simulate_synthetic(sq.Quanta(n_quanta=30), None, data, Synthetic(teacher), agents=2)
    with pytest.raises(ValueError, match="^teacher = .*frequencies"):
        simulate_synthetic(sq.Quanta(n_quanta=20, alpha=1.0), None, data, Synthetic(teacher),
                           agents=2)
    with pytest.raises(ValueError, match="^teacher = .*multiple"):
        simulate_synthetic(q, None, data, Synthetic(teacher), agents=3)
    evict = sq.simulate(q, sq.Learner(capacity=3, policy="evict"), data, agents=2,
                        record_learn_steps=True, engine="exact")
    with pytest.raises(ValueError, match="^teacher = .*record_learned_sets"):
        Synthetic(evict)


@pytest.mark.parametrize("flags, field", [
    (["--real-fraction", "2"], "real_fraction"),
    (["--error", "1"], "error"),
    (["--distill", "0"], "distill"),
    (["--generations", "0"], "generations"),
])
def test_cli_bad_input_one_line_exit_2_nothing_written(flags, field, tmp_path, capsys):
    out = tmp_path / "g.nc"
    code = main(["generations", "--n-quanta", "20", "--steps", "10", "--agents", "2",
                 "--out", str(out)] + flags)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"error: {field} = ") and err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_generation_one_within_4_se_and_json(capsys):
    argv = ["generations", "--n-quanta", "100", "--alpha", "1", "--tau", "5", "--capacity",
            "10", "--policy", "evict", "--batch-size", "100", "--steps", "5000", "--agents",
            "64", "--checkpoints", "12", "--generations", "2"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "every teacher knows exactly the top n = 10" in text
    assert "within 4 SE" in text and "beyond" not in text
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [g["generation"] for g in out["generations"]] == [0, 1]
    assert len(out["generations"][1]["loss_real_mean"]) == 12


def test_help_has_runnable_example(capsys):
    with pytest.raises(SystemExit):
        main(["generations", "--help"])
    text = capsys.readouterr().out
    assert "simquanta generations --n-quanta 100" in text
