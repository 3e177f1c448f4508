"""The capability planner: data floors against the closed form for all / any / k_of_n of
independent quanta, capacity floors under converged evict equal to the rank of the task's
rarest needed quantum, the JSON shape, the Python result, and bad input (one ``error:``
line, exit 2, nothing written; unreachable tasks are an "out of reach" row)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

import simquanta as sq
from simquanta.cli import main
from simquanta.composition import CompositionGraph
from simquanta.planner import closed_form_data_floor, plan

K, ALPHA, TAU = 400, 0.5, 5
#: 0-based quantum indices; ranks are index + 1 (Zipf frequencies decrease with k)
ALL_Q, ANY_Q, KOFN_Q = [11, 15, 19], [24, 30], [9, 13, 17, 21]


def independent_graph() -> CompositionGraph:
    g = CompositionGraph("independent quanta")
    g.add_node("all3", "all", ALL_Q)
    g.add_node("any2", "any", ANY_Q)
    g.add_node("two_of_four", "k_of_n", KOFN_Q, k=2)
    g.add_node("single", "all", [7])
    return g


@pytest.fixture(scope="module")
def evict_plan():
    quanta = sq.Quanta(K, alpha=ALPHA, tau=TAU)
    learner = sq.Learner(capacity=math.inf, policy="evict")
    return quanta, plan(independent_graph(), quanta, learner, sq.Online(steps=100,
                                                                        batch_size=10),
                        target=0.9, agents=8000, seed=3, rtol=0.02, frontier=False)


def test_data_floors_match_closed_form_within_bisection_tolerance(evict_plan):
    quanta, result = evict_plan
    graph = independent_graph()
    for name, task in result.tasks.items():
        closed = closed_form_data_floor(graph, quanta, name, 0.9)
        assert task.closed_form_data_floor == closed
        tol = max(1.0, result.settings["rtol"] * closed)
        assert abs(task.data_floor - closed) <= tol, (name, task.data_floor, closed)
        lo, hi = task.data_floor_ci
        assert lo <= task.data_floor <= hi


def test_closed_form_floor_is_the_binomial_rule():
    quanta = sq.Quanta(K, alpha=ALPHA, tau=TAU)
    graph = independent_graph()
    d = closed_form_data_floor(graph, quanta, "single", 0.9)
    p = quanta.p[7]
    assert stats.binom.sf(TAU - 1, d, p) >= 0.9 > stats.binom.sf(TAU - 1, d - 1, p)


def test_evict_capacity_floors_are_the_rank_of_the_rarest_needed_quantum(evict_plan):
    _, result = evict_plan
    t = result.tasks
    assert t["all3"].capacity_floor == max(ALL_Q) + 1
    assert t["any2"].capacity_floor == min(ANY_Q) + 1
    assert t["two_of_four"].capacity_floor == sorted(KOFN_Q)[1] + 1
    assert t["single"].capacity_floor == 8
    for task in t.values():  # the converged evict state is deterministic
        assert task.capacity_floor_ci == (task.capacity_floor, task.capacity_floor)


def test_converged_evict_holds_the_most_frequent_quanta():
    """The limit the planner evaluates under evict, checked on the exact engine."""
    quanta = sq.Quanta(30, alpha=0.5, tau=3)
    res = sq.simulate(quanta, sq.Learner(capacity=6, policy="evict"),
                      sq.Online(steps=20_000, batch_size=100), agents=16, seed=2,
                      checkpoints=1, engine="exact", record_learned_sets=True)
    top = np.zeros(30, dtype=bool)
    top[:6] = True
    assert (res.learned_mask()[:, -1, :] == top).all()


def test_steps_floor_matches_poisson_closed_form(evict_plan):
    quanta, result = evict_plan
    batch = 10
    s = result.tasks["single"].steps_floor
    p = quanta.p[7]
    # the events engine's online exposures are Poisson(S·B·p); 20 000 agents: ±1 step
    exact = next(n for n in range(1, 10_000) if stats.poisson.sf(TAU - 1, n * batch * p) >= 0.9)
    assert abs(s - exact) <= max(1, 0.02 * exact)


def test_reject_floors_and_frontier():
    quanta = sq.Quanta(2000, alpha=ALPHA, tau=TAU)
    g = CompositionGraph()
    g.add_node("a", "all", [2, 5])
    result = plan(g, quanta, sq.Learner(capacity=4), sq.Dataset(size=50, epochs=1),
                  agents=100, seed=1)
    a = result.tasks["a"]
    assert a.capacity_floor >= 6  # reject holds the first arrivals, not the top ranks
    assert a.cls == "both"
    assert a.frontier and all(n >= a.capacity_floor for n, _ in a.frontier)
    ns, ds = zip(*a.frontier, strict=True)
    assert list(ns) == sorted(ns)
    assert min(ds) >= a.data_floor_ci[0]
    assert a.compute_optimal in a.frontier
    df = result.to_dataframe()
    assert df.loc["a", "capacity_floor"] == a.capacity_floor
    assert df.loc["a", "class"] == "both"


def test_plan_is_exported_and_seeded():
    quanta = sq.Quanta(300, alpha=ALPHA, tau=TAU)
    g = CompositionGraph()
    g.add_node("t", "any", [3, 4])
    kw = dict(agents=50, seed=5, frontier=False)
    r1 = sq.plan(g, quanta, sq.Learner(), sq.Online(steps=10), **kw)
    r2 = sq.plan(g, quanta, sq.Learner(), sq.Online(steps=10), **kw)
    assert r1.to_dict() == r2.to_dict()


# ----------------------------------------------------------------------------- CLI

SMALL = ["--n-quanta", "300", "--agents", "60", "--no-frontier"]


def test_cli_json_shape(capsys):
    assert main(["plan", "experiments/graphs/demo.toml", "--json", "--tasks",
                 "three_step,recall_fact", *SMALL]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"target", "tasks"} and out["target"] == 0.9
    assert list(out["tasks"]) == ["three_step", "recall_fact"]
    keys = {"capacity_floor", "capacity_floor_ci", "data_floor", "data_floor_ci",
            "steps_floor", "steps_floor_ci", "class", "frontier"}
    for task in out["tasks"].values():
        assert set(task) == keys
        assert isinstance(task["capacity_floor"], int)
        assert len(task["data_floor_ci"]) == 2
        assert task["class"] in ("size-limited", "data-limited", "both", "neither",
                                 "out of reach")


def test_cli_text_and_figure(tmp_path, capsys):
    fig = tmp_path / "plan.png"
    assert main(["plan", "experiments/graphs/demo.toml", "--tasks", "three_step",
                 "--params-per-quantum", "900", "--figure", str(fig), "--n-quanta", "300",
                 "--agents", "40"]) == 0
    text = capsys.readouterr().out
    assert "three_step" in text and "parameters" in text
    assert fig.is_file() and fig.stat().st_size > 0


def unreachable_graph(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('[nodes.weak]\nrule = "noisy_or"\nchildren = ["q0", "q1"]\n'
                    'weights = [0.5, 0.5]\n[nodes.fine]\nrule = "all"\nchildren = ["q2"]\n')
    return path


def test_unreachable_task_is_an_out_of_reach_row(tmp_path, capsys):
    assert main(["plan", str(unreachable_graph(tmp_path)), "--json", *SMALL]) == 0
    out = json.loads(capsys.readouterr().out)["tasks"]
    weak = out["weak"]
    assert weak["class"] == "out of reach"
    assert weak["capacity_floor"] is None and weak["data_floor"] is None
    assert weak["steps_floor"] is None and weak["frontier"] == []
    assert out["fine"]["class"] != "out of reach"


@pytest.mark.parametrize("argv, field", [
    (["--target", "0"], "target"),
    (["--target", "1"], "target"),
    (["--target", "1.5"], "target"),
    (["--target", "-0.2"], "target"),
    (["--tasks", "no_such_task"], "tasks"),
    (["--capacity-range", "50:100"], "capacity_range"),
    (["--capacity-range", "9:3"], "capacity_range"),
    (["--data-range", "5000:9000"], "data_range"),
    (["--data-range", "a:b"], "data_range"),
    (["--acquisition", "logistic"], "acquisition"),
    (["--figure", "x.txt"], "figure"),
])
def test_bad_input_one_error_line_exit_2_nothing_written(argv, field, tmp_path, capsys):
    fig = tmp_path / "out.png"
    extra = [] if "--figure" in argv else ["--figure", str(fig)]
    tasks = [] if "--tasks" in argv else ["--tasks", "three_step"]
    code = main(["plan", "experiments/graphs/demo.toml", *tasks, *SMALL, *argv, *extra])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    if field:
        assert field in lines[0]
    assert not fig.exists()
    assert list(tmp_path.iterdir()) == []
