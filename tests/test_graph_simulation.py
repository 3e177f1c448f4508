"""Composition graphs evaluated on simulated learners, checked against closed forms.

With unlimited capacity and no prerequisites quanta are learned independently, so an
``all`` node's mean success over agents must equal Π_k (1 − P_k(unlearned)) from the
closed form (Binomial for the exact engine, Poissonized for events) within 4 SE.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import simquanta as sq
from simquanta.analysis.expected import unlearned_prob
from simquanta.cli import main
from simquanta.composition import CompositionGraph

LEAVES = [0, 3, 7]


def _graph() -> CompositionGraph:
    return CompositionGraph.from_dict({
        "nodes": {
            "all3": {"rule": "all", "children": [f"q{k}" for k in LEAVES]},
            "any3": {"rule": "any", "children": [f"q{k}" for k in LEAVES]},
        }
    })


@pytest.mark.parametrize("engine", ["exact", "events"])
@pytest.mark.parametrize("acquisition", ["threshold", "geometric"])
def test_all_node_equals_product_of_leaf_probabilities(engine, acquisition):
    sim = sq.Simulation(sq.Quanta(60, alpha=0.5, offset=5.0, tau=3),
                        sq.Learner(acquisition=acquisition), sq.Online(steps=400, batch_size=4),
                        agents=3000, seed=11, checkpoints=8, engine=engine,
                        record_learn_steps=True)
    result = sq.simulate(sim.quanta, sim.learner, sim.data, agents=sim.agents, seed=sim.seed,
                         checkpoints=sim.checkpoints, engine=engine, record_learn_steps=True)
    values, names = _graph().evaluate(result.learned_mask(), all_nodes=True)
    learned_p = 1.0 - unlearned_prob(sim, result.samples, poisson=engine == "events")
    expected = {"all3": np.prod(learned_p[:, LEAVES], axis=1),
                "any3": 1.0 - np.prod(1.0 - learned_p[:, LEAVES], axis=1)}
    for i, name in enumerate(names):
        mean = values[..., i].mean(axis=0)
        # SE from the closed form's Bernoulli variance, so checkpoints where every agent
        # agrees (empirical SE 0) are still judged fairly.
        se = np.sqrt(expected[name] * (1 - expected[name]) / sim.agents)
        assert np.all(np.abs(mean - expected[name]) <= 4 * se + 1e-9), (name, mean,
                                                                        expected[name])


def test_cli_graph_json_reports_every_node(tmp_path, capsys):
    path = tmp_path / "g.toml"
    _graph().save(path)
    code = main(["simulate", "--n-quanta", "60", "--alpha", "0.5", "--tau", "3",
                 "--batch-size", "4", "--steps", "400", "--agents", "16", "--seed", "1",
                 "--checkpoints", "6", "--engine", "exact", "--graph", str(path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["tasks"]) == {"all3", "any3"}
    for curve in out["tasks"].values():
        assert len(curve["mean"]) == len(curve["sem"]) == len(out["steps"])
        assert np.all(np.diff(curve["mean"]) >= -1e-12)  # reject: learning only accumulates
    assert np.all(np.array(out["tasks"]["all3"]["mean"]) <= out["tasks"]["any3"]["mean"])


def test_cli_graph_with_quantum_outside_spec_is_an_error(tmp_path, capsys):
    path = tmp_path / "g.toml"
    CompositionGraph.from_dict({"nodes": {"t": {"rule": "all", "children": ["q99"]}}}).save(path)
    code = main(["simulate", "--n-quanta", "10", "--steps", "10", "--graph", str(path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "q99" in err and len(err.splitlines()) == 1
