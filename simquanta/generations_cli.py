"""``simquanta generations``: G generations of learners, each trained on the previous one's
output (``simquanta.populations``). Takes ``simulate``'s flags plus --generations,
--real-fraction, --error and --distill."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from .cli_shared import figure_target, null_non_finite, result_target

GENERATIONS_EXAMPLE = """examples:
  # evict learners of capacity 10 converge to the top 10 quanta; generation 1 learns from them
  # only (ρ = 0): its loss on real data against the closed form, checkpoint by checkpoint
  simquanta generations --n-quanta 100 --alpha 1 --tau 5 --capacity 10 --policy evict \\
      --batch-size 100 --steps 5000 --agents 64 --checkpoints 12 --generations 2
  # model collapse with half the data real, as JSON
  simquanta generations --n-quanta 10000 --alpha 0.5 --tau 5 --steps 200 --agents 64 \\
      --generations 5 --real-fraction 0.5 --json
"""

#: generations-only flags → keyword of simulate_generations
_OWN = ("generations", "real_fraction", "error", "distill")
#: above this many (distinct teacher rows × checkpoints × quanta) the closed form is skipped
_CLOSED_FORM_BUDGET = 2 * 10**7


def add_generations_parser(sub, simulate_parser: argparse.ArgumentParser) -> None:
    """Register ``generations`` with every flag of ``simulate_parser`` plus its own."""
    p = sub.add_parser("generations", parents=[simulate_parser], conflict_handler="resolve",
                       help="generations of learners trained on each other's output",
                       description="Run G generations g = 0..G-1: generation 0 learns from "
                                   "real data, generation g from a mix of real data (share "
                                   "--real-fraction) and generation g-1's output (a teacher "
                                   "emits only the quanta it learned). Loss is measured on "
                                   "the real distribution and on each generation's own "
                                   "training data. Unset run flags come from --config, then "
                                   "defaults (as simulate).",
                       epilog=GENERATIONS_EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--generations", type=int, metavar="G", default=2,
      help="number of generations G >= 1, generation 0 included (default 2)")
    a("--real-fraction", type=float, metavar="R", default=0.0,
      help="share of real samples in generations >= 1, in [0, 1] (default 0)")
    a("--error", type=float, metavar="EPS", default=0.0,
      help="share of a teacher's samples that are unlearnable noise, in [0, 1) (default 0)")
    a("--distill", type=float, metavar="LAMBDA", default=1.0,
      help="distillation: teacher-known quanta need tau*LAMBDA exposures, in (0, 1] "
           "(default 1)")
    a("--out", metavar="FILE", help="save the dataset (netCDF-4, opens with xarray)")
    a("--figure", metavar="FILE", help="write loss on real data per generation (.png/.pdf)")
    a("--graph", metavar="FILE",
      help="composition graph (TOML/JSON): add each task's success per generation")
    a("--json", action="store_true", help="print one JSON object on stdout")


def _closed_form(ds, sim, g: int, opts: dict[str, Any]):
    """(expected loss on real data of generation g given its teachers' actual learned sets,
    the model's standard error of the agents' mean), or None where it does not apply.
    Generation 0 (real data): the real-data closed form, a teacher that knows everything."""
    from .analysis import population_theory as pt
    from .analysis.expected import closed_form_loss, has_closed_form
    from .specs import Online

    samples = ds["samples"].values
    poisson = str(ds["engine"].values[g]) == "events"
    q, learner = sim.quanta, sim.learner
    if g == 0:
        if closed_form_loss(sim, samples, poisson=poisson) is None:
            return None
        teachers = np.ones((1, q.n_quanta), dtype=bool)  # real data = an all-knowing teacher
        opts = dict(opts, real_fraction=1.0, distill=1.0)
    if (learner.acquisition not in pt.FAMILIES or learner.prerequisites is not None
            or not isinstance(sim.data, Online)):
        return None
    else:
        teachers = ds["learned_final"].values[g - 1].astype(bool)
    capacity = learner.capacities(sim.agents)
    if not has_closed_form(sim):  # finite capacity: exact only if it never binds
        support = teachers if opts["real_fraction"] == 0 else np.ones_like(teachers)
        need = np.sum(np.where(support, np.asarray(q.cost), 0.0), axis=1)
        if np.any(need > capacity[:need.size]) or learner.speed_n0 is not None:
            return None
    rows = np.unique(teachers, axis=0).shape[0]
    if rows * samples.size * q.n_quanta > _CLOSED_FORM_BUDGET:
        return None
    # student i learns from teacher row i (generations keep the agents): weight rows equally
    mean, variance = pt.student_expected_loss(
        samples, q.p, teachers, q.thresholds, learned_loss=q.learned_loss,
        unlearned_loss=q.unlearned_loss, real_fraction=opts["real_fraction"],
        error=opts["error"], distill=opts["distill"], acquisition=learner.acquisition,
        poisson=poisson, with_variance=True)
    return mean, np.sqrt(variance / sim.agents)


def compare(mean: np.ndarray, sample_sem: np.ndarray, theory: np.ndarray,
            model_sem: np.ndarray) -> np.ndarray:
    """z = (mean − theory) / SE per checkpoint: SE is the sample standard error, or the
    model's where every agent has the same loss (sample SE below 1e-12, float residue); a
    difference below 1e-12 bits is float rounding (z = 0)."""
    se = np.where(sample_sem > 1e-12, sample_sem, model_sem)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - theory) / se
    return np.where(np.abs(mean - theory) <= 1e-12, 0.0, z)


def run_generations(args: argparse.Namespace, simulation_from_args) -> int:
    """Run the subcommand; ``simulation_from_args`` (simulate's flags and --config → a
    Simulation) comes from ``cli``, which imports this module."""
    from .populations import Synthetic, generations_summary, simulate_generations
    from .validation import check_int

    # outputs checked before any work, like every file simquanta writes
    out = None if args.out is None else result_target(args.out)
    figure = None if args.figure is None else figure_target(args.figure)

    opts = {k: getattr(args, k) for k in _OWN}
    check_int("generations", opts["generations"], 1)
    Synthetic(np.zeros((1, 1), dtype=bool), opts["real_fraction"], opts["error"],
              opts["distill"])  # validates ρ, ε, λ before any work
    sim = simulation_from_args(args)
    graph = None
    if args.graph:
        from .composition import CompositionGraph

        graph = CompositionGraph.load(args.graph)
        graph.validate(sim.quanta.n_quanta)
    ds = simulate_generations(sim.quanta, sim.learner, sim.data, agents=sim.agents,
                              seed=sim.seed, checkpoints=sim.checkpoints, engine=sim.engine,
                              first_agent=sim.first_agent, graph=graph, **opts)
    summary = generations_summary(ds)
    if graph is not None:
        from .analysis.stats import sem

        for g, entry in enumerate(summary["generations"]):
            values = ds["task_success"].values[g]
            entry["tasks"] = {str(name): {"mean": values[..., i].mean(axis=0).tolist(),
                                          "sem": sem(values[..., i]).tolist()}
                              for i, name in enumerate(ds["task"].values)}
    written = []
    if out is not None:
        from .files import atomic_path

        with atomic_path(out) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
        written.append(out)
    if figure is not None:
        written += _figure(ds, figure)
    if args.json:
        print(json.dumps(null_non_finite(summary)))
        return 0
    _print(ds, sim, summary, opts)
    for path in written:
        print(f"wrote {path}")
    return 0


def _print(ds, sim, summary, opts) -> None:
    from .analysis.stats import sem

    print(f"simquanta generations: G = {opts['generations']}, ρ = {opts['real_fraction']}, "
          f"ε = {opts['error']}, λ = {opts['distill']}; {sim.agents} agents, "
          f"K = {sim.quanta.n_quanta}; {ds.attrs['wall_seconds']:.2f} s")
    for g, entry in enumerate(summary["generations"]):
        real = ds["loss_real"].values[g]
        err = sem(real)
        closed = _closed_form(ds, sim, g, opts)
        theory = None if closed is None else closed[0]
        z = None if closed is None else compare(np.asarray(entry["loss_real_mean"]), err,
                                                closed[0], closed[1])
        engine = ds["engine"].values[g]
        label = "real data" if g == 0 else "previous generation's output"
        print(f"generation {g} ({engine}, trained on {label})")
        head = f"{'samples':>14} {'loss real':>11} {'± sem':>9} {'loss train':>11} {'learned':>9}"
        print(head + (f" {'closed form':>12} {'z':>6}" if theory is not None else ""))
        worst = 0.0
        for c, n in enumerate(entry["samples"]):
            line = (f"{n:>14d} {entry['loss_real_mean'][c]:>11.5g} {err[c]:>9.2g} "
                    f"{entry['loss_train_mean'][c]:>11.5g} {entry['learned_mean'][c]:>9.1f}")
            if theory is not None:
                worst = max(worst, abs(z[c]))
                line += f" {theory[c]:>12.5g} {z[c]:>6.2f}"
            print(line)
        if theory is not None and g > 0:
            teachers = ds["learned_final"].values[g - 1].astype(bool)
            sizes = teachers.sum(axis=1)
            top = np.arange(teachers.shape[1])[None, :] < sizes[:, None]
            if np.all(teachers == top) and np.ptp(sizes) == 0:
                law = ("Poisson(m p_k/P_n)" if ds["engine"].values[g] == "events"
                       else "Binomial(m, p_k/P_n)")
                print(f"  every teacher knows exactly the top n = {sizes[0]} quanta: the closed "
                      f"form is Σ_(k≤n) p_k P(X_k < τ) + Σ_(k>n) p_k, X_k ~ {law}")
        if theory is not None:
            given = "real data" if g == 0 else "its teachers' learned sets"
            print(f"  closed form (given {given}): max |z| = {worst:.2f} "
                  f"({'within' if worst <= 4 else 'beyond'} 4 SE; SE = the model's where "
                  "every agent has the same loss)")


def _figure(ds, path: Path) -> list[Path]:
    """Loss on real data per generation: mean over agents with a 95 % band."""
    import matplotlib.pyplot as plt

    from . import plots
    from .analysis.stats import sem

    plots.use_style()
    fig, ax = plt.subplots()
    samples = ds["samples"].values.astype(float)
    for i, g in enumerate(ds["generation"].values):
        real = ds["loss_real"].values[i]
        plots.band(ax, samples, real.mean(axis=0), sem(real),
                   color=plots.PALETTE[i % len(plots.PALETTE)], label=f"generation {int(g)}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples seen per agent")
    ax.set_ylabel("loss on real data (bits)")
    ax.legend()
    return plots.save(fig, path, formats=(path.suffix[1:],))
