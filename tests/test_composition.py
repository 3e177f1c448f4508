"""CompositionGraph: rules, the numba kernel against a slow reference, files, validation, CLI."""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import networkx as nx
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simquanta.composition import CompositionGraph
from simquanta.graph_cli import add_graph_parser, run_graph

EXAMPLES = sorted((Path(__file__).parents[1] / "experiments" / "graphs").glob("*.toml"))


# ----------------------------------------------------------------- reference
def brute_k_of_n(v: list[float], k: int) -> float:
    """P(at least k successes) by summing over all 2^n outcomes."""
    total = 0.0
    for outcome in itertools.product((0, 1), repeat=len(v)):
        if sum(outcome) >= k:
            total += math.prod(p if o else 1.0 - p for p, o in zip(v, outcome, strict=True))
    return total


def naive_values(graph: CompositionGraph, row: np.ndarray) -> dict[str, float]:
    """Every inner node's value for one agent, straight from the rule definitions."""
    g = graph.graph
    memo: dict[object, float] = {}

    def value(n: object) -> float:
        if n in memo:
            return memo[n]
        if isinstance(n, int):
            chance = g.nodes[n].get("chance", 0.0)
            score = g.nodes[n].get("learned_score", 1.0)
            memo[n] = chance + (score - chance) * float(row[n])
            return memo[n]
        children = list(g.predecessors(n))
        v = [value(c) for c in children]
        w = [g.edges[c, n].get("weight", 1.0) for c in children]
        rule = g.nodes[n]["rule"]
        if rule in ("all", "product"):
            out = math.prod(v)
        elif rule == "any":
            out = 1.0 - math.prod(1.0 - x for x in v)
        elif rule == "noisy_or":
            out = 1.0 - math.prod(1.0 - wi * x for wi, x in zip(w, v, strict=True))
        elif rule == "mean":
            out = sum(wi * x for wi, x in zip(w, v, strict=True)) / sum(w)
        else:
            out = brute_k_of_n(v, g.nodes[n]["k"])
        memo[n] = out
        return out

    return {n: value(n) for n in graph.inner_nodes}


def random_graph(seed: int, n_quanta: int = 10, n_inner: int = 30) -> CompositionGraph:
    """Random DAG over quanta and earlier inner nodes, every rule, random weights and k."""
    rng = np.random.default_rng(seed)
    g = CompositionGraph()
    rules = ["all", "product", "any", "noisy_or", "mean", "k_of_n"]
    for i in range(n_inner):
        pool: list[int | str] = list(range(n_quanta)) + [f"n{j}" for j in range(i)]
        n_children = int(rng.integers(1, 7))
        children = [pool[j] for j in rng.choice(len(pool), n_children, replace=False)]
        rule = rules[i % len(rules)]
        weights = k = None
        if rule == "mean":
            weights = list(rng.uniform(0.1, 3.0, n_children))
        elif rule == "noisy_or":
            weights = list(rng.uniform(0.0, 1.0, n_children))
        elif rule == "k_of_n":
            k = int(rng.integers(1, n_children + 1))
        g.add_node(f"n{i}", rule, children, weights=weights, k=k, task=bool(i % 7 == 0) or None)
    for q in range(n_quanta):
        if q in g.graph and q % 3 == 0:
            g.set_quantum(q, chance=0.5, learned_score=0.9)
    return g


def demo_graph() -> CompositionGraph:
    g = CompositionGraph(description='demo "quoted" ünïcode')
    g.add_node("a", "all", [0, 1])
    g.add_node("b", "k_of_n", ["a", 2, 3], k=2)
    g.add_node("c", "mean", [0, 3], weights=[1.0, 3.0])
    g.add_node("with space", "noisy_or", ["c", "b"], weights=[0.5, 1.0])
    g.add_node("p", "product", ["a", 4], task=True)
    g.add_node("hidden", "any", [4, 5], task=False)
    g.add_node("top", "all", ["hidden", "p"])
    g.set_quantum(2, chance=0.5)
    g.set_quantum(5, learned_score=0.75)
    return g


# --------------------------------------------------------------------- rules
def single(rule: str, v: list[float], **kw) -> float:
    g = CompositionGraph()
    g.add_node("t", rule, list(range(len(v))), **kw)
    values, names = g.evaluate(np.array(v))
    assert names == ["t"]
    return float(values[0])


def test_all_and_product_multiply():
    assert single("all", [0.5, 0.8]) == pytest.approx(0.4, abs=1e-15)
    assert single("product", [0.5, 0.8, 0.25]) == pytest.approx(0.1, abs=1e-15)


