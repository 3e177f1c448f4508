"""Small model trained longer vs big model trained shorter at fixed compute N·D: which tasks of
the planner's shipped graphs (experiments/graphs/{arithmetic,concepts,demo}.toml) each reaches.

Quanta: K Zipf quanta, α = 0.5, threshold rule τ = 5 (equal costs: capacity n in quanta);
target P(success) = 0.9. Compute C = n·D (n = capacity, D = training-set size), trained until
every example's exposures count (the planner's data-floor rule: threshold needs one epoch).
For every budget C and capacity n on a log grid, the model (n, D = C/n) is simulated for both
policies: ``evict`` in its converged limit (per agent the n learnable quanta — D_k ≥ τ — with
the most examples, ties at random: ``simquanta.planner``'s dataset-limit helper) and
``reject`` (events engine, one epoch: the first n quanta to become ready are kept). The
headline pair at each budget: the small-long model n_s = 4 quanta (D = C/4) against the
big-short one n_b = 32 quanta (D = C/32, 8× bigger, 8× less data). A model *reaches* a task
when the mean P(success) over agents is ≥ 0.9; 95 % intervals are percentile bootstraps over
agents (``simquanta.analysis.stats``).

Closed forms (exact where stated): the data bound P_data(D) = rule(P(Binomial(D, p_k) ≥ τ)),
the success with unlimited capacity (exact for these read-once graphs of independent counts;
an upper bound on any capacity, since every rule is monotone and a learned quantum must be
learnable); the converged evict capacity curve P_cap(n) = rule(top-n quanta learned) (exact
with unlimited data). Hence the closed-form floors N*_cf (rank rule) and D*_cf, and the
*floors rule*: (n, D) reaches a task iff n ≥ N* and D ≥ D*, so along the iso-compute line the
task's window is N* ≤ n ≤ C/D*, nonempty iff C ≥ N*·D*. Its verdict for the pair: only the
small-long model when N* ≤ n_s and C/n_b < D* ≤ C/n_s; only the big-short one when
n_s < N* ≤ n_b and D* ≤ C/n_b. For reject the rule uses the planner's simulated capacity floor
(``simquanta.plan``, converged learners) with the same data floor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import simquanta as sq
from simquanta import planner, plots
from simquanta.analysis.stats import percentile_ci, resample_counts
from simquanta.composition import CompositionGraph
from simquanta.simulate import simulate, with_learned_state
from simquanta.specs import Simulation

from _common import Experiment, parse_args

NAME = "small_long_vs_big_short"
GRAPHS = Path(__file__).resolve().parent / "graphs"
#: the planner's shipped graphs (as in capability_floors); ranks.toml (model_collapse,
#: distillation) is left out: its tasks sit at ranks 30-3000, beyond quick mode's K and
#: needing N·D ≳ 10^5-10^10, far past these budgets
GRAPH_NAMES = ("arithmetic", "concepts", "demo")
ALPHA, TAU, TARGET = 0.5, 5, 0.9
SMALL, BIG = 4, 32
CAPACITIES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
WINDOW_BUDGET = 8000
WINDOW_TASKS = ["demo:recall_fact", "arithmetic:column_addition", "demo:three_step",
                "arithmetic:long_multiplication", "demo:polygenic"]
VERDICTS = ("only small-long", "only big-short", "both", "neither")
_EPS = 1e-9


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 2000, "agents": 60, "plan_agents": 60, "seed": 31, "n_boot": 300,
                "budgets": [250, 2000, 8000, 32000]}
    return {"n_quanta": 10_000, "agents": 200, "plan_agents": 200, "seed": 31, "n_boot": 1000,
            "budgets": [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000]}


def load_graphs() -> dict[str, CompositionGraph]:
    return {name: CompositionGraph.load(GRAPHS / f"{name}.toml") for name in GRAPH_NAMES}


class Tasks:
    """Every task of every graph, evaluated on full learned masks (agents, K) → (agents, T);
    names are "<graph>:<task>"."""

    def __init__(self, graphs: dict[str, CompositionGraph], quanta: sq.Quanta):
        self.parts = []
        self.names = []
        for gname, g in graphs.items():
            tasks = planner.task_names(g, None)
            ev = planner.TaskEvaluator(g, tasks)
            compact = planner.compact_quanta(quanta, g.quanta)
            self.parts.append((ev, compact))
            self.names += [f"{gname}:{t}" for t in tasks]

    def values(self, learned: np.ndarray) -> np.ndarray:
        return np.concatenate([ev.full(learned) for ev, _ in self.parts], axis=-1)

    def data_bound(self, sizes) -> np.ndarray:
        """Closed-form P_data(D) per task, (len(sizes), T)."""
        sizes = np.asarray(sizes, dtype=np.int64)
        return np.concatenate([planner.closed_form_success(ev, cq, sizes)
                               for ev, cq in self.parts], axis=-1)


def closed_form_floors(tasks: Tasks, quanta: sq.Quanta, cap_max: int = 10_000):
    """Converged-evict capacity curve P_cap(n) (top-n quanta learned) and the closed-form
    floors N*_cf (smallest n with P_cap ≥ target) and D*_cf (smallest D with P_data ≥
    target) of every task."""
    order = np.argsort(-quanta.p, kind="stable")
    n_grid = np.arange(0, min(cap_max, quanta.n_quanta) + 1)
    masks = np.zeros((n_grid.size, quanta.n_quanta), dtype=bool)
    for i, n in enumerate(n_grid):
        masks[i, order[:n]] = True
    p_cap = tasks.values(masks)  # (n, T)
    cap_floor = []
    for t in range(p_cap.shape[1]):
        ok = np.flatnonzero(p_cap[:, t] >= TARGET - _EPS)
        cap_floor.append(int(n_grid[ok[0]]) if ok.size else None)
    data_floor = []
    for ev, cq in tasks.parts:
        data_floor += planner.closed_form_floors(ev, cq, TARGET, 1, planner.MAX_DATASET)
    return n_grid, p_cap, cap_floor, data_floor


def floors_verdict(n_floor, d_floor, budget) -> str:
    """The floors rule's verdict for the headline pair at one budget."""
    if n_floor is None or d_floor is None:
        return "neither"
    small = n_floor <= SMALL and d_floor <= budget / SMALL
    big = n_floor <= BIG and d_floor <= budget / BIG
    return verdict(small, big)


