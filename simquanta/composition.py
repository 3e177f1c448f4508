"""Composition graphs: quanta → composite skills → tasks.

A :class:`CompositionGraph` wraps a :class:`networkx.DiGraph` whose **edges point from child to
parent** (quantum → skill → task), so ``graph.predecessors(n)`` are the children a node needs
and ``graph.successors(n)`` are the nodes that use it.

Nodes
-----
* **Leaves are quanta**, named in Python by their integer index ``k`` (0-based, the quantum
  index of the simulator). In files they are written ``"q<k>"`` (``"q0"``, ``"q17"``; no leading
  zeros); that spelling is reserved, so inner nodes may not be called ``q<digits>``.
  A leaf is worth ``learned_score`` when its quantum is learned and ``chance`` when it is not
  (per quantum; defaults 1 and 0; a parity quantum guesses right half the time, chance 0.5).
  A fractional ``learned`` value x in [0, 1] (e.g. the probability an agent has the quantum)
  gives the mixture ``chance + (learned_score - chance) * x``.
* **Inner nodes** (skills and tasks) have string names and a ``rule`` combining their
  children's values v_i ∈ [0, 1] into a success probability:

  ============ ===========================================================================
  ``all``      Π v_i — logical AND of the children treated as independent events.
  ``product``  Π v_i — the multiplicative accuracy model of Okawa et al. 2023 (composite
               accuracy = product of constituent accuracies). Same arithmetic as ``all``;
               kept as a separate name because it states a different modelling claim: ``all``
               says *every* part must fire, ``product`` says measured accuracies multiply.
  ``any``      1 − Π (1 − v_i) — at least one independent child succeeds.
  ``noisy_or`` 1 − Π (1 − w_i v_i) — each child succeeds and then "transmits" with
               probability w_i ∈ [0, 1] (per-edge weight, default 1).
  ``mean``     Σ w_i v_i / Σ w_i — weights w_i ≥ 0 (default 1), e.g. a polygenic score.
  ``k_of_n``   P(at least k of the n independent children succeed) — the Poisson-binomial
               upper tail, computed by an O(n·k) recursion. Needs 1 ≤ k ≤ n.
  ============ ===========================================================================

* **Tasks** are the nodes whose values get reported. The node attribute ``task`` is
  tri-state: ``True`` marks a task, ``False`` marks a non-task, and when it is absent an inner
  node is a task exactly when it has no parent. Every node must feed some task (be one, or
  lie below one); a parentless node marked ``task = false`` is therefore an error.

File format (TOML; JSON holds the same structure)::

    format = "simquanta-composition/1"     # optional
    description = "toy arithmetic"         # optional

    [quanta.q3]                            # optional per-quantum leaf values
    chance = 0.5

    [nodes.carry]
    rule = "all"
    children = ["q0", "q1"]

    [nodes.addition]
    rule = "k_of_n"
    k = 2
    children = ["carry", "q2", "q3"]
    task = true                            # optional
    # weights = [...]                      # mean and noisy_or only, one per child
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from simquanta.analysis.stats import sem
from simquanta.files import atomic_path
from simquanta.kernels.codes import COMPOSITION_RULES, code_of
from simquanta.kernels.compose import evaluate_compiled
from simquanta.validation import invalid, load_toml, parse_json, read_text

__all__ = [
    "FORMAT",
    "RULES",
    "CompiledGraph",
    "CompositionGraph",
    "GraphSummary",
    "load_graph",
    "parse_quantum",
    "quantum_label",
]

FORMAT = "simquanta-composition/1"
RULES: tuple[str, ...] = tuple(COMPOSITION_RULES)
_WEIGHTED = ("mean", "noisy_or")
_QUANTUM_RE = re.compile(r"q(0|[1-9][0-9]*)")
_RESERVED_RE = re.compile(r"q[0-9]+")
_BARE_KEY_RE = re.compile(r"[A-Za-z0-9_-]+")
_NODE_KEYS = ("rule", "children", "weights", "k", "task")
_QUANTUM_KEYS = ("chance", "learned_score")
_TOP_KEYS = ("format", "description", "quanta", "nodes")


def quantum_label(k: int) -> str:
    """File spelling of quantum ``k``: ``"q<k>"``."""
    return f"q{k}"


def parse_quantum(token: str) -> int | None:
    """Quantum index of a file token ``"q<k>"``, or ``None`` if the token is not one."""
    m = _QUANTUM_RE.fullmatch(token)
    return int(m.group(1)) if m else None


def _is_leaf(node: Hashable) -> bool:
    return isinstance(node, (int, np.integer)) and not isinstance(node, bool)


def _show(node: Hashable) -> str:
    """How error messages name a node: quanta as q<k>, inner nodes quoted."""
    return quantum_label(int(node)) if _is_leaf(node) else repr(node)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"node {name!r}: inner node names must be non-empty strings")
    if _RESERVED_RE.fullmatch(name):
        raise ValueError(f"node {name!r}: names q<digits> are reserved for quanta")


def _check_probability(where: str, field: str, value: object) -> float:
    if not _is_number(value) or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{where}: {field} must be a finite number in [0, 1], got {value!r}")
    return float(value)


def _check_inner(
    name: str,
    rule: object,
    children: Sequence[Hashable],
    weights: Sequence[object] | None,
    k: object,
    task: object,
) -> None:
    """Local checks of one inner node; every message names the node."""
    where = f"node {name!r}"
    if rule is None:
        raise ValueError(f"{where} has no rule (is it used as a child but never defined?)")
    if rule not in RULES:
        raise ValueError(f"{where}: unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    if not children:
        raise ValueError(f"{where} ({rule}) has no children")
    if len(set(children)) != len(children):
        dup = next(c for c, n in Counter(children).items() if n > 1)
        raise ValueError(f"{where}: child {_show(dup)} is listed more than once")
    if rule == "k_of_n":
        if k is None:
            raise ValueError(f"{where}: rule k_of_n needs an integer k")
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
            raise ValueError(f"{where}: k must be an integer, got {k!r}")
        if k < 1:
            raise ValueError(f"{where}: k={k} must be at least 1")
        if k > len(children):
            raise ValueError(f"{where}: k={k} exceeds its {len(children)} children")
    elif k is not None:
        raise ValueError(f"{where}: k is only used by rule k_of_n, not {rule}")
    if weights is not None:
        if rule not in _WEIGHTED:
            raise ValueError(f"{where}: rule {rule} takes no weights (only {', '.join(_WEIGHTED)})")
        if len(weights) != len(children):
            raise ValueError(f"{where}: {len(weights)} weights for {len(children)} children")
        for c, w in zip(children, weights, strict=True):
            if not _is_number(w) or not math.isfinite(w) or w < 0:
                raise ValueError(
                    f"{where}: weight of child {_show(c)} is {w!r}; weights must be finite and >= 0"
                )
            if rule == "noisy_or" and w > 1:
                raise ValueError(
                    f"{where}: noisy_or weight of child {_show(c)} is {w!r}; must lie in [0, 1]"
                )
        if rule == "mean" and sum(float(w) for w in weights) == 0.0:
            raise ValueError(f"{where}: mean weights sum to zero")
    if task is not None and not isinstance(task, bool):
        raise ValueError(f"{where}: task must be true or false, got {task!r}")


@dataclass(frozen=True)
class CompiledGraph:
    """Flat arrays for :func:`simquanta.kernels.compose.evaluate_compiled`.

    Slots ``0 .. n_leaves-1`` hold the leaves (quanta ``leaf_quanta``, ascending); slot
    ``n_leaves + j`` holds inner node ``topo_names[j]`` (topological order, children first).
    ``ptr``/``child``/``weight`` are the CSR child lists; ``mean`` weights are normalised to sum
    to 1 and unweighted edges carry weight 1. ``report_names`` lists inner nodes in the order
    they were added to the graph, ``report_slot`` their slots and ``is_task`` which are tasks.
    """

    leaf_quanta: np.ndarray
    leaf_chance: np.ndarray
    leaf_score: np.ndarray
    ptr: np.ndarray
    child: np.ndarray
    weight: np.ndarray
    op: np.ndarray
    kreq: np.ndarray
    topo_names: tuple[str, ...]
    report_names: tuple[str, ...]
    report_slot: np.ndarray
    is_task: np.ndarray

    @property
    def n_quanta_min(self) -> int:
        """Smallest number of quanta a ``learned`` array must have: 1 + largest leaf index."""
        return int(self.leaf_quanta[-1]) + 1 if self.leaf_quanta.size else 0


@dataclass(frozen=True)
class GraphSummary:
    """What ``simquanta graph show`` prints."""

    n_inner: int
    n_quanta: int
    n_edges: int
    rules: dict[str, int]
    depth: int
    quanta: list[int]
    tasks: list[str]


class CompositionGraph:
    """Quanta (int leaves) composed into skills and tasks (str inner nodes); see module docs."""

    def __init__(self, description: str = "") -> None:
        if not isinstance(description, str):
            raise invalid("description", description, "must be a string")
        self._g = nx.DiGraph(description=description)
        self._compiled: CompiledGraph | None = None

    # ----------------------------------------------------------------- building
    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> CompositionGraph:
        """Copy a DiGraph (edges child → parent, ``rule``/``k``/``task`` node attributes,
        ``weight`` edge attributes, ``chance``/``learned_score`` on int leaves) and validate it."""
        if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
            raise ValueError("expected a networkx.DiGraph (edges child -> parent)")
        out = cls(description=str(graph.graph.get("description", "")))
        out._g.add_nodes_from(graph.nodes(data=True))
        out._g.add_edges_from(graph.edges(data=True))
        out.validate()
        return out

    @property
    def graph(self) -> nx.DiGraph:
        """Read-only view of the underlying DiGraph (mutate through :meth:`add_node`)."""
        return self._g.copy(as_view=True)

    @property
    def description(self) -> str:
        return str(self._g.graph.get("description", ""))

    def add_node(
        self,
        name: str,
        rule: str,
        children: Sequence[int | str],
        *,
        weights: Sequence[float] | None = None,
        k: int | None = None,
        task: bool | None = None,
    ) -> None:
        """Add inner node ``name = rule(children)``.

        ``children`` are quantum indices (int) or names of inner nodes, which may be defined
        later. ``weights`` (one per child) only for ``mean``/``noisy_or``; ``k`` only for
        ``k_of_n``; ``task`` True/False/None (None: a task iff it ends up with no parent).
        """
        _check_name(name)
        if isinstance(children, (str, bytes, dict)) or not isinstance(
                children, (Sequence, np.ndarray)):
            raise ValueError(f"node {name!r}: children = {children!r} must be a list of "
                             "quantum indices (int) and node names")
        if weights is not None and (isinstance(weights, (str, bytes, dict)) or not isinstance(
                weights, (Sequence, np.ndarray))):
            raise ValueError(f"node {name!r}: weights = {weights!r} must be a list of numbers")
        children = list(children)
        for c in children:
            if not _is_leaf(c) and not isinstance(c, str):
                raise ValueError(
                    f"node {name!r}: child {c!r} is neither a quantum (int) nor a name"
                )
            if _is_leaf(c) and c < 0:
                raise ValueError(f"node {name!r}: quantum index {c} is negative")
            if isinstance(c, str) and parse_quantum(c) is not None:
                raise ValueError(
                    f"node {name!r}: child {c!r}: pass quanta as ints here ({c[1:]}); "
                    "q<k> is how files spell them"
                )
            if isinstance(c, str):
                _check_name(c)
        _check_inner(name, rule, children, weights, k, task)
        if name in self._g and (
            self._g.nodes[name].get("rule") is not None or self._g.in_degree(name)
        ):
            raise ValueError(f"node {name!r} is defined twice")
        attrs: dict[str, Any] = {"rule": rule}
        if k is not None:
            attrs["k"] = int(k)
        if task is not None:
            attrs["task"] = task
        self._g.add_node(name, **attrs)
        for i, c in enumerate(children):
            c = int(c) if _is_leaf(c) else c
            if weights is None:
                self._g.add_edge(c, name)
            else:
                self._g.add_edge(c, name, weight=float(weights[i]))
        self._compiled = None

    def set_quantum(
        self, k: int, *, chance: float | None = None, learned_score: float | None = None
    ) -> None:
        """Leaf values of quantum ``k``: ``chance`` if unlearned, ``learned_score`` if learned."""
        if not _is_leaf(k) or k < 0:
            raise ValueError(f"quantum index must be a non-negative int, got {k!r}")
        attrs = {}
        for field, value in (("chance", chance), ("learned_score", learned_score)):
            if value is not None:
                attrs[field] = _check_probability(f"quantum {quantum_label(k)}", field, value)
        self._g.add_node(int(k), **attrs)
        self._compiled = None

    # ---------------------------------------------------------------- queries
    @property
    def inner_nodes(self) -> list[str]:
        """Skill and task names in insertion order."""
        return [n for n in self._g.nodes if not _is_leaf(n)]

    @property
    def quanta(self) -> list[int]:
        """Quantum indices used as leaves, ascending."""
        return sorted(int(n) for n in self._g.nodes if _is_leaf(n))

    def is_task(self, name: str) -> bool:
        """``task`` attribute if set, else True exactly for inner nodes without a parent."""
        flag = self._g.nodes[name].get("task")
        return bool(flag) if flag is not None else self._g.out_degree(name) == 0

    @property
    def tasks(self) -> list[str]:
        """Task names in insertion order."""
        return [n for n in self.inner_nodes if self.is_task(n)]

    def node_depths(self) -> dict[Hashable, int]:
        """Depth of every node: 0 for quanta, 1 + the largest child depth for inner nodes."""
        self.validate()
        depth: dict[Hashable, int] = {}
        for n in nx.topological_sort(self._g):
            preds = list(self._g.predecessors(n))
            depth[n] = 1 + max(depth[c] for c in preds) if preds else 0
        return depth

    def summary(self) -> GraphSummary:
        """Counts per rule, depth (longest quantum → node path), quanta used and tasks."""
        depths = self.node_depths()
        return GraphSummary(
            n_inner=len(self.inner_nodes),
            n_quanta=len(self.quanta),
            n_edges=self._g.number_of_edges(),
            rules=dict(Counter(self._g.nodes[n]["rule"] for n in self.inner_nodes)),
            depth=max(depths.values(), default=0),
            quanta=self.quanta,
            tasks=self.tasks,
        )

    def __repr__(self) -> str:
        return (
            f"CompositionGraph({len(self.inner_nodes)} inner nodes, {len(self.quanta)} quanta, "
            f"{len(self.tasks)} tasks)"
        )

    # ------------------------------------------------------------- validation
    def validate(self, n_quanta: int | None = None) -> None:
        """Raise ``ValueError`` naming the offending node if the graph is not usable.

        Checks: node types and names; per-node rule, children, k and weights; leaf values;
        cycles (the message lists the cycle); quanta outside ``0 .. n_quanta-1`` when
        ``n_quanta`` is given; nodes that feed no task.
        """
        g = self._g
        for n, attrs in g.nodes(data=True):
            if _is_leaf(n):
                where = f"quantum {_show(n)}"
                if n < 0:
                    raise ValueError(f"{where}: quantum indices must be >= 0")
                if g.in_degree(n):
                    raise ValueError(f"{where} is a leaf but has children")
                extra = set(attrs) - set(_QUANTUM_KEYS)
                if extra:
                    raise ValueError(f"{where}: unknown attributes {sorted(extra)}")
                for field in _QUANTUM_KEYS:
                    if field in attrs:
                        _check_probability(where, field, attrs[field])
                continue
            _check_name(n)
            extra = set(attrs) - {"rule", "k", "task"}
            if extra:
                raise ValueError(f"node {n!r}: unknown attributes {sorted(extra)}")
            children = list(g.predecessors(n))
            for c in children:
                if set(g.edges[c, n]) - {"weight"}:
                    raise ValueError(
                        f"node {n!r}: edge from {_show(c)} has attributes other than weight"
                    )
            weights = None
            if any("weight" in g.edges[c, n] for c in children):
                weights = [g.edges[c, n].get("weight", 1.0) for c in children]
            _check_inner(n, attrs.get("rule"), children, weights, attrs.get("k"), attrs.get("task"))
        if not nx.is_directed_acyclic_graph(g):  # linear time; find_cycle only on failure
            cycle = nx.find_cycle(g)
            path = " -> ".join([_show(u) for u, _ in cycle] + [_show(cycle[0][0])])
            raise ValueError(f"cycle in composition graph: {path}")
        if n_quanta is not None:
            bad = [n for n in self.quanta if n >= n_quanta]
            if bad:
                user = next(iter(g.successors(bad[0])), None)
                used = f" (used by node {user!r})" if user is not None else ""
                raise ValueError(
                    f"quantum {quantum_label(bad[0])}{used} is not a quantum of the spec: "
                    f"indices must lie in 0..{n_quanta - 1} (n_quanta={n_quanta})"
                )
        # Everything reachable backwards (child-wards) from a task feeds that task.
        feeding = set(self.tasks)
        stack = list(feeding)
        while stack:
            for c in g.predecessors(stack.pop()):
                if c not in feeding:
                    feeding.add(c)
                    stack.append(c)
        for n in g.nodes:
            if n not in feeding:
                raise ValueError(
                    f"node {_show(n)} does not feed any task "
                    "(connect it to a task, mark it task = true, or remove it)"
                )

    # ------------------------------------------------------------ evaluation
    def compile(self) -> CompiledGraph:
        """Validate, then flatten to CSR arrays in topological order (cached until mutated)."""
        if self._compiled is not None:
            return self._compiled
        self.validate()
        g = self._g
        leaves = self.quanta
        topo = [n for n in nx.topological_sort(g) if not _is_leaf(n)]
        slot: dict[Hashable, int] = {q: i for i, q in enumerate(leaves)}
        slot.update({n: len(leaves) + j for j, n in enumerate(topo)})
        ptr = np.zeros(len(topo) + 1, dtype=np.int64)
        child: list[int] = []
        weight: list[float] = []
        op = np.empty(len(topo), dtype=np.int64)
        kreq = np.zeros(len(topo), dtype=np.int64)
        for j, n in enumerate(topo):
            attrs = g.nodes[n]
            preds = list(g.predecessors(n))
            w = np.array([g.edges[c, n].get("weight", 1.0) for c in preds], dtype=np.float64)
            if attrs["rule"] == "mean":
                w = w / w.sum()
            child.extend(slot[c] for c in preds)
            weight.extend(w.tolist())
            ptr[j + 1] = len(child)
            op[j] = code_of("rule", attrs["rule"])
            kreq[j] = attrs.get("k", 0)
        report = self.inner_nodes
        self._compiled = CompiledGraph(
            leaf_quanta=np.array(leaves, dtype=np.int64),
            leaf_chance=np.array([g.nodes[q].get("chance", 0.0) for q in leaves], dtype=float),
            leaf_score=np.array(
                [g.nodes[q].get("learned_score", 1.0) for q in leaves], dtype=float
            ),
            ptr=ptr,
            child=np.array(child, dtype=np.int64),
            weight=np.array(weight, dtype=np.float64),
            op=op,
            kreq=kreq,
            topo_names=tuple(topo),
            report_names=tuple(report),
            report_slot=np.array([slot[n] for n in report], dtype=np.int64),
            is_task=np.array([self.is_task(n) for n in report], dtype=bool),
        )
        return self._compiled

    def evaluate(
        self,
        learned: np.ndarray,
        chance: float | np.ndarray | None = None,
        learned_score: float | np.ndarray | None = None,
        *,
        all_nodes: bool = False,
    ) -> tuple[np.ndarray, list[str]]:
        """Success probability of every task (or every inner node) for every row of ``learned``.

        ``learned``: bool or float array of shape (..., K), e.g. agents × checkpoints × quanta;
        floats must lie in [0, 1]. Leaf k is worth ``chance_k + (score_k - chance_k) * learned_k``
        where ``chance``/``learned_score`` (scalar or shape (K,)) override the graph's per-quantum
        values (defaults 0 and 1). Inner nodes apply their rules (module docs).

        Returns ``(values, names)``: ``values`` has shape (..., len(names)), float64; ``names``
        are the tasks, or with ``all_nodes=True`` all inner nodes, in insertion order.
        """
        compiled = self.compile()
        learned = np.asarray(learned)
        if learned.ndim < 1:
            raise ValueError("learned must have a trailing quantum axis, shape (..., K)")
        n_k = learned.shape[-1]
        if n_k < compiled.n_quanta_min:
            self.validate(n_k)  # raises, naming the out-of-range quantum
        q = compiled.leaf_quanta
        leaf_chance = compiled.leaf_chance
        leaf_score = compiled.leaf_score
        if chance is not None:
            leaf_chance = _per_quantum(chance, n_k, "chance")[q]
        if learned_score is not None:
            leaf_score = _per_quantum(learned_score, n_k, "learned_score")[q]
        if learned.dtype == np.bool_:
            rows = np.ascontiguousarray(learned.reshape(-1, n_k)).view(np.uint8)
        elif np.issubdtype(learned.dtype, np.integer) or np.issubdtype(learned.dtype, np.floating):
            rows = np.ascontiguousarray(learned.reshape(-1, n_k), dtype=np.float64)
            if not np.all((rows >= 0.0) & (rows <= 1.0)):
                raise ValueError("learned values must lie in [0, 1] (and not be NaN)")
        else:
            raise ValueError(f"learned must be a bool or float array, got dtype {learned.dtype}")
        keep = np.ones_like(compiled.is_task) if all_nodes else compiled.is_task
        out_slot = compiled.report_slot[keep]
        names = [n for n, kept in zip(compiled.report_names, keep, strict=True) if kept]
        out = np.empty((rows.shape[0], out_slot.size), dtype=np.float64)
        evaluate_compiled(
            rows,
            q,
            leaf_chance,
            leaf_score,
            compiled.ptr,
            compiled.child,
            compiled.weight,
            compiled.op,
            compiled.kreq,
            out_slot,
            out,
        )
        return out.reshape(learned.shape[:-1] + (out_slot.size,)), names

    def task_curves(
        self,
        learned: np.ndarray,
        chance: float | np.ndarray | None = None,
        learned_score: float | np.ndarray | None = None,
        *,
        all_nodes: bool = False,
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per task (every inner node with ``all_nodes``): (mean, standard error) over the
        first axis (agents) of :meth:`evaluate`.

        ``learned`` has shape (agents, ..., K); each returned array has shape (...).
        Standard error: :func:`simquanta.analysis.stats.sem` (NaN for a single agent).
        """
        learned = np.asarray(learned)
        if learned.ndim < 2:
            raise invalid("learned", learned.shape, "task_curves needs shape (agents, ..., K)")
        values, names = self.evaluate(learned, chance, learned_score, all_nodes=all_nodes)
        mean = values.mean(axis=0)
        err = sem(values)
        return {name: (mean[..., i], err[..., i]) for i, name in enumerate(names)}

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """The file structure (see module docs); quanta written as ``"q<k>"``."""
        self.validate()
        g = self._g
        out: dict[str, Any] = {"format": FORMAT}
        if self.description:
            out["description"] = self.description
        quanta = {
            quantum_label(q): {f: float(g.nodes[q][f]) for f in _QUANTUM_KEYS if f in g.nodes[q]}
            for q in self.quanta
        }
        quanta = {label: attrs for label, attrs in quanta.items() if attrs}
        if quanta:
            out["quanta"] = quanta
        nodes: dict[str, Any] = {}
        for n in self.inner_nodes:
            attrs = g.nodes[n]
            preds = list(g.predecessors(n))
            entry: dict[str, Any] = {
                "rule": attrs["rule"],
                "children": [quantum_label(c) if _is_leaf(c) else c for c in preds],
            }
            if any("weight" in g.edges[c, n] for c in preds):
                entry["weights"] = [float(g.edges[c, n].get("weight", 1.0)) for c in preds]
            if "k" in attrs:
                entry["k"] = int(attrs["k"])
            if attrs.get("task") is not None:
                entry["task"] = bool(attrs["task"])
            nodes[n] = entry
        out["nodes"] = nodes
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompositionGraph:
        """Build and validate a graph from the file structure (strict: unknown keys are errors)."""
        if not isinstance(data, dict):
            raise ValueError("composition file must hold a table/object at top level")
        extra = set(data) - set(_TOP_KEYS)
        if extra:
            raise ValueError(f"unknown top-level keys {sorted(extra)}; allowed: {_TOP_KEYS}")
        if "format" in data and data["format"] != FORMAT:
            raise ValueError(f"format is {data['format']!r}; this reader understands {FORMAT!r}")
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ValueError("description must be a string")
        nodes = data.get("nodes", {})
        quanta = data.get("quanta", {})
        if not isinstance(nodes, dict) or not isinstance(quanta, dict):
            raise ValueError("'nodes' and 'quanta' must be tables of tables")
        out = cls(description=description)
        for name, entry in nodes.items():
            where = f"node {name!r}"
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: expected a table with rule and children")
            extra = set(entry) - set(_NODE_KEYS)
            if extra:
                raise ValueError(f"{where}: unknown keys {sorted(extra)}; allowed: {_NODE_KEYS}")
            children = entry.get("children", [])
            if not isinstance(children, list):
                raise ValueError(f"{where}: children must be a list")
            parsed: list[int | str] = []
            for c in children:
                if not isinstance(c, str):
                    raise ValueError(
                        f"{where}: child {c!r} must be a string: q<k> for quantum k or a node name"
                    )
                k = parse_quantum(c)
                if k is None and c not in nodes:
                    raise ValueError(
                        f"{where}: child {c!r} is neither a quantum q<k> nor a node in the file"
                    )
                parsed.append(c if k is None else k)
            weights = entry.get("weights")
            if weights is not None and not isinstance(weights, list):
                raise ValueError(f"{where}: weights must be a list")
            out.add_node(
                name,
                entry.get("rule"),
                parsed,
                weights=weights,
                k=entry.get("k"),
                task=entry.get("task"),
            )
        for label, entry in quanta.items():
            k = parse_quantum(label)
            if k is None:
                raise ValueError(f"quanta table key {label!r} is not of the form q<k>")
            if not isinstance(entry, dict) or set(entry) - set(_QUANTUM_KEYS):
                raise ValueError(f"quantum {label}: expected a table with keys {_QUANTUM_KEYS}")
            out.set_quantum(k, **entry)
        out.validate()
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CompositionGraph:
        """Read a ``.toml`` or ``.json`` file (see module docs) and validate it."""
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise invalid("graph", path, "must be a .toml or .json file path")
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise ValueError(f"{path}: unknown graph file type {suffix!r} (use .toml or .json)")
        if suffix == ".toml":
            data = load_toml(path, "graph")  # names the file (and the line of a syntax error)
        else:  # duplicate keys are refused, as TOML does
            data = parse_json(read_text(path, "graph"), "graph", path)
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.toml`` or ``.json`` atomically (temp file in the same folder, then rename)."""
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise invalid("path", path, "must be a .toml or .json file path")
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".toml":
            text = self.to_toml()
        elif suffix == ".json":
            text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"
        else:
            raise ValueError(f"{path}: unknown graph file type {suffix!r} (use .toml or .json)")
        with atomic_path(path, "path") as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())

    def to_toml(self) -> str:
        """The :meth:`to_dict` structure as TOML text (this format only; not a general writer)."""
        data = self.to_dict()
        lines = [
            "# simquanta composition graph: edges point child -> parent (quantum -> skill -> task)",
            '# Quanta are written "q<k>" (0-based index); rules: ' + ", ".join(RULES) + ".",
            f"format = {_toml_str(data['format'])}",
        ]
        if "description" in data:
            lines.append(f"description = {_toml_str(data['description'])}")
        for label, attrs in data.get("quanta", {}).items():
            lines += ["", f"[quanta.{label}]"]
            lines += [f"{f} = {_toml_value(v)}" for f, v in attrs.items()]
        for name, entry in data["nodes"].items():
            lines += ["", f"[nodes.{_toml_key(name)}]"]
            lines += [f"{f} = {_toml_value(v)}" for f, v in entry.items()]
        return "\n".join(lines) + "\n"


def load_graph(graph: CompositionGraph | str | os.PathLike[str]) -> CompositionGraph:
    """``graph`` itself if it is a CompositionGraph, else the graph read from that .toml or
    .json file (:meth:`CompositionGraph.load`)."""
    return graph if isinstance(graph, CompositionGraph) else CompositionGraph.load(graph)


def _per_quantum(value: float | np.ndarray, n_k: int, field: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_k, float(arr))
    if arr.shape != (n_k,):
        raise ValueError(f"{field} must be a scalar or have shape ({n_k},), got {arr.shape}")
    if not np.all((arr >= 0.0) & (arr <= 1.0)):
        raise ValueError(f"{field} values must lie in [0, 1]")
    return arr


def _toml_str(s: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML additionally forbids raw DEL.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(s: str) -> str:
    return s if _BARE_KEY_RE.fullmatch(s) else _toml_str(s)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # shortest round-tripping repr; validation excluded inf and nan
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
