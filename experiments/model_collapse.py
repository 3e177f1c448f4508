"""Model collapse: loss on real data and task success over generations trained on the previous
generation's output, for real-data shares ρ = 0, 0.1, 0.5.

Setting (``simquanta.populations.simulate_generations``): K = 10⁴ Zipf quanta (α = 0.5),
threshold τ = 5, unlimited capacity, 10⁶ samples per generation (data-limited: generation 0
learns the ≈ 1800 quanta with p_k·m ≳ τ), events engine. Generation 0 learns from real data;
generation g from a mix of real samples (share ρ) and generation g − 1's output, which holds
only the quanta it learned, renormalized (Dohmatob et al. 2024's tail cut); student i is
taught by agent i of the previous generation.

Theory (dashed, ``analysis.population_theory``): the mean-field generation recursion
s_g(k) = s_{g−1} π_in + (1 − s_{g−1}) π_out with Poissonized counts, its loss curves and
plateaus, and (dotted) the fixed point for ρ > 0; task success dashed is the composition graph
evaluated on the shares s_g(k) (quanta independent). Tasks: ``experiments/graphs/ranks.toml``
(single quanta at ranks 0…3000, conjunctions, a redundant any-of-ten and a graded mean).
Expected: without real data the loss rises generation after generation (each generation loses
the quanta its teacher showed too few times) and rare and conjunctive tasks vanish first while
head tasks and the redundant one survive; ρ = 0.1 slows it and ρ = 0.5 holds a fixed point
just above generation 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import population_theory as pt
from simquanta.analysis.stats import sem
from simquanta.composition import CompositionGraph
from simquanta.populations import simulate_generations

from _common import Experiment, parse_args

NAME = "model_collapse"
GRAPH = Path(__file__).resolve().parent / "graphs" / "ranks.toml"
#: generations of the mean-field lines (beyond the simulated ones)
LONG = 30


def main(argv=None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    quick = args.quick
    config = {
        "n_quanta": 10_000, "alpha": 0.5, "tau": 5.0, "capacity": "inf",
        "batch_size": 100, "steps": 10_000, "agents": 32 if quick else 256,
        "generations": 6 if quick else 10, "real_fractions": [0.0, 0.1, 0.5],
        "checkpoints": 12 if quick else 24, "seed": 14, "engine": "events",
        "graph": "experiments/graphs/ranks.toml",
    }
    exp = Experiment(NAME, args, config)
    quanta = sq.Quanta(n_quanta=config["n_quanta"], alpha=config["alpha"], tau=config["tau"])
    data = sq.Online(steps=config["steps"], batch_size=config["batch_size"])
    graph = CompositionGraph.load(GRAPH)
    generations = config["generations"]
    runs, theory = {}, {}
    for rho in config["real_fractions"]:
        ds = simulate_generations(quanta, sq.Learner(), data, generations=generations,
                                  real_fraction=rho, agents=config["agents"],
                                  seed=config["seed"], checkpoints=config["checkpoints"],
                                  engine=config["engine"], graph=graph)
        samples = ds["samples"].values
        curves, shares = pt.generation_curves(samples, quanta.p, config["tau"], generations,
                                              real_fraction=rho, poisson=True)
        tasks_theory, names = graph.evaluate(shares)
        fixed = (pt.generation_fixed_point(quanta.p, samples[-1], config["tau"],
                                           real_fraction=rho, poisson=True)[0]
                 if rho > 0 else None)
        runs[rho], theory[rho] = ds, (curves, tasks_theory, names, fixed)

    results = _results(runs, theory, quanta)
    fig = _figure(runs, theory, results)
    exp.save(fig, results)


def _results(runs, theory, quanta) -> dict:
    out: dict = {"by_real_fraction": {}}
    for rho, ds in runs.items():
        curves, tasks_theory, names, fixed = theory[rho]
        final = ds["loss_real"].values[:, :, -1]
        z = (final.mean(axis=1) - curves[:, -1]) / sem(final, axis=1)
        success = ds["task_success"].values[:, :, -1, :].mean(axis=1)  # generation × task
        tasks = [str(t) for t in ds["task"].values]
        first = success[0]
        half_life = {}
        for i, task in enumerate(tasks):
            below = np.nonzero(success[:, i] < 0.5 * first[i])[0] if first[i] > 0 else []
            half_life[task] = int(below[0]) if len(below) else None
        out["by_real_fraction"][str(rho)] = {
            "plateau_mean": final.mean(axis=1),
            "plateau_sem": sem(final, axis=1),
            "plateau_theory": curves[:, -1],
            "plateau_z": z,
            "max_abs_z": float(np.max(np.abs(z))),
            "fixed_point": fixed,
            "learned_final_mean": ds["learned"].values[:, :, -1].mean(axis=1),
            "task_success_final": {t: success[:, i] for i, t in enumerate(tasks)},
            "task_success_theory": {t: tasks_theory[:, names.index(t)] for t in tasks},
            "generation_success_halves": half_life,
        }
    rho0 = out["by_real_fraction"]["0.0"]
    order = sorted(rho0["generation_success_halves"].items(),
                   key=lambda kv: (kv[1] is None, kv[1] if kv[1] is not None else 0))
    out["tasks_lost_first_rho0"] = [t for t, g in order if g is not None]
    out["tasks_surviving_rho0"] = [t for t, g in order if g is None]
    out["loss_rise_rho0"] = float(rho0["plateau_mean"][-1] / rho0["plateau_mean"][0])
    out["long_run_theory"] = {str(rho): pt.generation_plateaus(
        quanta.p, runs[rho]["samples"].values[-1], 5.0, LONG, real_fraction=rho, poisson=True)
        for rho in runs}
    out["top_n_tail_reference"] = float(quanta.p[1800:].sum())
    return out


def _figure(runs, theory, results):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 3, figsize=(plots.COLUMN_WIDTH_IN * 3, 2.9))
    # (a) plateau per generation for each ρ; mean field dashed (to LONG), fixed point dotted
    ax = axes[0]
    for i, (rho, ds) in enumerate(runs.items()):
        color = plots.PALETTE[i]
        final = ds["loss_real"].values[:, :, -1]
        g = ds["generation"].values
        ax.errorbar(g, final.mean(axis=1), yerr=1.96 * sem(final, axis=1), color=color,
                    marker="o", ms=2.5, lw=0, elinewidth=1, label=f"ρ = {rho}")
        long = results["long_run_theory"][str(rho)]
        plots.theory_line(ax, np.arange(long.size), long, color=color, label=None)
        if theory[rho][3] is not None:
            ax.axhline(theory[rho][3], color=color, ls=":", lw=0.8)
    ax.set_xlabel("generation")
    ax.set_ylabel("loss on real data after 10⁶ samples (bits)")
    ax.set_title("(a) plateau per generation: mean field dashed,\nfixed point dotted")
    ax.legend()
    # (b) ρ = 0: loss relative to generation 0 along training
    ax = axes[1]
    ds = runs[0.0]
    samples = ds["samples"].values.astype(float)
    curves = theory[0.0][0]
    base = ds["loss_real"].values[0].mean(axis=0)
    last = len(ds["generation"]) - 1
    for j, g in enumerate(sorted({1, 2, last})):
        real = ds["loss_real"].values[g]
        plots.band(ax, samples, real.mean(axis=0) / base, sem(real) / base,
                   color=plots.PALETTE[j], label=f"generation {g}")
        plots.theory_line(ax, samples, curves[g] / curves[0], color=plots.PALETTE[j],
                          label=None)
    ax.set_xscale("log")
    ax.set_xlabel("samples seen per agent")
    ax.set_ylabel("loss ÷ generation 0's")
    ax.set_title("(b) ρ = 0: the loss grows only where the tail\nmatters (closed form dashed)")
    ax.legend()
    # (c) task success per generation, ρ = 0 (solid, theory dashed) and ρ = 0.5 (dotted)
    ax = axes[2]
    tasks = ["head_fact", "mid_fact", "rare_fact", "three_rare", "any_of_ten_rare",
             "graded_rare", "very_rare_fact"]
    for j, task in enumerate(tasks):
        color = plots.PALETTE[j % len(plots.PALETTE)]
        for rho, style in ((0.0, "-"), (0.5, ":")):
            s = results["by_real_fraction"][str(rho)]["task_success_final"][task]
            ax.plot(np.arange(s.size), s, color=color, ls=style, marker="o", ms=2,
                    label=task if rho == 0.0 else None)
        th = results["by_real_fraction"]["0.0"]["task_success_theory"][task]
        plots.theory_line(ax, np.arange(th.size), th, color=color, label=None, lw=0.7)
    ax.set_xlabel("generation")
    ax.set_ylabel("task success (end of training)")
    ax.set_title("(c) tasks: ρ = 0 solid (theory dashed),\nρ = 0.5 dotted")
    ax.legend(fontsize=5.5, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