def test_any_is_complement_of_all_failing():
    assert single("any", [0.5, 0.8]) == pytest.approx(1 - 0.5 * 0.2, abs=1e-15)  # 0.9


def test_noisy_or_uses_edge_weights():
    # 1 - (1 - 0.5*0.5)(1 - 1.0*0.8) = 1 - 0.75*0.2 = 0.85
    assert single("noisy_or", [0.5, 0.8], weights=[0.5, 1.0]) == pytest.approx(0.85, abs=1e-15)
    assert single("noisy_or", [0.5, 0.8]) == pytest.approx(0.9, abs=1e-15)


def test_mean_normalises_weights():
    # (1*0.5 + 3*0.8) / 4 = 0.725
    assert single("mean", [0.5, 0.8], weights=[1.0, 3.0]) == pytest.approx(0.725, abs=1e-15)
    assert single("mean", [0.5, 0.8, 0.2]) == pytest.approx(0.5, abs=1e-15)


def test_k_of_n_hand_computed():
    # v = (0.5, 0.8, 0.3), at least 2: {1,2}: .5*.8*.7 = .28, {1,3}: .5*.2*.3 = .03,
    # {2,3}: .5*.8*.3 = .12, {1,2,3}: .5*.8*.3 = .12 -> 0.55
    assert single("k_of_n", [0.5, 0.8, 0.3], k=2) == pytest.approx(0.55, abs=1e-15)
    assert single("k_of_n", [0.5, 0.8, 0.3], k=1) == pytest.approx(1 - 0.5 * 0.2 * 0.7, abs=1e-15)
    assert single("k_of_n", [0.5, 0.8, 0.3], k=3) == pytest.approx(0.12, abs=1e-15)


def test_k_of_n_dp_matches_brute_force():
    rng = np.random.default_rng(3)
    for n in range(1, 9):
        v = rng.random(n)
        g = CompositionGraph()
        for k in range(1, n + 1):
            g.add_node(f"k{k}", "k_of_n", list(range(n)), k=k)
        values, names = g.evaluate(v)
        expect = [brute_k_of_n(list(v), k) for k in range(1, n + 1)]
        np.testing.assert_allclose(values, expect, rtol=0, atol=1e-14)


def test_leaf_chance_and_learned_score():
    g = CompositionGraph()
    g.add_node("t", "all", [0, 1])
    g.set_quantum(1, chance=0.5, learned_score=0.9)  # a parity quantum, imperfect when learned
    values, _ = g.evaluate(np.array([[True, False], [True, True], [False, True]]))
    np.testing.assert_allclose(values[:, 0], [0.5, 0.9, 0.0], atol=1e-15)
    # arguments override the graph's per-quantum values
    values, _ = g.evaluate(np.array([[True, False]]), chance=np.array([0.0, 0.25]))
    assert values[0, 0] == pytest.approx(0.25, abs=1e-15)
    values, _ = g.evaluate(np.array([[True, True]]), learned_score=0.5)
    assert values[0, 0] == pytest.approx(0.25, abs=1e-15)


def test_nested_nodes_and_output_selection():
    g = demo_graph()
    row = np.array([1.0, 0.5, 0.0, 1.0, 0.6, 0.0])
    values, names = g.evaluate(row)
    assert names == ["with space", "p", "top"]  # tasks, insertion order
    a = 0.5
    b = brute_k_of_n([a, 0.5, 1.0], 2)  # q2 unlearned but chance 0.5
    c = (1.0 + 3.0) / 4.0
    hidden = 1 - (1 - 0.6) * (1 - 0.0)
    expect = {"with space": 1 - (1 - 0.5 * c) * (1 - b), "p": a * 0.6, "top": hidden * a * 0.6}
    np.testing.assert_allclose(values, [expect[n] for n in names], atol=1e-15)
    all_values, all_names = g.evaluate(row, all_nodes=True)
    assert all_names == g.inner_nodes
    assert all_values[all_names.index("hidden")] == pytest.approx(hidden, abs=1e-15)


def test_kernel_matches_naive_reference():
    for seed in range(3):
        g = random_graph(seed)
        rng = np.random.default_rng(100 + seed)
        learned = rng.random((3, 4, 10))
        learned[0] = np.round(learned[0])  # exact 0/1 rows too
        values, names = g.evaluate(learned, all_nodes=True)
        assert values.shape == (3, 4, len(names))
        for idx in np.ndindex(3, 4):
            ref = naive_values(g, learned[idx])
            np.testing.assert_allclose(values[idx], [ref[n] for n in names], rtol=0, atol=1e-12)
        bools = learned > 0.5
        bvalues, _ = g.evaluate(bools, all_nodes=True)
        ref = naive_values(g, bools[2, 3].astype(float))
        np.testing.assert_allclose(bvalues[2, 3], [ref[n] for n in names], rtol=0, atol=1e-12)


