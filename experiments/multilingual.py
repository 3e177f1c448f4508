"""Multilingual mixtures: two languages sharing one model, each a Zipf law over its own quanta
plus a shared set, mixed with data shares w_l (``simquanta.mixtures``).

Setup: English and French, n_private private quanta each and n_shared shared quanta at the top
ranks of both (α = 0.5, threshold τ = 5); the French share w_fr varies. Shared quanta transfer
(learned once from both languages' data), private ones compete for capacity.

Panels: (a) per-language loss against capacity n under top-n learning (closed form
L_l(n) = 1 − Σ_{k ∈ top n} p^(l)_k, the converged evict learner); (b) per-language loss against
online samples with unlimited capacity (events engine, 95 % bands) with the closed form dashed;
(c) the planner's capacity and data floors (``reject``, converged) of a French task
(all of shared rank 20 and French rank 20), its English twin and the shared quantum alone, as
w_fr varies.
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.composition import CompositionGraph
from simquanta.mixtures import Language, zipf_mixture

from _common import Experiment, parse_args

NAME = "multilingual"
ALPHA, TAU = 0.5, 5
SHARES = [0.5, 0.3, 0.1, 0.03]


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_private": 400, "n_shared": 60, "agents": 60, "plan_agents": 60,
                "seed": 21, "rank": 10}
    return {"n_private": 3000, "n_shared": 300, "agents": 200, "plan_agents": 200, "seed": 21,
            "rank": 20}


def mixture(cfg, w_fr):
    return zipf_mixture([Language("en", cfg["n_private"], 1 - w_fr, ALPHA),
                         Language("fr", cfg["n_private"], w_fr, ALPHA)], cfg["n_shared"])


def task_graph(m, rank):
    g = CompositionGraph("multilingual tasks")
    g.add_node("fr_task", "all", [m.quantum("shared", rank), m.quantum("fr", rank)])
    g.add_node("en_task", "all", [m.quantum("shared", rank), m.quantum("en", rank)])
    g.add_node("shared_only", "all", [m.quantum("shared", rank)])
    return g


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "tau": TAU, "shares_fr": SHARES, "target": 0.9,
                "policy_plan": "reject"})
    exp = Experiment(NAME, args, cfg)
    caps = np.unique(np.round(np.geomspace(1, 2 * cfg["n_private"], 40)).astype(int))
    steps = np.unique(np.round(np.geomspace(10, 10**6, 25)).astype(np.int64))
    results = {"capacity": caps, "samples": (steps * 10), "by_share": {}}
    panels = {}
    for i, w in enumerate(SHARES):
        m = mixture(cfg, w)
        quanta = m.quanta(tau=TAU)
        top = m.top_n_loss(caps)  # (C, 2)
        res = sq.simulate(quanta, sq.Learner(), sq.Online(steps=int(steps[-1]), batch_size=10),
                          agents=cfg["agents"], seed=cfg["seed"] + i,
                          checkpoints=[int(s) for s in steps], engine="events",
                          record_learn_steps=True)
        losses = m.language_losses(res.learned_mask())  # (agents, C, 2)
        mean = losses.mean(axis=0)
        err = losses.std(axis=0, ddof=1) / np.sqrt(losses.shape[0])
        theory = m.expected_loss(res.samples, TAU, poisson=True)
        z = np.abs(mean - theory) / np.maximum(err, 1e-15)
        pl = sq.plan(task_graph(m, cfg["rank"]), quanta, sq.Learner(), sq.Online(steps=10),
                     agents=cfg["plan_agents"], seed=cfg["seed"], frontier=False)
        floors = {t.name: {"capacity_floor": t.capacity_floor,
                           "capacity_floor_ci": t.capacity_floor_ci,
                           "data_floor": t.data_floor, "data_floor_ci": t.data_floor_ci}
                  for t in pl.tasks.values()}
        results["by_share"][str(w)] = {
            "top_n_loss_en": top[:, 0], "top_n_loss_fr": top[:, 1],
            "loss_en": mean[:, 0], "loss_fr": mean[:, 1], "sem_en": err[:, 0],
            "sem_fr": err[:, 1], "closed_form_en": theory[:, 0], "closed_form_fr": theory[:, 1],
            "max_abs_z_vs_closed_form": float(z[np.isfinite(z) & (err > 1e-9)].max()),
            "floors": floors, "plan_simulations": pl.n_simulations,
            "fr_over_en_loss_at_capacity_1000": float(
                m.top_n_loss(1000)[1] / m.top_n_loss(1000)[0]),
        }
        panels[w] = (top, mean, err, theory, res.samples, floors)
    exp.save(figure(panels, caps), results)
    return results


def figure(panels, caps):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 3, figsize=(plots.COLUMN_WIDTH_IN * 2.4, 2.6))
    ws = list(panels)
    floors_c = {"fr_task": [], "en_task": [], "shared_only": []}
    floors_d = {"fr_task": [], "en_task": [], "shared_only": []}
    for i, w in enumerate(ws):
        top, mean, err, theory, samples, floors = panels[w]
        color = plots.PALETTE[i]
        axes[0].plot(caps, top[:, 1], color=color, label=f"fr, w_fr = {w}")
        axes[0].plot(caps, top[:, 0], color=color, ls=":", lw=1.0)
        plots.band(axes[1], samples, mean[:, 1], err[:, 1], color=color, label=f"w_fr = {w}")
        plots.theory_line(axes[1], samples, theory[:, 1], label=None)
        for name in floors_c:
            floors_c[name].append(floors[name]["capacity_floor"] or np.nan)
            floors_d[name].append(floors[name]["data_floor"] or np.nan)
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylabel("loss (bits per sample)")
    axes[0].set_xlabel("capacity n (top-n learned)")
    axes[0].set_title("(a) French loss (solid), English (dotted)")
    axes[1].set_xlabel("online samples (unlimited capacity)")
    axes[1].set_title("(b) French loss; dashed: closed form")
    axes[0].legend(fontsize=5)
    for name, color in zip(floors_c, plots.PALETTE[4:], strict=False):
        axes[2].plot(ws, floors_c[name], "o-", color=color, label=f"{name}: capacity")
        axes[2].plot(ws, np.array(floors_d[name]) / 100, "s--", color=color,
                     label=f"{name}: data / 100")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("French data share w_fr")
    axes[2].set_title("(c) floors at P = 0.9 (reject)")
    axes[2].legend(fontsize=5)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
