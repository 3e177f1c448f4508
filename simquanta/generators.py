"""Seeded generators of composition graphs.

Every generator takes ``seed`` (an int, a ``numpy.random.Generator`` or None) and draws all of
its randomness from ``numpy.random.default_rng(seed)``, so equal seeds give equal graphs.
Quanta are leaves ``0 .. n_quanta-1``; a quantum that no node picks is simply not in the graph.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from simquanta.composition import RULES, CompositionGraph
from simquanta.validation import check_choice, check_int, invalid

__all__ = ["chain", "hierarchy", "monogenic", "polygenic", "skill_text", "tree", "tuples"]

Seed = int | np.random.Generator | None


def _check_count(name: str, value: int, low: int = 1) -> None:
    check_int(name, value, low)


def _check_rule(rule: str, k: int | None) -> None:
    check_choice("rule", rule, RULES)
    if rule == "k_of_n" and k is None:
        raise invalid("k", k, "rule k_of_n needs k")


def chain(
    n_quanta: int, length: int | None = None, *, rule: str = "all", seed: Seed = None
) -> CompositionGraph:
    """A chain of skills, each building on the previous one plus one new quantum.

    ``length`` distinct quanta q_0..q_{L-1} are drawn in random order (default: all of them);
    ``c0 = rule(q_0)`` and ``c_i = rule(c_{i-1}, q_i)``. Every ``c_i`` is a task, so with
    ``rule="all"`` task i succeeds iff the first i+1 chosen quanta are all learned.
    ``k_of_n`` is not offered: a one- or two-child k-of-n is ``all`` or ``any``.
    """
    _check_count("n_quanta", n_quanta)
    length = n_quanta if length is None else length
    _check_count("length", length)
    if length > n_quanta:
        raise invalid("length", length, f"must be <= n_quanta = {n_quanta}")
    if rule == "k_of_n":
        raise invalid("rule", rule, "chain does not take k_of_n (use all or any)")
    _check_rule(rule, None)
    order = np.random.default_rng(seed).permutation(n_quanta)[:length]
    g = CompositionGraph(description=f"chain of {length} quanta ({rule})")
    g.add_node("c0", rule, [int(order[0])], task=True)
    for i in range(1, length):
        g.add_node(f"c{i}", rule, [f"c{i - 1}", int(order[i])], task=True)
    return g


def tree(
    fan_in: int,
    depth: int,
    n_quanta: int | None = None,
    *,
    rule: str = "all",
    k: int | None = None,
    seed: Seed = None,
) -> CompositionGraph:
    """A complete ``fan_in``-ary tree of ``depth`` inner levels over distinct quanta.

    The ``fan_in**depth`` leaves are distinct quanta drawn without replacement from
    ``0 .. n_quanta-1`` (default ``n_quanta = fan_in**depth``: every quantum once, shuffled).
    Level-l node i is ``s{l}_{i}`` with children ``s{l-1}_{fan_in*i .. fan_in*i+fan_in-1}``; the
    single top node ``s{depth}_0`` is the task. With ``all`` it needs all fan_in**depth quanta.
    """
    _check_count("fan_in", fan_in)
    _check_count("depth", depth)
    _check_rule(rule, k)
    n_leaves = fan_in**depth
    n_quanta = n_leaves if n_quanta is None else n_quanta
    _check_count("n_quanta", n_quanta)
    if n_quanta < n_leaves:
        raise invalid("n_quanta", n_quanta, f"a tree with fan_in = {fan_in}, depth = {depth} "
                                            f"needs {n_leaves} quanta")
    leaves = np.random.default_rng(seed).choice(n_quanta, size=n_leaves, replace=False)
    kk = k if rule == "k_of_n" else None
    g = CompositionGraph(description=f"{fan_in}-ary tree of depth {depth} ({rule})")
    below: list[int | str] = [int(q) for q in leaves]
    for level in range(1, depth + 1):
        names = [f"s{level}_{i}" for i in range(len(below) // fan_in)]
        for i, name in enumerate(names):
            g.add_node(name, rule, below[fan_in * i : fan_in * (i + 1)], k=kk)
        below = list(names)
    return g


def hierarchy(
    n_quanta: int,
    layer_sizes: Sequence[int],
    fan_in: int,
    *,
    rules: str | Sequence[str] = "all",
    k: int | None = None,
    seed: Seed = None,
) -> CompositionGraph:
    """A layered random DAG: quanta → layer 1 → … → top layer (the tasks).

    Layer l has ``layer_sizes[l-1]`` nodes ``L{l}_{i}``, each with exactly ``fan_in`` distinct
    children from the layer below (layer 0 = the quanta). Layer-1 nodes pick their quanta
    uniformly. For higher layers every lower node is dealt to at least one parent (shuffle the
    lower layer, deal it round-robin, then fill each parent with distinct uniform picks), so
    no skill is left without a use; that needs ``size_l * fan_in >= size_{l-1}``.
    ``rules``: one rule for all layers or one per layer; ``k`` is used by ``k_of_n`` layers.
    """
    _check_count("n_quanta", n_quanta)
    _check_count("fan_in", fan_in)
    sizes = list(layer_sizes)
    if not sizes:
        raise invalid("layer_sizes", layer_sizes, "must not be empty")
    for size in sizes:
        _check_count("layer size", size)
    layer_rules = [rules] * len(sizes) if isinstance(rules, str) else list(rules)
    if len(layer_rules) != len(sizes):
        raise invalid("rules", layer_rules, f"must give one rule per layer ({len(sizes)})")
    for rule in layer_rules:
        _check_rule(rule, k)
    below_sizes = [n_quanta] + sizes[:-1]
    for level, (size, n_below) in enumerate(zip(sizes, below_sizes, strict=True), start=1):
        if fan_in > n_below:
            raise invalid("fan_in", fan_in, f"layer {level}: must be <= the {n_below} nodes "
                                            "below")
        if level > 1 and size * fan_in < n_below:
            raise invalid("fan_in", fan_in, f"layer {level}: {size} nodes x fan_in {fan_in} "
                                            f"cannot cover {n_below} nodes below")
    rng = np.random.default_rng(seed)
    g = CompositionGraph(description=f"hierarchy {sizes} over {n_quanta} quanta, fan-in {fan_in}")
    below: list[int | str] = list(range(n_quanta))
    for level, (size, rule) in enumerate(zip(sizes, layer_rules, strict=True), start=1):
        kk = k if rule == "k_of_n" else None
        if level == 1:
            picks = [list(rng.choice(len(below), size=fan_in, replace=False)) for _ in range(size)]
        else:
            dealt = rng.permutation(len(below))
            picks = [list(dealt[i::size]) for i in range(size)]
            free = np.ones(len(below), dtype=bool)
            for chosen in picks:
                free[chosen] = False
                rest = np.flatnonzero(free)
                free[chosen] = True
                chosen.extend(rng.choice(rest, size=fan_in - len(chosen), replace=False))
        names = [f"L{level}_{i}" for i in range(size)]
        for name, chosen in zip(names, picks, strict=True):
            g.add_node(name, rule, [below[int(j)] for j in chosen], k=kk)
        below = list(names)
    return g


def skill_text(
    n_quanta: int,
    n_texts: int,
    k: int,
    *,
    p: Sequence[float] | np.ndarray | None = None,
    seed: Seed = None,
) -> CompositionGraph:
    """Random skill–text bipartite graph of Arora & Goyal 2023.

    Each of ``n_texts`` text pieces ``text{i}`` needs ``k`` distinct skills (quanta) drawn
    independently of the other pieces, uniformly or with probabilities ``p`` (e.g. the Zipf
    frequencies p_k of QH3); a piece is understood iff all its skills are: rule ``all``.
    Under uniform sampling a skill's degree is Binomial(n_texts, k / n_quanta).
    """
    _check_count("n_quanta", n_quanta)
    _check_count("n_texts", n_texts)
    _check_count("k", k)
    if k > n_quanta:
        raise invalid("k", k, f"must be <= n_quanta = {n_quanta}")
    if p is not None:
        p = np.asarray(p, dtype=np.float64)
        if p.shape != (n_quanta,) or not np.all(np.isfinite(p)) or np.any(p < 0):
            raise invalid("p", p, f"must hold {n_quanta} finite non-negative probabilities")
        if np.count_nonzero(p) < k:
            raise invalid("p", p, f"must have at least k = {k} non-zero entries")
        p = p / p.sum()
    rng = np.random.default_rng(seed)
    g = CompositionGraph(description=f"skill-text graph: {n_texts} texts x {k} of {n_quanta}")
    for i in range(n_texts):
        skills = rng.choice(n_quanta, size=k, replace=False, p=p)
        g.add_node(f"text{i}", "all", [int(q) for q in skills])
    return g


def monogenic(n_quanta: int, n_tasks: int | None = None, *, seed: Seed = None) -> CompositionGraph:
    """Tasks that each need exactly one quantum: ``mono{k} = all(q_k)``.

    Default: one task per quantum, in index order (no randomness). With ``n_tasks`` given,
    that many distinct quanta are drawn at random and listed in ascending order.
    """
    _check_count("n_quanta", n_quanta)
    if n_tasks is None:
        chosen = np.arange(n_quanta)
    else:
        _check_count("n_tasks", n_tasks)
        if n_tasks > n_quanta:
            raise invalid("n_tasks", n_tasks, f"must be <= n_quanta = {n_quanta}")
        chosen = np.sort(np.random.default_rng(seed).choice(n_quanta, n_tasks, replace=False))
    g = CompositionGraph(description=f"{len(chosen)} monogenic tasks")
    for q in chosen:
        g.add_node(f"mono{int(q)}", "all", [int(q)])
    return g


def polygenic(n_quanta: int, n_tasks: int, m: int, *, seed: Seed = None) -> CompositionGraph:
    """Tasks ``poly{i} = mean(m distinct random quanta)``: score = fraction of them learned.

    Each task's quanta are drawn uniformly without replacement, independently across tasks.
    """
    _check_count("n_quanta", n_quanta)
    _check_count("n_tasks", n_tasks)
    _check_count("m", m)
    if m > n_quanta:
        raise invalid("m", m, f"must be <= n_quanta = {n_quanta}")
    rng = np.random.default_rng(seed)
    g = CompositionGraph(description=f"{n_tasks} polygenic tasks (mean of {m} quanta)")
    for i in range(n_tasks):
        g.add_node(f"poly{i}", "mean", [int(q) for q in rng.choice(n_quanta, m, replace=False)])
    return g


def tuples(n_quanta: int, n_tasks: int, t: int, *, seed: Seed = None) -> CompositionGraph:
    """``n_tasks`` distinct t-tuple composites ``tuple{i} = all(t distinct quanta)``.

    Unlike :func:`skill_text`, no two tasks share the same set of quanta: the sets are a uniform
    random sample without replacement from all C(n_quanta, t) subsets.
    """
    _check_count("n_quanta", n_quanta)
    _check_count("n_tasks", n_tasks)
    _check_count("t", t)
    total = math.comb(n_quanta, t)
    if n_tasks > total:
        raise invalid("n_tasks", n_tasks, f"must be <= C({n_quanta}, {t}) = {total}, the "
                                          f"number of distinct {t}-tuples")
    rng = np.random.default_rng(seed)
    if total <= 4 * n_tasks:
        # Dense request: rejection sampling would stall, so enumerate and pick.
        every = list(itertools.combinations(range(n_quanta), t))
        sets = [every[i] for i in rng.choice(total, n_tasks, replace=False)]
    else:
        seen: set[tuple[int, ...]] = set()
        sets = []
        while len(sets) < n_tasks:
            s = tuple(sorted(int(q) for q in rng.choice(n_quanta, t, replace=False)))
            if s not in seen:
                seen.add(s)
                sets.append(s)
    g = CompositionGraph(description=f"{n_tasks} distinct {t}-tuple composites")
    for i, s in enumerate(sets):
        g.add_node(f"tuple{i}", "all", list(s))
    return g