def test_many_rows_cross_block_boundaries():
    # More rows than one block, and not a multiple of it: last block is partial.
    g = random_graph(7)
    learned = np.random.default_rng(8).random((203, 10))
    values, names = g.evaluate(learned)
    for r in (0, 63, 64, 127, 200, 202):
        ref = naive_values(g, learned[r])
        np.testing.assert_allclose(values[r], [ref[n] for n in names], rtol=0, atol=1e-12)


def test_threads_do_not_change_results():
    g = random_graph(9)
    learned = np.random.default_rng(10).random((500, 10))
    parallel, _ = g.evaluate(learned)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        serial, _ = g.evaluate(learned)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(parallel, serial)


def test_all_node_mean_matches_product_of_probabilities():
    # Independent leaves learned with probability q_k: E[all] = prod q_k.
    q = np.array([0.9, 0.8, 0.7, 0.95])
    rng = np.random.default_rng(2023)
    learned = rng.random((4000, q.size)) < q
    g = CompositionGraph()
    g.add_node("t", "all", [0, 1, 2, 3])
    mean, sem = g.task_curves(learned)["t"]
    assert mean.shape == ()
    assert abs(float(mean) - q.prod()) < 4 * float(sem)


def test_task_curves_shapes_and_sem():
    g = demo_graph()
    learned = np.random.default_rng(1).random((6, 5, 6))
    curves = g.task_curves(learned)
    values, names = g.evaluate(learned)
    assert list(curves) == names
    mean, sem = curves["p"]
    col = values[..., names.index("p")]
    np.testing.assert_allclose(mean, col.mean(0))
    np.testing.assert_allclose(sem, col.std(0, ddof=1) / math.sqrt(6))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), flip=st.integers(0, 9))
def test_learning_a_quantum_never_lowers_any_node(seed, flip):
    # Every rule is non-decreasing in each child (weights >= 0, learned_score >= chance).
    g = random_graph(seed % 5)
    learned = np.random.default_rng(seed).random(10) < 0.5
    before, _ = g.evaluate(learned, all_nodes=True)
    learned[flip] = True
    after, _ = g.evaluate(learned, all_nodes=True)
    assert np.all(after >= before - 1e-15)
    assert np.all((after >= 0) & (after <= 1 + 1e-15))


def test_evaluate_rejects_bad_learned():
    g = demo_graph()
    with pytest.raises(ValueError, match="lie in"):
        g.evaluate(np.full(6, 1.5))
    with pytest.raises(ValueError, match="lie in"):
        g.evaluate(np.full(6, np.nan))
    with pytest.raises(ValueError, match="chance"):
        g.evaluate(np.ones(6), chance=np.ones(3))


# --------------------------------------------------------------------- files
@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_round_trip(tmp_path, suffix):
    g = demo_graph()
    path = tmp_path / f"graph{suffix}"
    g.save(path)
    back = CompositionGraph.load(path)
    assert back.to_dict() == g.to_dict()
    learned = np.random.default_rng(0).random((4, 6))
    np.testing.assert_array_equal(back.evaluate(learned)[0], g.evaluate(learned)[0])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # temp file renamed away
    back.save(path)  # overwrite in place
    assert CompositionGraph.load(path).to_dict() == g.to_dict()


def test_toml_text_is_readable(tmp_path):
    text = demo_graph().to_toml()
    assert '[nodes."with space"]' in text
    assert 'children = ["q0", "q1"]' in text
    assert "[quanta.q2]\nchance = 0.5" in text


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_files_load_and_evaluate(path):
    g = CompositionGraph.load(path)
    assert g.tasks
    values, _ = g.evaluate(np.ones(max(g.quanta) + 1, dtype=bool))
    assert np.all((values >= 0) & (values <= 1))


def test_from_networkx_copies_and_validates():
    dg = nx.DiGraph()
    dg.add_node("t", rule="mean")
    dg.add_edge(0, "t", weight=2.0)
    dg.add_edge(1, "t")
    g = CompositionGraph.from_networkx(dg)
    assert g.evaluate(np.array([1.0, 0.0]))[0][0] == pytest.approx(2 / 3)
    dg.add_edge(2, "t")  # the copy is independent
    assert g.quanta == [0, 1]
    with pytest.raises(nx.NetworkXError):
        g.graph.add_edge(5, "t")  # the view is read-only