def verdict(small: bool, big: bool) -> str:
    return ("both" if small and big else "only small-long" if small
            else "only big-short" if big else "neither")


def simulate_line(policy, quanta, tasks, budget, cfg, counts):
    """Mean P(success), 95 % interval and per-agent values along one iso-compute line."""
    means, los, his = [], [], []
    for n in CAPACITIES:
        d = max(1, int(round(budget / n)))
        if policy == "evict":
            rng = np.random.default_rng(np.random.SeedSequence([cfg["seed"], budget, n]))
            learned = planner.evict_dataset_limit(quanta, d, n, cfg["agents"], rng)
        else:
            sim = with_learned_state(Simulation(
                quanta, sq.Learner(capacity=float(n)),
                sq.Dataset(size=d, epochs=1, batch_size=1), agents=cfg["agents"],
                seed=cfg["seed"], checkpoints=1, engine="auto"))
            res = simulate(sim.quanta, sim.learner, sim.data, agents=sim.agents,
                           seed=sim.seed, checkpoints=1, engine=sim.engine,
                           record_learn_steps=sim.record_learn_steps,
                           record_learned_sets=sim.record_learned_sets)
            learned = res.learned_mask()[:, -1, :]
        values = tasks.values(learned)  # (agents, T)
        lo, hi = percentile_ci(counts @ values)
        means.append(values.mean(axis=0))
        los.append(lo)
        his.append(hi)
    return np.array(means), np.array(los), np.array(his)  # (n, T)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "tau": TAU, "target": TARGET, "acquisition": "threshold",
                "small_capacity": SMALL, "big_capacity": BIG, "capacities": CAPACITIES,
                "epochs": 1, "window_budget": WINDOW_BUDGET,
                "graphs": list(GRAPH_NAMES)})
    exp = Experiment(NAME, args, cfg)
    quanta = sq.Quanta(cfg["n_quanta"], alpha=ALPHA, tau=TAU)
    graphs = load_graphs()
    tasks = Tasks(graphs, quanta)
    names = tasks.names
    _, _, cf_cap, cf_data = closed_form_floors(tasks, quanta)

    # the planner's reject capacity floors (converged learners), with 95 % intervals
    reject_cap, reject_cap_ci, plan_data, plan_data_ci, plan_sims = [], [], [], [], 0
    for g in graphs.values():
        res = sq.plan(g, quanta, sq.Learner(capacity=SMALL), sq.Dataset(size=1000),
                      target=TARGET, agents=cfg["plan_agents"], seed=cfg["seed"],
                      frontier=False)
        plan_sims += res.n_simulations
        for t in res.tasks.values():
            reject_cap.append(t.capacity_floor)
            reject_cap_ci.append(t.capacity_floor_ci)
            plan_data.append(t.data_floor)
            plan_data_ci.append(t.data_floor_ci)

    rng = np.random.default_rng(np.random.SeedSequence([cfg["seed"], 7]))
    counts = resample_counts(rng, cfg["n_boot"], cfg["agents"]) / cfg["agents"]
    budgets = cfg["budgets"]
    caps = np.array(CAPACITIES)
    i_s, i_b = CAPACITIES.index(SMALL), CAPACITIES.index(BIG)
    lines = {}
    results = {"tasks": {}, "budgets": budgets, "capacities": CAPACITIES,
               "pair": {"small_long_capacity": SMALL, "big_short_capacity": BIG},
               "lines": {}, "summary": {}}
    for t, name in enumerate(names):
        results["tasks"][name] = {
            "closed_form_capacity_floor_evict": cf_cap[t],
            "closed_form_data_floor": cf_data[t],
            "closed_form_compute_floor": (None if cf_cap[t] is None or cf_data[t] is None
                                          else cf_cap[t] * cf_data[t]),
            "planner_capacity_floor_reject": reject_cap[t],
            "planner_capacity_floor_reject_ci": reject_cap_ci[t],
            "planner_data_floor": plan_data[t], "planner_data_floor_ci": plan_data_ci[t],
            "evict": {}, "reject": {},
        }
    for policy in ("evict", "reject"):
        floor_n = cf_cap if policy == "evict" else reject_cap
        agree = total = 0
        tally = {v: 0 for v in VERDICTS}
        for budget in budgets:
            mean, lo, hi = simulate_line(policy, quanta, tasks, budget, cfg, counts)
            sizes = np.maximum(1, np.round(budget / caps)).astype(np.int64)
            bound = tasks.data_bound(sizes)  # (n, T)
            lines[(policy, budget)] = (mean, lo, hi, bound)
            results["lines"][f"{policy}/{budget}"] = {
                "capacity": caps, "dataset_size": sizes, "mean": mean, "ci_lo": lo,
                "ci_hi": hi, "closed_form_data_bound": bound}
            for t, name in enumerate(names):
                reach = mean[:, t] >= TARGET - _EPS
                v = verdict(bool(reach[i_s]), bool(reach[i_b]))
                rule = floors_verdict(floor_n[t], cf_data[t], budget)
                agree += v == rule
                total += 1
                tally[v] += 1
                results["tasks"][name][policy][str(budget)] = {
                    "verdict": v, "floors_rule_verdict": rule,
                    "small_long": {"capacity": SMALL, "dataset_size": int(sizes[i_s]),
                                   "p": mean[i_s, t], "ci": [lo[i_s, t], hi[i_s, t]],
                                   "closed_form_data_bound": bound[i_s, t]},
                    "big_short": {"capacity": BIG, "dataset_size": int(sizes[i_b]),
                                  "p": mean[i_b, t], "ci": [lo[i_b, t], hi[i_b, t]],
                                  "closed_form_data_bound": bound[i_b, t]},
                    "ci_contains_target": bool(lo[i_s, t] <= TARGET <= hi[i_s, t]
                                               or lo[i_b, t] <= TARGET <= hi[i_b, t]),
                    "window": [int(c) for c in caps[reach]],
                }
        mixed = [c for c in budgets if {"only small-long", "only big-short"} <= {
            results["tasks"][n][policy][str(c)]["verdict"] for n in names}]
        results["summary"][policy] = {"verdicts": tally,
                                      "agreement_with_floors_rule": agree / total,
                                      "budgets_with_both_exclusive_verdicts": mixed}
    results["plan_simulations"] = plan_sims
    results["headline"] = headline(results, names, budgets)
    for line in results["headline"]:
        print(line)
    exp.save(figure(results, names, budgets, lines, cfg), results)
    return results


