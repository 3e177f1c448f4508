"""Distillation: small students trained on a large teacher's output vs on real data, per task;
which abilities distill and which a small student cannot hold whatever the data.

Setting: K = 10⁴ Zipf quanta (α = 0.5, τ = 5), events engine. Teacher: capacity 2000
(``reject``), 10⁷ real samples, so it knows ≈ the 2000 most frequent quanta. Students:
capacity n ∈ {100, 500, 2000} (5 %, 25 %, 100 % of the teacher), up to 10⁶ samples, trained
on (i) real data, (ii) the teacher's output (ρ = 0: only quanta the teacher knows, renormalized,
``simquanta.populations.Synthetic``), (iii) the teacher's output with soft labels (λ = 0.2:
teacher-known quanta need τλ = 1 exposure; Hinton et al. 2015). Student i learns from teacher
agent i. Tasks: ``experiments/graphs/ranks.toml``.

Theory: the capacity floor Σ_{k>n} p_k (dashed, the loss of a student holding the top n,
whatever its data) and, for the full-size student on teacher data, the exact closed form given
its teachers' learned sets (capacity never binds: it has room for all of T; dotted).
Expected: teacher data reach a small student's floor with fewer samples (the head is
concentrated, ×1/P_T, and soft labels cut the exposures needed), but a task whose quanta lie
beyond rank n stays out of reach of a capacity-n student with any data, and one beyond the
teacher's set (``very_rare_fact``) is out of reach of every distilled student.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import population_theory as pt
from simquanta.analysis.stats import sem
from simquanta.composition import CompositionGraph
from simquanta.populations import Synthetic, simulate_synthetic

from _common import Experiment, parse_args

NAME = "distillation"
GRAPH = Path(__file__).resolve().parent / "graphs" / "ranks.toml"
SOURCES = ("real", "teacher", "teacher, λ = 0.2")


def main(argv=None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    quick = args.quick
    config = {
        "n_quanta": 10_000, "alpha": 0.5, "tau": 5.0, "teacher_capacity": 2000,
        "teacher_samples": 10**7, "student_capacities": [100, 500, 2000],
        "student_samples": 10**6, "batch_size": 100, "distill": 0.2,
        "agents": 32 if quick else 256, "checkpoints": 10 if quick else 20, "seed": 41,
        "engine": "events", "policy": "reject", "graph": "experiments/graphs/ranks.toml",
    }
    exp = Experiment(NAME, args, config)
    quanta = sq.Quanta(n_quanta=config["n_quanta"], alpha=config["alpha"], tau=config["tau"])
    graph = CompositionGraph.load(GRAPH)
    batch = config["batch_size"]
    teacher = sq.simulate(quanta, sq.Learner(capacity=config["teacher_capacity"]),
                          sq.Online(steps=config["teacher_samples"] // batch, batch_size=batch),
                          agents=config["agents"], seed=config["seed"], checkpoints=4,
                          engine=config["engine"], record_learn_steps=True)
    teacher_sets = teacher.learned_mask()[:, -1, :]
    teacher_tasks, names = graph.evaluate(teacher_sets)
    data = sq.Online(steps=config["student_samples"] // batch, batch_size=batch)
    common = dict(agents=config["agents"], seed=config["seed"] + 1,
                  checkpoints=config["checkpoints"], engine=config["engine"])
    runs: dict = {}
    for n in config["student_capacities"]:
        learner = sq.Learner(capacity=n)
        real = sq.simulate(quanta, learner, data, record_learn_steps=True, **common)
        runs[(n, "real")] = (real.samples, real.loss,
                             graph.evaluate(real.learned_mask())[0])
        for source, distill in (("teacher", 1.0), ("teacher, λ = 0.2", config["distill"])):
            ds = simulate_synthetic(quanta, learner, data,
                                    Synthetic(teacher, real_fraction=0.0, distill=distill),
                                    graph=graph, **common)
            runs[(n, source)] = (ds["samples"].values, ds["loss_real"].values[0],
                                 ds["task_success"].values[0])
    samples = runs[(config["student_capacities"][0], "real")][0]
    floors = {n: float(quanta.p[n:].sum()) for n in config["student_capacities"]}
    full = max(config["student_capacities"])
    closed = {source: pt.student_expected_loss(samples, quanta.p, teacher_sets, config["tau"],
                                               distill=distill, poisson=True)
              for source, distill in (("teacher", 1.0),
                                      ("teacher, λ = 0.2", config["distill"]))}
    results = _results(runs, floors, closed, full, teacher, teacher_tasks, names, samples)
    exp.save(_figure(runs, floors, closed, full, teacher, results, names), results)


def _results(runs, floors, closed, full, teacher, teacher_tasks, names, samples) -> dict:
    out: dict = {"teacher_loss": float(teacher.loss_mean[-1]),
                 "teacher_learned": float(teacher.learned_mean[-1]),
                 "teacher_task_success": dict(zip(names, teacher_tasks.mean(axis=0),
                                                  strict=True)),
                 "capacity_floor": floors, "students": {}}
    for (n, source), (_, loss, tasks) in runs.items():
        final = loss[:, -1]
        # samples to come within 10 % of the floor
        mean = loss.mean(axis=0)
        reach = np.nonzero(mean <= 1.1 * floors[n])[0]
        out["students"][f"{n} {source}"] = {
            "loss_final": float(final.mean()), "loss_final_sem": float(sem(final)),
            "samples_to_floor_plus_10pct": int(samples[reach[0]]) if len(reach) else None,
            "task_success_final": dict(zip(names, tasks[:, -1, :].mean(axis=0), strict=True)),
        }
    for source, curve in closed.items():
        loss = runs[(full, source)][1]
        z = (loss.mean(axis=0) - curve) / np.maximum(sem(loss), 1e-12)
        out[f"closed_form_max_abs_z ({full}, {source})"] = float(
            np.max(np.where(np.abs(loss.mean(axis=0) - curve) <= 1e-12, 0.0, np.abs(z))))
    return out


def _figure(runs, floors, closed, full, teacher, results, names):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 2, figsize=(plots.COLUMN_WIDTH_IN * 2.6, 3.0),
                             gridspec_kw={"width_ratios": [1, 1.4]})
    ax = axes[0]
    styles = {"real": "-", "teacher": "--", "teacher, λ = 0.2": ":"}
    for i, n in enumerate(floors):
        color = plots.PALETTE[i]
        for source in SOURCES:
            x, loss, _ = runs[(n, source)]
            ax.plot(x, loss.mean(axis=0), color=color, ls=styles[source], lw=1.2,
                    label=f"n = {n}, {source}")
        ax.axhline(floors[n], color=color, lw=0.6, ls=(0, (4, 2)), alpha=0.7)
    for source, curve in closed.items():
        ax.plot(runs[(full, source)][0], curve, color="black", lw=0.6, ls=(0, (1, 2)))
    ax.axhline(results["teacher_loss"], color="grey", lw=0.8, label="teacher (n = 2000)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("student samples")
    ax.set_ylabel("loss on real data (bits)")
    ax.set_title("(a) students by capacity n and data source;\nfloors Σ_{k>n} p_k dashed thin")
    ax.legend(fontsize=5, ncol=1, loc="lower left")
    ax = axes[1]
    tasks = list(names)
    width = 0.8 / (len(floors) * len(SOURCES))
    x = np.arange(len(tasks))
    j = 0
    hatches = {"real": "", "teacher": "//", "teacher, λ = 0.2": ".."}
    for i, n in enumerate(floors):
        for source in SOURCES:
            values = [results["students"][f"{n} {source}"]["task_success_final"][t]
                      for t in tasks]
            ax.bar(x - 0.4 + (j + 0.5) * width, values, width, color=plots.PALETTE[i],
                   hatch=hatches[source], edgecolor="white", lw=0,
                   label=f"n = {n}, {source}")
            j += 1
    teacher_success = [results["teacher_task_success"][t] for t in tasks]
    ax.scatter(x, teacher_success, marker="_", s=120, color="black", label="teacher", zorder=3)
    ax.set_xticks(x)
    ax.set_xticklabels(tasks, rotation=40, ha="right", fontsize=6)
    ax.set_ylabel("task success after 10⁶ samples")
    ax.set_title("(b) per task: plain real data, // teacher, .. soft labels")
    ax.legend(fontsize=5, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.42))
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
