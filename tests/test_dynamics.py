"""Dynamics families beyond the counter: logistic strength, shared update budget (resource),
size-dependent speed — both engines against closed forms (``analysis.dynamics_theory``),
the naive reference, and each other; the rule tables and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from naive import assert_kernel_matches_naive

import simquanta as sq
from simquanta.analysis import dynamics_theory as dt
from simquanta.cli import main
from simquanta.kernels import codes
from simquanta.simulate import run
from simquanta.specs import Learner, Prerequisites, Quanta, Simulation

SE_TOL = 4.0  # standard errors


def _within_se(mean, sem, theory, n_agents, scale=1.0):
    """|mean − theory| ≤ 4 SE. An SE of 0 (every agent equal, e.g. all learned) would
    demand exact agreement with a theory value of 1e−5: the SE is floored at one agent's
    worth, scale / n_agents (scale: range of one agent's value — 1 bit, or K quanta)."""
    return np.abs(mean - theory) <= SE_TOL * np.maximum(sem, scale / n_agents)


# ------------------------------------------------------------------ logistic vs closed form

def _done_when_json(engine, capsys):
    argv = ["simulate", "--acquisition", "logistic", "--eta", "0.5", "--s0", "0.01",
            "--n-quanta", "2000", "--alpha", "0.5", "--capacity", "inf", "--batch-size", "100",
            "--steps", "10000", "--agents", "200", "--checkpoints", "12", "--engine", engine,
            "--json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("engine,counts", [("exact", "binomial"), ("events", "poisson")])
def test_done_when_logistic_matches_closed_form(engine, counts, capsys):
    out = _done_when_json(engine, capsys)
    p = sq.Quanta(n_quanta=2000, alpha=0.5).p
    samples = np.array(out["samples"], dtype=float)
    theory = dt.logistic_expected_loss(samples, p, eta=0.5, s0=0.01, counts=counts)
    mean, sem = np.array(out["loss_mean"]), np.array(out["loss_sem"])
    assert len(mean) == 12
    assert np.all(np.abs(mean - theory) <= SE_TOL * sem), (mean - theory) / sem
    learned = dt.logistic_expected_learned(samples, p, eta=0.5, s0=0.01, counts=counts)
    assert np.all(np.abs(np.array(out["learned_mean"]) - learned) <= 0.05 * learned + 2.0)


@pytest.mark.parametrize("engine,counts", [("exact", "binomial"), ("events", "poisson")])
def test_logistic_eta_follows_gamma_family(engine, counts):
    """η_k = η (p_k/p_ref)^γ per quantum: the engines match the per-quantum closed form."""
    quanta = Quanta(n_quanta=300, alpha=0.6, gamma=-0.2)
    res = sq.simulate(quanta, Learner(acquisition="logistic", eta=0.8, s0=0.05),
                      sq.Online(steps=400, batch_size=10), agents=300, seed=3,
                      checkpoints=8, engine=engine)
    eta_k = 0.8 / quanta.gamma_factor
    theory = dt.logistic_expected_loss(res.samples.astype(float), quanta.p, eta=eta_k,
                                       s0=0.05, counts=counts)
    assert np.all(_within_se(res.loss_mean, res.loss_sem, theory, res.n_agents))


def test_logistic_dataset_regime_exact_engine():
    """Whole epochs over a dataset: E[L] from the dataset closed form (τ distinct examples)."""
    quanta = Quanta(n_quanta=100, alpha=0.5, tau=2)
    data = sq.Dataset(size=400, epochs=6, batch_size=400)  # one step per epoch
    res = sq.simulate(quanta, Learner(acquisition="logistic", eta=0.7, s0=0.02), data,
                      agents=400, seed=5, checkpoints=[1, 2, 4, 6], engine="auto")
    assert res.engine == "exact"
    theory = dt.logistic_dataset_expected_loss(np.array([1, 2, 4, 6]), 400, quanta.p,
                                               eta=0.7, s0=0.02, tau=2)
    assert np.all(_within_se(res.loss_mean, res.loss_sem, theory, res.n_agents))


# ------------------------------------------------------------------ logistic: naive replay

PREREQS = {"none": None,
           "block": Prerequisites([(0, 2), (1, 2), (2, 6), (3, 9)], mode="block"),
           "slow": Prerequisites([(0, 2), (1, 2), (2, 6), (3, 9)], mode="slow", factor=0.4)}


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize("prereq", list(PREREQS))
@pytest.mark.parametrize("capacity,policy", [(math.inf, "reject"), (6.0, "reject"),
                                             (6.0, "evict")])
@pytest.mark.parametrize("data", [sq.Online(steps=120, batch_size=9),
                                  sq.Dataset(size=230, epochs=4, batch_size=16)])
def test_logistic_kernel_matches_naive(seed, prereq, capacity, policy, data):
    sim = Simulation(
        engine="exact",
        quanta=Quanta(40, alpha=0.4, tau=1.5, gamma=0.2),
        learner=Learner(capacity=capacity, policy=policy, acquisition="logistic", eta=0.9,
                        s0=0.03, prerequisites=PREREQS[prereq]),
        data=data, agents=3, seed=seed, checkpoints=9, record_learn_steps=True)
    slow = assert_kernel_matches_naive(sim)
    assert slow.learned[:, -1].max() > 0


def test_logistic_capacity_slots():
    """Slots bind: learned ≤ capacity, learned = #(s ≥ ½), strength without a slot < ½,
    loss = Σ p_k (1 − s_k) from the recorded strengths — in both engines."""
    quanta = Quanta(n_quanta=400, alpha=0.3)
    learner = Learner(capacity=25.0, acquisition="logistic", eta=0.6, s0=0.01)
    for engine in ("exact", "events"):
        res = sq.simulate(quanta, learner, sq.Online(steps=3000, batch_size=20), agents=20,
                          seed=2, checkpoints=10, engine=engine, record_strength=True)
        s = res.strength
        assert s.shape == (20, 10, 400)
        assert res.learned.max() == 25
        assert np.array_equal((s >= 0.5).sum(axis=2), res.learned)
        assert np.allclose(res.loss, 1.0 - (s * quanta.p).sum(axis=2), atol=1e-12)
        assert s.min() >= 0.01 - 1e-15 and s.max() <= 1.0


@pytest.mark.parametrize("cost", [1.0, "uneven"])
def test_logistic_engines_agree_with_capacity(cost):
    """Finite capacity (no closed form): exact and events means within 4 combined SE —
    equal costs (first arrivals that fit) and uneven ones (the heap-ordered path)."""
    cost = np.linspace(0.5, 1.5, 300) if cost == "uneven" else cost
    quanta = Quanta(n_quanta=300, alpha=0.5, cost=cost)
    learner = Learner(capacity=30.0, acquisition="logistic", eta=0.5, s0=0.01)
    runs = [sq.simulate(quanta, learner, sq.Online(steps=2000, batch_size=20), agents=300,
                        seed=9, checkpoints=8, engine=e) for e in ("exact", "events")]
    diff = runs[0].loss_mean - runs[1].loss_mean
    se = np.hypot(runs[0].loss_sem, runs[1].loss_sem)
    assert np.all(np.abs(diff) <= SE_TOL * se + 1e-12)


# ------------------------------------------------------------------ resource vs closed form

@pytest.mark.parametrize("engine", ["exact", "events"])
def test_resource_two_quanta_closed_form(engine):
    """p = (1 − 1/r, 1/r), τ = (1, m): after quantum 1 each exposure of quantum 2 adds r."""
    r, m = 4, 9
    quanta = Quanta(2, frequencies=[1 - 1 / r, 1 / r], tau=[1.0, float(m)])
    steps = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64]
    res = sq.simulate(quanta, Learner(acquisition="resource"), sq.Online(steps=64),
                      agents=4000, seed=4, checkpoints=steps, engine=engine)
    n = np.array(steps, dtype=float)
    pred = (dt.resource_two_quanta_exact(n.astype(int), r, m) if engine == "exact"
            else dt.resource_two_quanta_poisson(n, r, m))
    assert np.all(_within_se(res.loss_mean, res.loss_sem, pred.loss, res.n_agents))
    assert np.all(_within_se(res.learned_mean, res.learned_sem, pred.learned, res.n_agents,
                              scale=2.0))
    # and it is not the counting model, which needs m exposures of quantum 2 at rate 1/r
    counting = sq.simulate(quanta, Learner(), sq.Online(steps=64), agents=4000, seed=4,
                           checkpoints=steps, engine=engine)
    assert counting.loss_mean[-3] - res.loss_mean[-3] > 10 * res.loss_sem[-3]


@pytest.mark.parametrize("engine", ["exact", "events"])
def test_resource_domino_ratio(engine):
    """Mean field: a rare independent quantum (p = 1/11) takes 2.0 τ beside a frequent one,
    τ alone (dynamics_theory.resource_domino); the agents' mean times agree within 4 SE."""
    tau = 60.0
    quanta = Quanta(2, frequencies=[10.0, 1.0], tau=tau)
    res = sq.simulate(quanta, Learner(acquisition="resource"), sq.Online(steps=400),
                      agents=400, seed=8, checkpoints=400, engine=engine,
                      record_learn_steps=True)
    t2 = res.learn_step[:, 1].astype(float)
    assert np.all(t2 > 0)
    theory = dt.resource_domino(p=(1.0, 0.1), tau=tau)
    mean_field = dt.resource_mean_field_times(np.array([10, 1]) / 11, np.array([10, 1]) / 11,
                                              np.array([tau, tau]))
    # discreteness: the engines count whole exposures and whole steps (+ < 11 samples)
    assert abs(t2.mean() - mean_field[1]) <= SE_TOL * t2.std(ddof=1) / math.sqrt(400) + 11
    assert 1.5 < t2.mean() / tau < 3.0
    assert theory is not None


def test_resource_chain_blocks_until_prerequisite():
    quanta = Quanta(3, frequencies=[0.6, 0.3, 0.1], tau=8)
    learner = Learner(acquisition="resource", prerequisites=Prerequisites([(0, 2)]))
    for engine in ("exact", "events"):
        res = sq.simulate(quanta, learner, sq.Online(steps=600), agents=50, seed=1,
                          checkpoints=20, engine=engine, record_learn_steps=True)
        ls = res.learn_step
        assert np.all((ls[:, 2] < 0) | (ls[:, 2] > ls[:, 0]))


# ------------------------------------------------------------------ size-dependent speed

@pytest.mark.parametrize("engine", ["exact", "events"])
def test_speed_law_multiplies_thresholds(engine):
    """f = (1 + n0/n)^κ = 2 at n0 = n, κ = 1: identical to τ doubled (threshold: no draws)."""
    data = sq.Online(steps=500, batch_size=10)
    slow = sq.simulate(Quanta(200, tau=3), Learner(capacity=40.0, speed_n0=40.0), data,
                       agents=6, seed=3, checkpoints=7, engine=engine)
    plain = sq.simulate(Quanta(200, tau=6), Learner(capacity=40.0), data, agents=6, seed=3,
                        checkpoints=7, engine=engine)
    assert np.array_equal(slow.loss, plain.loss)
    assert np.array_equal(slow.learned, plain.learned)


def test_speed_factors():
    learner = Learner(capacity=[10.0, 100.0, math.inf], speed_n0=50.0, speed_kappa=0.5)
    assert np.allclose(learner.speed_factors(3), [6 ** 0.5, 1.5 ** 0.5, 1.0])
    assert np.array_equal(Learner(capacity=3.0).speed_factors(2), [1.0, 1.0])


# ------------------------------------------------------------------ reproducibility

@pytest.mark.parametrize("acquisition,engine", [("logistic", "exact"), ("logistic", "events"),
                                                ("resource", "exact"),
                                                ("resource", "events")])
def test_new_families_split_invariant(acquisition, engine):
    quanta = Quanta(150, alpha=0.5, tau=3)
    learner = Learner(capacity=40.0, acquisition=acquisition)
    data = sq.Online(steps=300, batch_size=10)
    whole = sq.simulate(quanta, learner, data, agents=6, seed=21, checkpoints=6,
                        engine=engine)
    parts = [sq.simulate(quanta, Learner(capacity=40.0, acquisition=acquisition), data,
                         agents=3, seed=21, checkpoints=6, engine=engine, first_agent=f)
             for f in (0, 3)]
    assert np.array_equal(whole.loss, np.concatenate([p.loss for p in parts]))


# ------------------------------------------------------------------ rule tables

@pytest.mark.parametrize("table", list(codes.TABLES))
def test_every_table_rejects_unknown_names(table):
    with pytest.raises(ValueError, match=table.replace(".", r"\.")):
        codes.code_of(table, "no_such_rule")
    for name, code in codes.TABLES[table].items():
        assert codes.code_of(table, name) == code


def test_specs_reject_unknown_rule_names():
    with pytest.raises(ValueError, match="acquisition"):
        Learner(acquisition="sigmoid")
    with pytest.raises(ValueError, match="policy"):
        Learner(policy="forget")
    with pytest.raises(ValueError, match="prerequisites.mode"):
        Prerequisites([(0, 1)], mode="fast")
    from simquanta.composition import CompositionGraph

    graph = CompositionGraph()
    with pytest.raises(ValueError, match="rule"):
        graph.add_node("t", rule="xor", children=[1, 2])


def test_every_family_has_an_events_path_and_the_router_refuses_unknown_codes():
    """A family is registered by its module, its ``codes`` entries and ``draw_need``'s
    dispatch: the events engine routes it by ``codes.EVENTS_PATHS`` (no list of families
    in events.py), and a code without a path is an error, not a default."""
    from simquanta.compile import compile_simulation
    from simquanta.kernels import events

    assert set(codes.EVENTS_PATHS) == set(codes.ACQUISITIONS.values())
    assert set(codes.EVENTS_PATHS.values()) == {"ready_times", "budget"}
    sim = sq.Simulation(Quanta(20), Learner(), sq.Online(20, 5), agents=1, checkpoints=2)
    c = compile_simulation(sim, "events")
    unknown = c.learner._replace(acquisition=max(codes.ACQUISITIONS.values()) + 1)
    with pytest.raises(ValueError, match="no events path"):
        events.entry_for(c.quanta, unknown, c.prereq, c.data)


@pytest.mark.parametrize("acquisition, online, dataset", [
    ("threshold", True, True), ("geometric", True, True), ("logistic", True, False),
    ("resource", False, False)])
def test_closed_forms_cover_exactly_the_families_they_know(acquisition, online, dataset):
    """``has_closed_form`` follows the closed forms' own tables: a family none of them knows
    gets no theory line instead of an error after the run."""
    from simquanta.analysis.expected import has_closed_form

    learner = Learner(acquisition=acquisition)
    assert has_closed_form(sq.Simulation(Quanta(10), learner, sq.Online(10, 2))) == online
    assert has_closed_form(sq.Simulation(Quanta(10), learner, sq.Dataset(20, 2, 2))) == dataset


def test_spec_tables_come_from_codes():
    from simquanta import composition, specs
    assert specs.ACQUISITIONS == tuple(codes.ACQUISITIONS)
    assert specs.POLICIES == tuple(codes.POLICIES)
    assert specs.PREREQUISITE_MODES == tuple(codes.PREREQUISITE_MODES)
    assert composition.RULES == tuple(codes.COMPOSITION_RULES)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("kwargs,field", [
    (dict(acquisition="logistic", eta=0.0), "eta"),
    (dict(acquisition="logistic", eta=-1.0), "eta"),
    (dict(acquisition="logistic", eta=math.inf), "eta"),
    (dict(acquisition="logistic", eta=math.nan), "eta"),
    (dict(acquisition="logistic", s0=0.0), "s0"),
    (dict(acquisition="logistic", s0=0.5), "s0"),
    (dict(acquisition="logistic", s0=1.2), "s0"),
    (dict(acquisition="threshold", eta=0.5), "eta"),
    (dict(acquisition="geometric", s0=0.1), "s0"),
    (dict(acquisition="resource", eta=0.5), "eta"),
    (dict(speed_kappa=2.0), "speed_kappa"),
    (dict(speed_n0=-1.0), "speed_n0"),
    (dict(speed_n0=5.0, speed_kappa=-1.0), "speed_kappa"),
    (dict(acquisition="resource", policy="evict"), "policy"),
    (dict(acquisition="resource", prerequisites=Prerequisites([(0, 1)], mode="slow")),
     "prerequisites.mode"),
])
def test_learner_rejects_bad_dynamics_parameters(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field.replace('.', '[.]')} = "):
        Learner(**kwargs)


@pytest.mark.parametrize("argv", [
    ["--acquisition", "logistic", "--eta", "0"],
    ["--acquisition", "logistic", "--eta", "nan"],
    ["--acquisition", "logistic", "--s0", "1.5"],
    ["--acquisition", "logistic", "--s0", "0"],
    ["--eta", "0.5"],
    ["--acquisition", "geometric", "--s0", "0.1"],
    ["--acquisition", "sigmoid"],
    ["--speed-kappa", "2"],
])
def test_cli_bad_dynamics_input(argv, tmp_path, capsys):
    out = tmp_path / "r.nc"
    try:
        code = main(["simulate", "--steps", "10", "--n-quanta", "10", "--out", str(out), *argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not out.exists()


def test_strength_recording_memory_check():
    with pytest.raises(ValueError, match="record_strength"):
        Simulation(quanta=Quanta(10**6), learner=Learner(acquisition="logistic"),
                   data=sq.Online(steps=100), agents=100, checkpoints=40,
                   record_strength=True)


def test_config_round_trip_keeps_dynamics():
    from simquanta.config import simulation_from_config
    sim = simulation_from_config({"acquisition": "logistic", "eta": 0.25, "s0": 0.02,
                                  "speed_n0": 10.0, "capacity": 50, "steps": 100,
                                  "n_quanta": 20})
    again = simulation_from_config(sim.to_config())
    assert again.learner.eta == 0.25 and again.learner.s0 == 0.02
    assert again.learner.speed_n0 == 10.0 and again.learner.speed_kappa == 1.0
    # counting families keep their old config keys (sweep cell keys unchanged)
    assert "eta" not in simulation_from_config({"steps": 10}).to_config()


def test_expected_closed_form_covers_logistic():
    from simquanta.analysis.expected import closed_form_learned, closed_form_loss
    sim = Simulation(quanta=Quanta(500, alpha=0.5),
                     learner=Learner(acquisition="logistic", eta=0.4, s0=0.02),
                     data=sq.Online(steps=300, batch_size=10), agents=300, seed=2,
                     checkpoints=6, engine="events")
    res = run(sim)
    theory = closed_form_loss(sim, res.samples, poisson=True)
    assert np.all(_within_se(res.loss_mean, res.loss_sem, theory, res.n_agents))
    assert closed_form_learned(sim, res.samples, poisson=True).shape == (6,)
    resource = Simulation(quanta=Quanta(5), learner=Learner(acquisition="resource"))
    assert closed_form_loss(resource, np.array([10])) is None


def test_sweep_over_dynamics_parameters(tmp_path):
    """η and the family are sweep axes; a logistic graph sweep evaluates continuous leaves:
    each cell equals a direct simulate() with the same config and seed."""
    import xarray as xr

    from simquanta.composition import CompositionGraph
    from simquanta.sweep import run_sweep

    graph = CompositionGraph()
    graph.add_node("both", rule="all", children=[0, 1])
    graph_path = tmp_path / "g.toml"
    graph.save(graph_path)
    spec = tmp_path / "s.toml"
    spec.write_text(f"""
name = "dyn"
out = "out"
seeds = [5]
[base]
n_quanta = 50
agents = 6
checkpoints = 4
steps = 200
batch_size = 5
acquisition = "logistic"
graph = "{graph_path}"
[axes]
eta = [0.2, 1.0]
""")
    run_sweep(spec, executor="serial", progress=False)
    ds = xr.open_dataset(tmp_path / "out" / "merged.nc")
    for eta in (0.2, 1.0):
        direct = sq.simulate(Quanta(50, tau=5), Learner(acquisition="logistic", eta=eta),
                             sq.Online(steps=200, batch_size=5), agents=6, seed=5,
                             checkpoints=4, record_strength=True)
        cell = ds.sel(eta=eta).isel(replicate=0)
        assert np.array_equal(cell["loss"].values, direct.loss)
        both = direct.strength[:, :, 0] * direct.strength[:, :, 1]  # rule all = product
        assert np.allclose(cell["task_success"].sel(task="both").values, both, atol=1e-12)


def test_resource_with_unit_threshold_is_the_threshold_rule():
    """τ = 1: every weight is ≥ 1, so each quantum is ready at its first exposure — the
    exact engine gives the threshold rule's result bit for bit (no draws differ)."""
    quanta = Quanta(300, alpha=0.5, tau=1)
    for data in (sq.Online(steps=200, batch_size=3), sq.Dataset(size=400, epochs=2,
                                                                 batch_size=8)):
        runs = [sq.simulate(quanta, Learner(capacity=50.0, acquisition=a), data, agents=5,
                            seed=12, checkpoints=7, engine="exact")
                for a in ("resource", "threshold")]
        assert np.array_equal(runs[0].loss, runs[1].loss)
        assert np.array_equal(runs[0].learned, runs[1].learned)


def test_auto_runs_the_cheaper_engine_for_resource():
    """Both engines pay O(K) per ready event; events only wins past 10 K² samples."""
    learner = Learner(acquisition="resource")
    short = sq.simulate(Quanta(1000), learner, sq.Online(steps=300, batch_size=100), agents=2)
    long = sq.simulate(Quanta(50), learner, sq.Online(steps=30_000, batch_size=100), agents=2)
    assert short.engine == "exact" and "10 K²" in short.notes[0]
    assert long.engine == "events"
