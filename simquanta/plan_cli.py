"""``simquanta plan GRAPH``: capacity, data and steps floors of each task (``planner``).

The main CLI wires this in with ``add_plan_parser(subparsers)`` and ``run_plan(args)``.
Bad input prints one line ``error: ...`` and exits 2 (raised as ValueError, reported by
``cli.main``); nothing is written then.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from .cli_shared import figure_target, null_non_finite, overlay_flags
from .config import DEFAULTS
from .kernels.codes import ACQUISITIONS, POLICIES
from .validation import invalid


def _default(key: str) -> str:
    """'(default X)' from config.DEFAULTS (as ``simquanta simulate`` shows it)."""
    value = DEFAULTS[key]
    return f"(default {value:g})" if isinstance(value, float) else f"(default {value})"


def _capacity_arg(text: str) -> float | str:
    """``inf`` or one number: the reference capacity."""
    if text.strip() == "inf":
        return "inf"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"capacity = {text!r} is invalid: must be a number or inf") from None


PLAN_EXAMPLE = """examples:
  simquanta plan experiments/graphs/demo.toml --target 0.9
  simquanta plan experiments/graphs/demo.toml --capacity 8 --dataset-size 300 \\
      --tasks three_step,polygenic --params-per-quantum 900 --figure plan.png
  simquanta plan experiments/graphs/demo.toml --policy evict --json

floors (each with a 95 % bootstrap interval over agents):
  capacity floor  smallest capacity with P(success) >= target, data and steps unlimited
                  (converged learners: reject holds the first quanta to become ready that
                  fit; evict the most frequent quanta)
  data floor      smallest training-set size D with P(success) >= target, capacity
                  unlimited, trained until every example's exposures count: quantum k is
                  learned iff it has >= ceil(tau_k) examples (threshold: 1 epoch; geometric:
                  epochs until a learnable quantum is missed with probability <= 1e-6)
  steps floor     smallest number of online steps at --batch-size, capacity unlimited
  frontier        (capacity, D) pairs that just reach the target; compute-optimal: min n*D

classes (reference model: --capacity N0 and --dataset-size D0, or online --steps S0
compared with the steps floor):
  out of reach    no capacity or data floor within the searched ranges
  size-limited    N0 < capacity floor and D0 >= data floor: only a bigger model buys it
  data-limited    N0 >= capacity floor and D0 < data floor: more data (or steps) buys it
  both            N0 < capacity floor and D0 < data floor
  neither         both floors met (joint success: read the frontier)
