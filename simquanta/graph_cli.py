"""``simquanta graph show FILE [--image PNG] [--n-quanta K]``: summarise a graph file (and draw
it with ``--image``).

The main CLI wires this in with::

    add_graph_parser(subparsers)          # registers "graph" and its "show" subcommand
    ...
    return run_graph(args)                # when args.command == "graph"

Bad input (missing file, TOML/JSON syntax, validation) prints one ``error: ...`` line to stderr
and returns exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Hashable
from pathlib import Path

import networkx as nx

from simquanta.composition import RULES, CompositionGraph, quantum_label
from simquanta.files import atomic_path, check_output
from simquanta.validation import invalid

__all__ = ["add_graph_parser", "draw_graph", "run_graph"]

# Okabe–Ito colour-blind-safe palette, one colour per rule; quanta are grey.
RULE_COLORS = {
    "all": "#0072B2",
    "product": "#56B4E9",
    "any": "#E69F00",
    "noisy_or": "#D55E00",
    "mean": "#009E73",
    "k_of_n": "#CC79A7",
}
QUANTUM_COLOR = "#BBBBBB"
_MAX_LABELS = 150  # beyond this many nodes labels overlap into noise
_MAX_INCHES = 40.0  # figure side cap: a 10^4-deep chain must not ask for a giant canvas
IMAGE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def add_graph_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``graph show`` on an argparse subparsers object; returns the ``graph`` parser."""
    example = "example:\n  simquanta graph show experiments/graphs/demo.toml --image demo.png"
    parser = subparsers.add_parser(
        "graph", help="inspect composition graphs", description="Inspect composition graphs.",
        epilog=example, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="graph_command", metavar="COMMAND", required=True)
    show = sub.add_parser(
        "show",
        help="print a summary of a graph file (and draw it with --image)",
        description="Validate a .toml/.json composition graph and print a summary; --image "
                    "also draws it.",
        epilog=example, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("file", type=Path, help="graph file (.toml or .json)")
    show.add_argument(
        "--image", type=Path, default=None,
        help="draw the graph to this image, .png or .pdf (default: no image)"
    )
    show.add_argument(
        "--n-quanta", type=int, default=None,
        help="also check leaves against K quanta (default: no check)"
    )
    return parser


def run_graph(args: argparse.Namespace) -> int:
    """Run a ``graph`` subcommand; 0 on success, 2 (and one ``error:`` line) on bad input."""
    try:  # argparse admits only "show" as args.graph_command
        image = args.image  # drawn only when asked for
        if image is not None:
            check_output(image, "image")  # before any work: never a device, link or directory
            if image.suffix[1:].lower() not in IMAGE_FORMATS:
                raise invalid("image", str(image), f"unknown image format; use one of "
                                                   f"{', '.join(IMAGE_FORMATS)}")
        graph = CompositionGraph.load(args.file)
        if args.n_quanta is not None:
            graph.validate(args.n_quanta)
    except (OSError, ValueError) as exc:  # TOML/JSON syntax errors are ValueErrors too
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(format_summary(graph, args.file))
    if image is None:
        return 0
    try:
        draw_graph(graph, image)
    except (OSError, ValueError) as exc:
        print(f"error: cannot write {image}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"image: {image}")
    return 0


def format_summary(graph: CompositionGraph, source: Path | str) -> str:
    """Human-readable summary: nodes per rule, depth, quanta used, tasks."""
    s = graph.summary()
    rules = ", ".join(f"{r} {s.rules[r]}" for r in RULES if r in s.rules)
    quanta = _ranges(s.quanta)
    tasks = ", ".join(s.tasks[:20])
    if len(s.tasks) > 20:
        tasks += f", ... ({len(s.tasks) - 20} more)"
    lines = [
        f"graph: {source}",
        f"description: {graph.description}" if graph.description else None,
        f"inner nodes: {s.n_inner} ({rules})",
        f"edges: {s.n_edges}",
        f"depth: {s.depth}",
        f"quanta used: {s.n_quanta} ({quanta})",
        f"tasks: {len(s.tasks)} ({tasks})",
    ]
    return "\n".join(line for line in lines if line is not None)


def _ranges(ks: list[int]) -> str:
    """Compact list of sorted ints: q0-q3, q7."""
    parts: list[str] = []
    i = 0
    while i < len(ks):
        j = i
        while j + 1 < len(ks) and ks[j + 1] == ks[j] + 1:
            j += 1
        a, b = quantum_label(ks[i]), quantum_label(ks[j])
        parts.append(a if i == j else f"{a}-{b}")
        i = j + 1
    return ", ".join(parts)


def draw_graph(graph: CompositionGraph, path: Path | str) -> None:
    """Draw the graph layered by depth (quanta at the bottom, tasks outlined) to ``path``.

    Uses a bare matplotlib Figure (no pyplot), so it needs no display and no global state.
    """
    # matplotlib is imported here, not at module level, so `simquanta --help` stays fast.
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    g = graph.graph
    depth = graph.node_depths()
    layers: dict[int, list[Hashable]] = defaultdict(list)
    for n in g.nodes:
        layers[depth[n]].append(n)
    widest = max((len(v) for v in layers.values()), default=1)
    pos: dict[Hashable, tuple[float, float]] = {}
    for i, q in enumerate(sorted(layers[0])):
        pos[q] = (float(i), 0.0)
    for d in sorted(layers)[1:]:
        # Put each node above the mean position of its children (barycentre), then push
        # neighbours apart to unit spacing; one bottom-up pass removes most edge crossings.
        bary = {n: sum(pos[c][0] for c in g.predecessors(n)) / g.in_degree(n) for n in layers[d]}
        members = sorted(layers[d], key=bary.__getitem__)
        xs: list[float] = []
        for n in members:
            xs.append(bary[n] if not xs else max(bary[n], xs[-1] + 1.0))
        shift = sum(bary.values()) / len(members) - sum(xs) / len(xs)
        for n, x in zip(members, xs, strict=True):
            pos[n] = (x + shift, float(d))
    n_nodes = g.number_of_nodes()
    fig = Figure(figsize=(min(4.0 + 0.8 * widest, _MAX_INCHES),
                          min(2.0 + 1.6 * len(layers), _MAX_INCHES)))
    ax = fig.subplots()
    tasks = set(graph.tasks)
    colors = [QUANTUM_COLOR if depth[n] == 0 else RULE_COLORS[g.nodes[n]["rule"]] for n in g]
    edge_colors = ["black" if n in tasks else "none" for n in g]
    size = 300 if n_nodes <= _MAX_LABELS else 20
    nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.4, arrows=n_nodes <= _MAX_LABELS, node_size=size)
    nx.draw_networkx_nodes(
        g, pos, ax=ax, node_color=colors, edgecolors=edge_colors, linewidths=2, node_size=size
    )
    if n_nodes <= _MAX_LABELS:
        quanta = {n: quantum_label(n) for n in layers[0]}
        nx.draw_networkx_labels(g, pos, labels=quanta, ax=ax, font_size=7)
        # Inner names are longer than a node: write them just above it.
        above = {n: (x, y + 0.12) for n, (x, y) in pos.items() if depth[n] > 0}
        names = {n: str(n) for n in above}
        nx.draw_networkx_labels(g, above, labels=names, ax=ax, font_size=7)
    handles = [
        Line2D([], [], marker="o", ls="", color=c, label=r)
        for r, c in RULE_COLORS.items()
        if any(g.nodes[n].get("rule") == r for n in graph.inner_nodes)
    ]
    handles.append(Line2D([], [], marker="o", ls="", color=QUANTUM_COLOR, label="quantum"))
    handles.append(
        Line2D([], [], marker="o", ls="", color="white", markeredgecolor="black", label="task")
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_ylabel("depth")
    ax.set_title(graph.description or "composition graph")
    ax.tick_params(left=True, labelleft=True)
    if len(layers) <= 40:  # one tick per layer; a deep graph gets a few integer ticks
        ax.set_yticks(sorted(layers))
    else:
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".").lower() or "png")