def headline(results, names, budgets) -> list[str]:
    """Per task and policy: the budgets at which each verdict holds."""
    out = []
    for policy in ("evict", "reject"):
        for name in names:
            by = results["tasks"][name][policy]
            parts = []
            for v in VERDICTS[:3]:
                cs = [c for c in budgets if by[str(c)]["verdict"] == v]
                if cs:
                    parts.append(f"{v} at C = {', '.join(str(c) for c in cs)}")
            out.append(f"{policy:6s} {name:34s} " + ("; ".join(parts) or "neither everywhere"))
    return out


COLORS = {"only small-long": plots.PALETTE[0], "only big-short": plots.PALETTE[1],
          "both": plots.PALETTE[2], "neither": "#DDDDDD"}


def figure(results, names, budgets, lines, cfg):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plots.use_style()
    fig, axes = plt.subplots(2, 2, figsize=(plots.COLUMN_WIDTH_IN * 2.2, 6.4),
                             gridspec_kw={"height_ratios": [1.35, 1.0]})
    cf = [results["tasks"][n]["closed_form_compute_floor"] or np.inf for n in names]
    order = np.argsort(cf, kind="stable")
    cmap = ListedColormap([COLORS[v] for v in VERDICTS])
    for ax, policy in zip(axes[0], ("evict", "reject"), strict=True):
        grid = np.zeros((len(names), len(budgets)))
        for r, t in enumerate(order):
            for c, budget in enumerate(budgets):
                cell = results["tasks"][names[t]][policy][str(budget)]
                grid[r, c] = VERDICTS.index(cell["verdict"])
                text = f"{cell['small_long']['p']:.2f}\n{cell['big_short']['p']:.2f}"
                ax.text(c, r, text, ha="center", va="center", fontsize=3.6,
                        color="white" if cell["verdict"] != "neither" else "black")
                if cell["verdict"] != cell["floors_rule_verdict"]:
                    ax.plot(c + 0.38, r - 0.3, marker="*", color="black", ms=3.2, mew=0)
                if cell["ci_contains_target"]:
                    ax.plot(c - 0.38, r - 0.3, marker="o", color="black", ms=1.8, mew=0)
        ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=3.5, aspect="auto")
        ax.set_xticks(range(len(budgets)), [f"{b:g}" for b in budgets], rotation=45)
        ax.set_yticks(range(len(names)), [names[t] for t in order], fontsize=5)
        ax.set_xlabel("compute budget C = n·D (quanta × samples)")
        ax.grid(False)
        ax.set_title(f"({'a' if policy == 'evict' else 'b'}) {policy}: small-long n = {SMALL} "
                     f"vs big-short n = {BIG}\ncell: P(success) small / big",
                     fontsize=6.5)
    axes[0, 0].legend(handles=[Patch(color=COLORS[v], label=v) for v in VERDICTS],
                      fontsize=5, loc="upper left", bbox_to_anchor=(0.0, -0.22), ncol=4)
    budget = WINDOW_BUDGET if WINDOW_BUDGET in budgets else budgets[len(budgets) // 2]
    caps = np.array(CAPACITIES)
    for ax, policy in zip(axes[1], ("evict", "reject"), strict=True):
        mean, lo, hi, bound = lines[(policy, budget)]
        for i, name in enumerate(WINDOW_TASKS):
            t = names.index(name)
            color = plots.PALETTE[[2, 3, 5, 4, 7][i]]
            ax.plot(caps, mean[:, t], "o-", color=color, ms=2.5, label=name.split(":")[1])
            ax.fill_between(caps, lo[:, t], hi[:, t], color=color, alpha=0.2, lw=0)
            plots.theory_line(ax, caps, bound[:, t], color=color, label=None, lw=0.8)
        ax.axhline(TARGET, color="black", lw=0.6, ls=":")
        for n in (SMALL, BIG):
            ax.axvline(n, color="grey", lw=0.6)
        ax.set_xscale("log")
        ax.set_xlabel(f"capacity n on the line n·D = {budget:g} (D = C/n)")
        ax.set_ylabel("P(success), 95 % CI")
        ax.set_title(f"({'c' if policy == 'evict' else 'd'}) {policy} along the iso-compute "
                     f"line; dashed: closed-form data bound", fontsize=6.5)
        ax.legend(fontsize=5, loc="lower left", bbox_to_anchor=(0.0, 0.25))
    fig.suptitle(f"Can training longer replace a bigger model? K = {cfg['n_quanta']} Zipf "
                 f"quanta, α = {ALPHA}, τ = {TAU}, target {TARGET}, {cfg['agents']} agents; "
                 f"* verdict ≠ floors rule, • a 95 % CI contains the target", fontsize=6.5)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