"""


def add_plan_parser(sub) -> argparse.ArgumentParser:
    """Register ``plan`` on the main parser's subparsers."""
    p = sub.add_parser("plan", help="capacity and data floors of each task of a graph",
                       description="For each task of a composition graph: the smallest "
                                   "capacity and training-set size at which P(success) >= "
                                   "target, the online step floor, the iso-success frontier "
                                   "and a class (rules below).",
                       epilog=PLAN_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("graph", metavar="GRAPH.toml", help="composition graph (TOML or JSON)")
    a("--target", type=float, default=0.9, metavar="P",
      help="success probability to reach, in (0, 1) (default 0.9)")
    a("--tasks", metavar="NAME,...", help="tasks to plan (default: every task of the graph)")
    a("--params-per-quantum", type=float, metavar="C",
      help="also print parameters (C per unit of capacity) beside quanta")
    a("--agents", type=int, metavar="M", help="learners per simulated point (default 200)")
    a("--rtol", type=float, default=0.02, metavar="R",
      help="bisection tolerance, relative (at least 1 unit) (default 0.02)")
    a("--capacity-range", metavar="LO:HI",
      help="capacities searched (default 0 : total cost of all quanta)")
    a("--data-range", metavar="LO:HI",
      help="training-set sizes searched (default 1 : 2^31-1)")
    a("--no-frontier", action="store_true", help="skip the iso-success frontier")
    a("--json", action="store_true", help="print one JSON object on stdout")
    a("--figure", metavar="FILE", help="draw frontiers and floors (.png/.pdf/.svg)")
    model = p.add_argument_group("model (as simquanta simulate; --capacity and the data "
                                 "flags are the reference model of the classes)")
    m = model.add_argument
    m("--n-quanta", type=int, metavar="K", help=f"number of quanta {_default('n_quanta')}")
    m("--alpha", type=float, metavar="A", help=f"Zipf exponent {_default('alpha')}")
    m("--offset", type=float, metavar="O", help=f"Zipf–Mandelbrot offset {_default('offset')}")
    m("--tau", type=float, metavar="T", help=f"exposure threshold {_default('tau')}")
    m("--gamma", type=float, metavar="G", help="threshold family exponent")
    m("--acquisition", choices=list(ACQUISITIONS),
      help=f"dynamics family (plan: the counting families) {_default('acquisition')}")
    m("--speed-n0", type=float, metavar="N0", help="size-dependent speed law n0")
    m("--speed-kappa", type=float, metavar="KAPPA", help="size-dependent speed law exponent")
    m("--capacity", type=_capacity_arg, metavar="N|inf",
      help=f"reference capacity {_default('capacity')}")
    m("--policy", choices=list(POLICIES), help=_default("policy"))
    m("--batch-size", type=int, metavar="B", help=f"samples per step {_default('batch_size')}")
    regime = model.add_mutually_exclusive_group()
    regime.add_argument("--steps", type=int, metavar="S",
                        help=f"reference online steps {_default('steps')}")
    regime.add_argument("--dataset-size", type=int, metavar="D",
                        help="reference training-set size")
    m("--epochs", type=int, metavar="E", help="epochs of the reference training set")
    m("--seed", type=int, metavar="SEED", help=f"root seed {_default('seed')}")
    m("--config", metavar="FILE.toml", help="read the model fields from a TOML file")
    return p


_MODEL_KEYS = ("n_quanta", "alpha", "offset", "tau", "gamma", "acquisition", "speed_n0",
               "speed_kappa", "capacity", "policy", "batch_size", "steps", "dataset_size",
               "epochs", "seed")


def _range_arg(label: str, text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = text.split(":")
    try:
        lo, hi = (int(x) for x in parts)
    except ValueError:
        raise invalid(label, text, "must be LO:HI, two integers") from None
    return lo, hi


def run_plan(args: argparse.Namespace) -> int:
    from .composition import CompositionGraph
    from .config import simulation_from_config
    from .planner import plan
    from .validation import load_toml

    figure = None if args.figure is None else figure_target(args.figure)  # before any work
    if not (0.0 < args.target < 1.0) or math.isnan(args.target):
        raise invalid("target", args.target, "must lie in (0, 1)")
    config: dict[str, Any] = load_toml(args.config) if args.config else {}
    flags = {k: getattr(args, k) for k in _MODEL_KEYS if getattr(args, k) is not None}
    overlay_flags(config, flags)
    agents = args.agents if args.agents is not None else config.get("agents", 200)
    config["agents"] = agents
    config.pop("checkpoints", None)
    sim = simulation_from_config(config)
    graph = CompositionGraph.load(args.graph)
    tasks = None if args.tasks is None else [t.strip() for t in args.tasks.split(",")]
    result = plan(graph, sim.quanta, sim.learner, sim.data, target=args.target, tasks=tasks,
                  agents=sim.agents, seed=sim.seed, rtol=args.rtol,
                  capacity_range=_range_arg("capacity_range", args.capacity_range),
                  data_range=_range_arg("data_range", args.data_range),
                  frontier=not args.no_frontier, params_per_quantum=args.params_per_quantum)
    written = []
    if figure is not None:
        from . import plots

        written = plots.save(plan_figure(result, title=Path(args.graph).name), figure,
                             formats=(figure.suffix[1:].lower(),))
    if args.json:
        print(json.dumps(null_non_finite(result.to_dict())))
    else:
        print(format_plan(result))
        for path in written:
            print(f"wrote {path}")
    return 0


def _interval(value, ci, scale: float = 1.0) -> str:
    if value is None:
        return "out of reach"
    lo, hi = ci

    def show(x):
        return "∞" if x is None else f"{x * scale:.4g}"

    return f"{value * scale:.4g} [{show(lo)}, {show(hi)}]"


def format_plan(result) -> str:
    """The human-readable table of ``simquanta plan``."""
    c = result.settings.get("params_per_quantum")
    ref = result.reference
    ref_data = (f"D0 = {ref['dataset_size']}" if "dataset_size" in ref
                else f"S0 = {ref['steps']} steps × batch {ref['batch_size']}")
    lines = [f"target P(success) >= {result.target}; reference N0 = {ref['capacity']:g}, "
             f"{ref_data}; {result.settings['agents']} agents per point, "
             f"{result.n_simulations} simulations, {result.wall_seconds:.1f} s",
             f"{'task':<20} {'class':<13} {'capacity floor [95% CI]':<24} "
             + (f"{'parameters':<24} " if c else "")
             + f"{'data floor':<24} {'steps floor':<20} compute-optimal (n, D)"]
    for t in result.tasks.values():
        best = "—" if t.compute_optimal is None else f"({t.compute_optimal[0]}, " \
                                                     f"{t.compute_optimal[1]})"
        lines.append(
            f"{t.name:<20} {t.cls:<13} {_interval(t.capacity_floor, t.capacity_floor_ci):<24} "
            + (f"{_interval(t.capacity_floor, t.capacity_floor_ci, c):<24} " if c else "")
            + f"{_interval(t.data_floor, t.data_floor_ci):<24} "
            f"{_interval(t.steps_floor, t.steps_floor_ci):<20} {best}")
    lines += [f"note: {n}" for n in result.notes]
    return "\n".join(lines)


def plan_figure(result, *, title: str | None = None):
    """Iso-success frontiers over (capacity, training-set size), log–log: one line per task,
    its capacity floor (dotted, vertical) and data floor (dotted, horizontal) and its
    compute-optimal point (open circle)."""
    import matplotlib.pyplot as plt

    from . import plots

    plots.use_style()
    fig, ax = plt.subplots(figsize=(plots.COLUMN_WIDTH_IN * 1.3, 2.8))
    for i, t in enumerate(result.tasks.values()):
        color = plots.PALETTE[i % len(plots.PALETTE)]
        if t.frontier:
            n, d = zip(*t.frontier, strict=True)
            ax.plot(n, d, color=color, marker=".", ms=3, label=t.name)
        elif t.capacity_floor is not None:
            ax.plot([], [], color=color, label=t.name)
        plots.plan_marks(ax, t, color=color, ms=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("capacity n (quanta)")
    ax.set_ylabel("training-set size D")
    ax.set_title(title or f"iso-success frontiers, P = {result.target}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig
