"""Capability floors: for every task of the shipped graphs arithmetic, concepts and demo
(experiments/graphs/; ranks.toml places tasks up to rank 3000, beyond these budgets) and one
Arora–Goyal random skill–text graph, the planner's capacity floor (converged learners,
unlimited data), data floor (unlimited capacity, every example's exposures counted), steps
floor, iso-success frontier and compute-optimal point (``simquanta.plan``).

Quanta: K Zipf quanta, α = 0.5, threshold rule τ = 5, ``reject``; target P(success) = 0.9.
Reference model for the classes: capacity N0 = 10 quanta, a training set of D0 = 500 samples.
The Arora–Goyal graph: 10 texts, each needing 3 skills drawn with the Zipf frequencies
(``generators.skill_text``). The figure draws, per graph, each task's iso-success contour
P(success) = 0.9 over (capacity, D) from the planner's frontier grid, with its capacity floor
(dotted vertical) and data floor (dotted horizontal). The data floors are checked against the
closed form rule(P(Binomial(D, p_k) ≥ τ)) (exact for read-once graphs of independent quanta).
"""

from __future__ import annotations

from pathlib import Path

import simquanta as sq
from simquanta import plots
from simquanta.composition import CompositionGraph
from simquanta.generators import skill_text

from _common import Experiment, parse_args

NAME = "capability_floors"
GRAPHS = Path(__file__).resolve().parent / "graphs"
GRAPH_NAMES = ("arithmetic", "concepts", "demo")
ALPHA, TAU, TARGET = 0.5, 5, 0.9
N0, D0 = 10, 500


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 2000, "agents": 60, "seed": 11}
    return {"n_quanta": 10_000, "agents": 200, "seed": 11}


def graphs(n_quanta: int) -> dict[str, CompositionGraph]:
    out = {name: CompositionGraph.load(GRAPHS / f"{name}.toml") for name in GRAPH_NAMES}
    p = sq.Quanta(n_quanta, alpha=ALPHA).p
    out["arora_goyal"] = skill_text(60, 10, 3, p=p[:60], seed=4)
    return out


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "tau": TAU, "target": TARGET, "acquisition": "threshold",
                "policy": "reject", "reference_capacity": N0, "reference_dataset_size": D0})
    exp = Experiment(NAME, args, cfg)
    quanta = sq.Quanta(cfg["n_quanta"], alpha=ALPHA, tau=TAU)
    learner = sq.Learner(capacity=N0)
    data = sq.Dataset(size=D0, epochs=1)
    results, plans = {}, {}
    for name, graph in graphs(cfg["n_quanta"]).items():
        res = sq.plan(graph, quanta, learner, data, target=TARGET, agents=cfg["agents"],
                      seed=cfg["seed"])
        plans[name] = res
        tasks = {}
        for t in res.tasks.values():
            tasks[t.name] = {
                "class": t.cls, "capacity_floor": t.capacity_floor,
                "capacity_floor_ci": t.capacity_floor_ci, "data_floor": t.data_floor,
                "data_floor_ci": t.data_floor_ci, "closed_form_data_floor":
                t.closed_form_data_floor, "steps_floor": t.steps_floor,
                "compute_optimal": t.compute_optimal, "frontier": t.frontier,
                "capacity_floor_over_rarest_rank": _rank_ratio(graph, t),
            }
        ratio = [abs(v["data_floor"] / v["closed_form_data_floor"] - 1) for v in tasks.values()
                 if v["data_floor"] and v["closed_form_data_floor"]]
        results[name] = {"tasks": tasks, "simulations": res.n_simulations,
                         "wall_seconds": res.wall_seconds,
                         "max_relative_gap_data_floor_vs_closed_form": max(ratio, default=None),
                         "classes": {c: sum(v["class"] == c for v in tasks.values())
                                     for c in ("size-limited", "data-limited", "both",
                                               "neither", "out of reach")}}
    exp.save(figure(plans), results)
    return results


def _rank_ratio(graph: CompositionGraph, t) -> float | None:
    """Capacity floor ÷ the largest rank among the task's quanta (evict would give ≤ 1)."""
    if t.capacity_floor is None:
        return None
    below = set()
    stack = [t.name]
    g = graph.graph
    while stack:
        for c in g.predecessors(stack.pop()):
            if isinstance(c, str):
                stack.append(c)
            else:
                below.add(int(c))
    return t.capacity_floor / (max(below) + 1)


def figure(plans):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(2, 2, figsize=(plots.COLUMN_WIDTH_IN * 2, 5.2))
    for ax, (name, res) in zip(axes.flat, plans.items(), strict=False):
        grid = res.frontier_grid
        for i, t in enumerate(res.tasks.values()):
            color = plots.PALETTE[i % len(plots.PALETTE)]
            if grid is not None and t.capacity_floor is not None:
                s = grid["success"][:, :, i].T
                if s.min() < TARGET <= s.max():
                    ax.contour(grid["capacity"], grid["data"], s, levels=[TARGET],
                               colors=[color], linewidths=1.2)
            plots.plan_marks(ax, t, color=color, ms=5)
            ax.plot([], [], color=color, label=f"{t.name} ({t.cls})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("capacity n (quanta)")
        ax.set_ylabel("training-set size D")
        ax.legend(fontsize=5, loc="upper right")
    fig.suptitle(f"P(success) = {TARGET} contours; dotted: capacity and data floors; "
                 f"o: compute-optimal", fontsize=7)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
