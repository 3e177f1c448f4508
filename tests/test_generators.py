"""Seeded graph generators: sizes, degrees, determinism, statistics."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from simquanta import generators as gen


def children(g, n):
    return list(g.graph.predecessors(n))


def test_chain_structure_and_seed():
    g = gen.chain(20, 8, seed=1)
    assert g.inner_nodes == [f"c{i}" for i in range(8)]
    assert g.tasks == g.inner_nodes
    assert len(children(g, "c0")) == 1
    assert all(children(g, f"c{i}")[0] == f"c{i - 1}" for i in range(1, 8))
    assert len(g.quanta) == 8  # distinct quanta
    assert g.summary().depth == 8
    assert gen.chain(20, 8, seed=1).to_dict() == g.to_dict()
    assert gen.chain(20, 8, seed=2).to_dict() != g.to_dict()
    # task i succeeds iff the first i+1 chosen quanta are learned
    order = [children(g, "c0")[0]] + [children(g, f"c{i}")[1] for i in range(1, 8)]
    learned = np.zeros(20, dtype=bool)
    learned[order[:3]] = True
    values, _ = g.evaluate(learned)
    np.testing.assert_array_equal(values, [1, 1, 1, 0, 0, 0, 0, 0])


def test_tree_is_complete():
    g = gen.tree(3, 3, n_quanta=40, seed=0)
    s = g.summary()
    assert s.n_quanta == 27 and s.n_inner == 9 + 3 + 1 and s.depth == 3
    assert g.tasks == ["s3_0"]
    assert all(len(children(g, n)) == 3 for n in g.inner_nodes)
    assert all(g.graph.out_degree(q) == 1 for q in g.quanta)
    assert max(g.quanta) < 40
    assert gen.tree(3, 3, n_quanta=40, seed=0).to_dict() == g.to_dict()


def test_tree_k_of_n():
    g = gen.tree(4, 2, rule="k_of_n", k=3, seed=0)
    assert {g.graph.nodes[n]["k"] for n in g.inner_nodes} == {3}
    with pytest.raises(ValueError, match="needs k"):
        gen.tree(4, 2, rule="k_of_n")


def test_hierarchy_degrees_and_coverage():
    sizes = [60, 30, 10]
    g = gen.hierarchy(100, sizes, 4, rules=["all", "mean", "k_of_n"], k=2, seed=5)
    assert len(g.inner_nodes) == sum(sizes)
    assert all(len(children(g, n)) == 4 for n in g.inner_nodes)
    for level in (1, 2):  # every skill below the top is used by a parent
        assert all(g.graph.out_degree(f"L{level}_{i}") >= 1 for i in range(sizes[level - 1]))
    assert g.tasks == [f"L3_{i}" for i in range(10)]
    rules = Counter(g.graph.nodes[n]["rule"] for n in g.inner_nodes)
    assert rules == {"all": 60, "mean": 30, "k_of_n": 10}
    assert g.summary().depth == 3
    assert gen.hierarchy(100, sizes, 4, rules=["all", "mean", "k_of_n"], k=2, seed=5).to_dict() == (
        g.to_dict()
    )
    with pytest.raises(ValueError, match="cannot cover"):
        gen.hierarchy(100, [60, 10], 4, seed=0)


def test_skill_text_degrees_follow_binomial():
    n_quanta, n_texts, k = 200, 5000, 4
    g = gen.skill_text(n_quanta, n_texts, k, seed=11)
    assert all(g.graph.nodes[n]["rule"] == "all" for n in g.inner_nodes)
    assert all(len(set(children(g, n))) == k for n in g.inner_nodes)
    deg = np.array([g.graph.out_degree(q) if q in g.graph else 0 for q in range(n_quanta)])
    p = k / n_quanta
    assert deg.sum() == n_texts * k
    assert deg.mean() == pytest.approx(n_texts * p)  # exact: every edge lands on a skill
    # sample variance of 200 Binomial(5000, 0.02) degrees: sd of var/σ² ≈ √(2/199) ≈ 0.1
    assert deg.var(ddof=1) / (n_texts * p * (1 - p)) == pytest.approx(1.0, abs=0.4)
    assert gen.skill_text(n_quanta, n_texts, k, seed=11).to_dict() == g.to_dict()


def test_skill_text_with_zipf_frequencies():
    n_quanta = 50
    freq = np.arange(1, n_quanta + 1, dtype=float) ** -1.5
    g = gen.skill_text(n_quanta, 3000, 2, p=freq, seed=4)
    deg = np.array([g.graph.out_degree(q) if q in g.graph else 0 for q in range(n_quanta)])
    assert deg[0] > deg[10] > deg[40]  # frequent skills appear in more texts


def test_monogenic():
    g = gen.monogenic(5)
    assert g.inner_nodes == [f"mono{k}" for k in range(5)]
    assert all(children(g, f"mono{k}") == [k] for k in range(5))
    values, _ = g.evaluate(np.array([1, 0, 1, 0, 0], dtype=bool))
    np.testing.assert_array_equal(values, [1, 0, 1, 0, 0])
    h = gen.monogenic(100, 10, seed=3)
    assert len(h.tasks) == 10 and len(h.quanta) == 10
    assert gen.monogenic(100, 10, seed=3).to_dict() == h.to_dict()


def test_polygenic_is_fraction_learned():
    g = gen.polygenic(30, 12, 5, seed=2)
    assert all(g.graph.nodes[n]["rule"] == "mean" for n in g.inner_nodes)
    assert all(len(children(g, n)) == 5 for n in g.inner_nodes)
    learned = np.random.default_rng(0).random(30) < 0.5
    values, names = g.evaluate(learned)
    for v, n in zip(values, names, strict=True):
        assert v == pytest.approx(np.mean([learned[q] for q in children(g, n)]), abs=1e-15)


def test_tuples_are_distinct():
    g = gen.tuples(12, 50, 3, seed=9)
    sets = [frozenset(children(g, n)) for n in g.inner_nodes]
    assert len(set(sets)) == 50 and all(len(s) == 3 for s in sets)
    dense = gen.tuples(6, math.comb(6, 3), 3, seed=1)  # every 3-subset exactly once
    assert len({frozenset(children(dense, n)) for n in dense.inner_nodes}) == 20
    assert gen.tuples(12, 50, 3, seed=9).to_dict() == g.to_dict()
    with pytest.raises(ValueError, match="distinct"):
        gen.tuples(6, 21, 3, seed=1)


def test_generators_accept_a_generator_as_seed():
    a = gen.skill_text(20, 10, 3, seed=np.random.default_rng(7))
    b = gen.skill_text(20, 10, 3, seed=7)
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize(
    "call",
    [
        lambda: gen.chain(5, 6),
        lambda: gen.chain(5, rule="k_of_n"),
        lambda: gen.skill_text(5, 3, 6),
        lambda: gen.polygenic(5, 3, 0),
        lambda: gen.hierarchy(10, [], 2),
        lambda: gen.monogenic(5, 6),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(ValueError):
        call()