# ---------------------------------------------------------------- validation
def test_cycle_is_reported_with_its_nodes():
    g = CompositionGraph()
    g.add_node("alpha", "all", ["beta", 0])
    g.add_node("beta", "any", ["gamma"])
    g.add_node("gamma", "all", ["alpha", 1])
    with pytest.raises(ValueError, match="cycle") as err:
        g.validate()
    for name in ("alpha", "beta", "gamma"):
        assert name in str(err.value)


def test_quantum_outside_spec():
    g = CompositionGraph()
    g.add_node("uses_q7", "all", [0, 7])
    g.validate(8)
    with pytest.raises(ValueError, match="q7") as err:
        g.validate(5)
    assert "uses_q7" in str(err.value)
    with pytest.raises(ValueError, match="q7"):
        g.evaluate(np.ones(5))


def test_unknown_rule():
    g = CompositionGraph()
    with pytest.raises(ValueError, match="unknown rule") as err:
        g.add_node("bad_rule", "al", [0])
    assert "bad_rule" in str(err.value)


def test_k_larger_than_children():
    with pytest.raises(ValueError, match="exceeds") as err:
        CompositionGraph().add_node("too_many", "k_of_n", [0, 1], k=3)
    assert "too_many" in str(err.value)


@pytest.mark.parametrize("w", [-0.5, math.nan, math.inf])
def test_bad_weights(w):
    with pytest.raises(ValueError, match="weight") as err:
        CompositionGraph().add_node("weighted", "mean", [0, 1], weights=[1.0, w])
    assert "weighted" in str(err.value)


def test_inner_node_without_children():
    with pytest.raises(ValueError, match="no children") as err:
        CompositionGraph().add_node("empty", "all", [])
    assert "empty" in str(err.value)


def test_undefined_child_has_no_rule():
    g = CompositionGraph()
    g.add_node("parent", "all", ["ghost", 0])
    with pytest.raises(ValueError, match="no rule") as err:
        g.validate()
    assert "ghost" in str(err.value)


def test_node_that_feeds_no_task():
    g = CompositionGraph()
    g.add_node("report", "all", [0])
    g.add_node("orphan", "any", [1], task=False)  # a root explicitly not a task
    with pytest.raises(ValueError, match="does not feed any task") as err:
        g.validate()
    assert "orphan" in str(err.value)


def test_quantum_that_feeds_no_task():
    g = CompositionGraph()
    g.add_node("report", "all", [0])
    g.set_quantum(4, chance=0.5)
    with pytest.raises(ValueError, match="does not feed any task") as err:
        g.validate()
    assert "q4" in str(err.value)


def test_file_errors_name_the_node(tmp_path):
    cases = {
        "typo": ('[nodes.t]\nrule = "all"\nchidren = ["q0"]\n', "'t'"),
        "ghost": ('[nodes.t]\nrule = "all"\nchildren = ["q0", "helper"]\n', "helper"),
        "int": ('{"nodes": {"t": {"rule": "all", "children": [0]}}}', "'t'"),
        "rule": ('[nodes.t]\nrule = "sum"\nchildren = ["q0"]\n', "'t'"),
    }
    for name, (text, needle) in cases.items():
        path = tmp_path / (name + (".json" if text.startswith("{") else ".toml"))
        path.write_text(text)
        with pytest.raises(ValueError) as err:
            CompositionGraph.load(path)
        assert needle in str(err.value), name


# ----------------------------------------------------------------------- CLI
def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="simquanta")
    add_graph_parser(parser.add_subparsers(dest="command"))
    return run_graph(parser.parse_args(argv))


def test_cli_show_prints_summary_and_draws_only_when_asked(tmp_path, capsys):
    path = tmp_path / "g.toml"
    demo_graph().save(path)
    assert cli(["graph", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "depth: 3" in out and "tasks: 3" in out and "k_of_n 1" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.toml"]  # no image unasked
    image = tmp_path / "other.png"
    assert cli(["graph", "show", str(path), "--image", str(image)]) == 0
    assert image.exists()


@pytest.mark.parametrize(
    "text",
    [
        '[nodes.loop]\nrule = "all"\nchildren = ["loop"]\n',  # cycle
        "[nodes.t\n",  # TOML syntax
        '[nodes.t]\nrule = "k_of_n"\nk = 5\nchildren = ["q0"]\n',
    ],
)
def test_cli_bad_file_exits_2(tmp_path, capsys, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert cli(["graph", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1
    assert not (tmp_path / "bad.png").exists()


def test_cli_missing_file_and_small_spec(tmp_path, capsys):
    assert cli(["graph", "show", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.startswith("error:")
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"nodes": {"t": {"rule": "all", "children": ["q9"]}}}))
    assert cli(["graph", "show", str(path), "--n-quanta", "5"]) == 2
    assert "q9" in capsys.readouterr().err
