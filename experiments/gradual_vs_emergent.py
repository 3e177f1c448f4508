"""Gradual vs emergent: success of composed tasks vs model size, data and steps.

Six tasks over the same Zipf quanta (K = 2000, α = 0.5, threshold τ = 5), composed with a
``CompositionGraph``: a monogenic task (one quantum, rank 20), all-of-3 and all-of-5 (ranks
20–22 / 20–24), 3-of-5 (k_of_n over ranks 20–24), a polygenic ``mean`` over 10 quanta spread
log-uniformly over ranks 3–300, and the ``product`` of two 5-quanta means (the same 10 quanta).
Success curves come from simulated learners (events engine, ``record_learn_steps`` →
``learned_mask`` → ``graph.evaluate``) along three axes: (a) capacity n (per-agent capacity
list, ``reject``, online training until every quantum is ready), (b) training-set size D
(10 epochs), (c) online steps S (batch 1). Bands are 95 % (mean ± 1.96 SEM over agents).

Theory checked (dashed): with unlimited capacity quanta are learned independently, so a task's
success is its rule applied to P_k(learned): P(Poisson(S p_k) ≥ τ) in steps (events engine:
Poissonized exposures), P(Binomial(D, p_k) ≥ τ) in data — monogenic = P_k, all-of-m = Π P_k,
mean = average, k-of-n = Poisson-binomial tail, product = product of means. Under a capacity
the quanta compete; panel (a) draws the mean-field prediction (capacity fills at the t_n where
E[#ready] = n, quanta independent given t_n; see experiments/_composition.py).

Single agents vs the population (panels d–f, online steps): the same tasks for one learner at
a time under three dynamics families — ``threshold`` (τ = 5), ``geometric`` (τ = 5: each
exposure learns with probability 1/5) and ``logistic`` (η = 1, s0 = 0.01: strength
s(c) = 1/(1 + 99e^{−c}), s ≥ ½ from the 5th exposure; a leaf is worth its strength). Thin
lines: a few agents' own curves; thick: the mean over agents (95 % band) with its closed form
dashed (threshold P(Poisson(S p) ≥ τ), geometric 1 − e^{−S p/τ}, logistic E[s(Poisson(S p))],
each through the graph). The JSON reports, per family and task, the 10–90 % width of each
agent's curve (median over agents, 95 % percentile-bootstrap CI over agents; agents whose
curve does not complete its transition inside the grid are counted and left out) next to the
width of the population mean (bootstrap CI over agents). A counting learner's single-quantum
curve is a step: its width is 0, measured as ≈ 0.8 of the checkpoint spacing (the grid
resolution, reported); the logistic learner's own curve has the width of s(c) in c,
log10(c90/c10) with c = 4.6 ± 2.2 exposures, plus Poisson timing noise. So a monogenic task
is "emergent" in every single counting model and in the average; the mean over 10 quanta is
gradual in a single model too (a staircase of 10 steps spread over 2.7 decades).

Emergence measures (simquanta.analysis.emergence.transition, floor 0, ceiling 1): 10–90 %
width in decades; < 1 decade = emergent. A single quantum under the τ = 5 threshold rule
already switches within ≈ 0.5 decade of steps or data (Gamma(5) quantiles: log10(7.99/2.43));
requiring all of m similar quanta moves the transition later and makes it sharper; a mean over
quanta spread over two decades of rank is gradual, with a width set by that spread: its 10 %
and 90 % points fall at the 1st and 9th of the 10 quanta, 1.8 decades of rank apart, i.e.
≈ (α+1)·1.8 ≈ 2.7 decades of steps or data (time to learn k ∝ 1/p_k ∝ k^(α+1)) and
≈ 1.8 decades of capacity (quantum k switches on at n ≈ k); the product of two such means is
gradual too, but later and steeper than the mean.
"""

from __future__ import annotations

import math

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import dynamics_theory as dt
from simquanta.analysis.emergence import EMERGENT_WIDTH_DECADES, transition
from simquanta.analysis.stats import bootstrap, percentile_ci, resample_counts

import _composition as C
from _common import Experiment, parse_args

NAME = "gradual_vs_emergent"
N_QUANTA = 2000
FAMILIES = {"threshold": {}, "geometric": {}, "logistic": {"eta": 1.0, "s0": 0.01}}
SINGLE_TASKS = ("mono", "all5", "mean10")
N_SHOWN_AGENTS = 4
N_BOOT = 400


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 5,
                "capacity_replicates": 40, "steps_min": 10, "steps_max": 10**6,
                "steps_per_decade": 5, "steps_agents": 300, "data_min": 10, "data_max": 10**6,
                "data_per_decade": 6, "data_agents": 150, "epochs": 10,
                "single_agents": 60, "single_per_decade": 10, "seed": 2023}
    return {"n_quanta": N_QUANTA, "capacity_max": 1000, "capacity_per_decade": 12,
            "capacity_replicates": 200, "steps_min": 10, "steps_max": 10**6,
            "steps_per_decade": 10, "steps_agents": 1500, "data_min": 10, "data_max": 10**6,
            "data_per_decade": 8, "data_agents": 400, "epochs": 10,
            "single_agents": 400, "single_per_decade": 20, "seed": 2023}


def panel_record(x, values, theory_x, theory_values, names, agents_axis=0) -> dict:
    """Per task: mean, SEM, theory and emergence measures of one panel.

    ``values``: (agents, n_x, tasks); ``theory_values``: (n_theory_x, tasks)."""
    mean = values.mean(axis=agents_axis)
    err = C.sem(values, axis=agents_axis)
    out = {}
    for i, name in enumerate(names):
        t_sim = transition(x, mean[:, i], floor=0.0, ceiling=1.0)
        t_th = transition(theory_x, theory_values[:, i], floor=0.0, ceiling=1.0)
        out[name] = {"mean": mean[:, i], "sem": err[:, i],
                     "transition": C.transition_record(t_sim),
                     "theory_transition": C.transition_record(t_th)}
    return out


def theory_variance(prob: np.ndarray, exact: np.ndarray, names: list[str]) -> np.ndarray:
    """Per-agent variance of each task's value when quanta are independent.

    ``prob``: (n_x, K') P(learned); ``exact``: (n_x, tasks) expected values. 0/1 tasks:
    v(1 − v). mean of m: Σ P(1 − P) / m². product of two means A·B (independent):
    E[A²] E[B²] − (E A E B)², E[X²] = Var X + (E X)²."""
    var = exact * (1.0 - exact)
    poly = C.rank_indices(C.POLY_RANKS)

    def mean_moments(idx):
        q = prob[:, idx]
        m1 = q.mean(1)
        return m1, (q * (1 - q)).sum(1) / len(idx) ** 2 + m1**2

    for i, name in enumerate(names):
        if name == "mean10":
            m1, m2 = mean_moments(poly)
            var[:, i] = m2 - m1**2
        elif name == "product":
            a1, a2 = mean_moments(poly[0::2])
            b1, b2 = mean_moments(poly[1::2])
            var[:, i] = a2 * b2 - (a1 * b1) ** 2
    return np.maximum(var, 0.0)


# ----------------------------------------------------------- single agents vs the population


def family_leaf_values(family: str, quanta, steps: np.ndarray, agents: int, seed: int,
                       n_keep: int) -> np.ndarray:
    """Leaf values of quanta 0..n_keep−1 at each checkpoint of online training (batch 1,
    unlimited capacity, events engine): learned flags (threshold, geometric) or strengths
    (logistic), float64[agents, len(steps), n_keep]."""
    learner = sq.Learner(acquisition=family, **FAMILIES[family])
    data = sq.Online(steps=int(steps[-1]), batch_size=1)
    strength = family == "logistic"
    per_agent = 8 * quanta.n_quanta * (steps.size if strength else 1)
    chunk = max(1, C.CHUNK_BYTES // per_agent)
    out = np.empty((agents, steps.size, n_keep))
    for lo in range(0, agents, chunk):
        hi = min(agents, lo + chunk)
        res = sq.simulate(quanta, learner, data, agents=hi - lo, seed=seed, first_agent=lo,
                          checkpoints=steps.tolist(), engine="events",
                          record_learn_steps=not strength, record_strength=strength)
        if not np.array_equal(res.steps, steps):
            raise RuntimeError("checkpoints were merged; pass distinct steps")
        if strength:
            out[lo:hi] = res.strength[:, :, :n_keep]
        else:
            ls = res.learn_step[:, None, :n_keep]
            out[lo:hi] = (ls >= 0) & (ls <= steps[None, :, None])
    return out


def family_theory_leaves(family: str, samples: np.ndarray, p: np.ndarray,
                         n_keep: int) -> np.ndarray:
    """Expected leaf value per quantum after S online samples (Poisson exposures):
    (len(samples), n_keep)."""
    samples = np.asarray(samples, dtype=float)
    if family == "threshold":
        return C.steps_learned_prob(samples, p)[:, :n_keep]
    if family == "geometric":
        return -np.expm1(-samples[:, None] * p[None, :n_keep] / C.TAU)
    par = FAMILIES["logistic"]
    return dt.logistic_mean_strength(samples, p, par["eta"], par["s0"],
                                     counts="poisson")[:, :n_keep]


def width(x: np.ndarray, y: np.ndarray) -> float:
    return transition(x, y, floor=0.0, ceiling=1.0).width_decades


def single_agent_record(x: np.ndarray, values: np.ndarray, rng) -> dict:
    """Widths of each agent's curve (``values``: (agents, n_x)) and of the mean curve."""
    agent_w = np.array([width(x, v) for v in values])
    ok = np.isfinite(agent_w)
    good = agent_w[ok]
    med = bootstrap(lambda idx: float(np.median(good[idx])), good.size, N_BOOT, rng)
    med_lo, med_hi = percentile_ci(np.array(med))
    counts = resample_counts(rng, N_BOOT, values.shape[0])
    means = counts @ values / values.shape[0]
    pop = np.array([width(x, m) for m in means])
    pop_lo, pop_hi = percentile_ci(pop)
    q25, q75 = np.percentile(good, [25, 75]) if good.size else (math.nan, math.nan)
    return {"agent_width_median": float(np.median(good)) if good.size else math.nan,
            "agent_width_ci95": [float(med_lo), float(med_hi)],
            "agent_width_quartiles": [float(q25), float(q75)],
            "agents_undetermined": int((~ok).sum()),
            "population_width": width(x, values.mean(0)),
            "population_width_ci95": [float(pop_lo), float(pop_hi)]}


def single_agent_study(cfg: dict, graph, quanta, n_keep: int, names: list[str]):
    """Per family: task values (agents, n_x, tasks), closed form (n_fine, tasks), records."""
    steps = C.log_ints(cfg["steps_min"], cfg["steps_max"], cfg["single_per_decade"])
    fine = np.geomspace(cfg["steps_min"], cfg["steps_max"], 121)
    rng = np.random.default_rng(cfg["seed"] + 5)
    out, records = {}, {}
    for j, family in enumerate(FAMILIES):
        leaves = family_leaf_values(family, quanta, steps, cfg["single_agents"],
                                    cfg["seed"] + 10 + j, n_keep)
        vals, _ = graph.evaluate(leaves)
        theory_vals, _ = graph.evaluate(family_theory_leaves(family, fine, quanta.p, n_keep))
        out[family] = (steps, vals, fine, theory_vals)
        records[family] = {name: single_agent_record(steps, vals[..., names.index(name)], rng)
                           for name in SINGLE_TASKS}
        records[family]["parameters"] = {"tau": C.TAU, **FAMILIES[family]} \
            if family != "logistic" else dict(FAMILIES[family])
    return out, records


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": C.ALPHA, "tau": C.TAU, "acquisition": "threshold", "engine": "events",
                "capacity_policy": "reject", "batch_size": 1, "mono_rank": C.MONO_RANK,
                "all_ranks": list(C.ALL_RANKS), "poly_ranks": list(C.POLY_RANKS)})
    exp = Experiment(NAME, args, cfg)
    graph, info = C.task_graph()
    cfg["graph"] = graph.to_dict()
    quanta = C.zipf_quanta(cfg["n_quanta"])
    p = quanta.p
    n_keep = max(graph.quanta) + 1
    seed = cfg["seed"]

    # (a) capacity: (replicates, caps, K') → values (replicates, caps, tasks)
    caps = C.log_ints(1, cfg["capacity_max"], cfg["capacity_per_decade"])
    held = C.capacity_sweep(quanta, caps, cfg["capacity_replicates"], seed, n_keep)
    cap_vals, names = graph.evaluate(held)
    cap_fine = np.geomspace(1, cfg["capacity_max"], 121)
    cap_theory, _ = graph.evaluate(C.capacity_learned_prob(cap_fine, p)[:, :n_keep])
    cap_mf_on_grid, _ = graph.evaluate(C.capacity_learned_prob(caps, p)[:, :n_keep])

    # (b) data: (agents, sizes, K')
    sizes = C.log_ints(cfg["data_min"], cfg["data_max"], cfg["data_per_decade"])
    learned_d = C.data_sweep(quanta, sizes, cfg["data_agents"], seed + 1, n_keep,
                             epochs=cfg["epochs"])
    data_vals, _ = graph.evaluate(learned_d)
    sizes_fine = C.log_ints(cfg["data_min"], cfg["data_max"], 24)
    data_theory, _ = graph.evaluate(C.data_learned_prob(sizes_fine, p)[:, :n_keep])
    data_prob = C.data_learned_prob(sizes, p)[:, :n_keep]
    data_exact, _ = graph.evaluate(data_prob)

    # (c) steps: (agents, checkpoints, K')
    steps = C.log_ints(cfg["steps_min"], cfg["steps_max"], cfg["steps_per_decade"])
    learned_s = C.steps_sweep(quanta, steps, cfg["steps_agents"], seed + 2, n_keep)
    step_vals, _ = graph.evaluate(learned_s)
    steps_fine = np.geomspace(cfg["steps_min"], cfg["steps_max"], 121)
    step_theory, _ = graph.evaluate(C.steps_learned_prob(steps_fine, p)[:, :n_keep])
    step_prob = C.steps_learned_prob(steps, p)[:, :n_keep]
    step_exact, _ = graph.evaluate(step_prob)

    results: dict = {"tasks": {t.name: {"label": t.label, "detail": t.detail} for t in info}}
    panels = {
        "capacity": (caps, cap_vals, cap_fine, cap_theory),
        "data": (sizes, data_vals, sizes_fine, data_theory),
        "steps": (steps, step_vals, steps_fine, step_theory),
    }
    for key, (x, vals, xf, th) in panels.items():
        results[key] = {"x": x, **panel_record(x, vals, xf, th, names)}

    # Closed-form checks where exact (unlimited capacity): z-scores with the larger of the
    # closed form's per-agent variance (Bernoulli for the 0/1 tasks, independent-quanta
    # variance for the mean and the product) and the agents' sample variance: the first
    # judges points where every agent agrees fairly, the second the far tails, where a
    # handful of agents is a Poisson count and a normal SE from the closed form alone
    # overstates z. Mean field on capacity: largest absolute deviation.
    checks: dict = {}
    for key, vals, exact, prob in (("data", data_vals, data_exact, data_prob),
                                   ("steps", step_vals, step_exact, step_prob)):
        n = vals.shape[0]
        var = theory_variance(prob, exact, names)
        per_task = {}
        for i, name in enumerate(names):
            diff = np.abs(vals[:, :, i].mean(0) - exact[:, i])
            v = np.maximum(var[:, i], vals[:, :, i].var(axis=0, ddof=1))
            z = diff / np.maximum(np.sqrt(v / n), 1e-12)
            z[diff < 1e-9] = 0.0
            per_task[name] = {"max_abs_z": float(z.max()), "theory": exact[:, i]}
        checks[key] = per_task
    checks["capacity_mean_field"] = {
        name: {"max_abs_dev": float(np.abs(cap_vals[..., i].mean(0) - cap_mf_on_grid[:, i]).max()),
               "theory": cap_mf_on_grid[:, i]} for i, name in enumerate(names)}
    results["checks"] = checks
    widths = {key: {name: results[key][name]["transition"]["width_decades"] for name in names}
              for key in panels}
    results["widths_decades"] = widths
    results["labels"] = {key: {name: results[key][name]["transition"]["label"] for name in names}
                         for key in panels}
    for key in panels:
        print(f"{key:9s} " + "  ".join(f"{n}={widths[key][n]:.2f}" for n in names))

    single, single_rec = single_agent_study(cfg, graph, quanta, n_keep, names)
    results["single_agent"] = {
        "axis": "online steps (batch 1, unlimited capacity, events engine)",
        "grid_resolution_decades": 1.0 / cfg["single_per_decade"],
        "tasks": list(SINGLE_TASKS), "families": single_rec}
    for family, rec in single_rec.items():
        print(f"{family:9s} one agent vs mean (decades): " + "  ".join(
            f"{n}={rec[n]['agent_width_median']:.2f}/{rec[n]['population_width']:.2f}"
            for n in SINGLE_TASKS))
    print("max |z| mono: data {:.2f}, steps {:.2f}; mean-field mono max dev {:.3f}".format(
        checks["data"]["mono"]["max_abs_z"], checks["steps"]["mono"]["max_abs_z"],
        checks["capacity_mean_field"]["mono"]["max_abs_dev"]))

    fig = figure(panels, names, info, results, cfg, single)
    exp.save(fig, results)
    return results


def figure(panels, names, info, results, cfg, single):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig = plt.figure(figsize=(7.0, 6.6))
    gs = fig.add_gridspec(3, 3, height_ratios=[2.35, 1.0, 2.35], hspace=0.5, wspace=0.12,
                          left=0.075, right=0.99, top=0.95, bottom=0.06)
    titles = {
        "capacity": ("(a) model size", "capacity n (quanta; N = n·C parameters)",
                     "mean field"),
        "data": ("(b) data, 10 epochs", "training-set size D (samples)", "closed form"),
        "steps": ("(c) online steps, batch 1", "training steps S", "closed form"),
    }
    by_name = {t.name: t for t in info}
    axes = []
    for j, (key, (x, vals, xf, th)) in enumerate(panels.items()):
        ax = fig.add_subplot(gs[0, j], sharey=axes[0] if axes else None)
        axes.append(ax)
        for i, name in enumerate(names):
            t = by_name[name]
            plots.band(ax, x, vals[..., i].mean(0), C.sem(vals[..., i]), color=t.color,
                       lw=1.9)
        for i in range(len(names)):  # on top of every band, so agreement stays visible
            plots.theory_line(ax, xf, th[:, i], color="black", label=None, zorder=3)
        ax.set_xscale("log")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(-0.02, 1.02)
        title, xlabel, kind = titles[key]
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        if j == 0:
            ax.set_ylabel("task success probability")
        else:
            ax.tick_params(labelleft=False)
        ax.plot([], [], color="0.55", lw=1.9, label="simulation")
        ax.plot([], [], color="black", ls="--", lw=1.0, label=kind)
        ax.legend(loc="upper left", fontsize=6, handlelength=1.8)

    # Table: one row per task (doubles as the legend), widths per axis.
    tab = fig.add_subplot(gs[1, :])
    tab.axis("off")
    cols = [0.03, 0.21, 0.54, 0.69, 0.84]
    header = ["task", "composition", "capacity", "data", "steps"]
    y0, dy = 1.0, 0.145
    tab.text(0.69, y0 + 0.16, "10–90 % width of the simulated mean curve (decades)",
             transform=tab.transAxes, fontsize=7, ha="center", va="top", fontweight="bold")
    for c, h in zip(cols, header, strict=True):
        tab.text(c, y0, h, transform=tab.transAxes, fontsize=7, fontweight="bold", va="top")
    for r, name in enumerate(names):
        t = by_name[name]
        y = y0 - dy * (r + 1)
        tab.plot([0.0, 0.022], [y - 0.055, y - 0.055], color=t.color, lw=2.0,
                 transform=tab.transAxes, clip_on=False)
        tab.text(cols[0], y, t.label, transform=tab.transAxes, fontsize=7, va="top")
        tab.text(cols[1], y, t.detail, transform=tab.transAxes, fontsize=7, va="top")
        for c, key in zip(cols[2:], panels, strict=True):
            rec = results[key][name]["transition"]
            w = rec["width_decades"]
            text = "n/a" if not math.isfinite(w) else f"{w:.2f}  {rec['label']}"
            tab.text(c, y, text, transform=tab.transAxes, fontsize=7, va="top",
                     color="black" if rec["label"] == "emergent" else "0.35")
    tab.text(1.0, y0 - dy * (len(names) + 1) + 0.01,
             f"emergent: width < {EMERGENT_WIDTH_DECADES:g} decade.   Bands: 95 % over "
             f"agents.   K = {cfg['n_quanta']} "
             f"Zipf quanta, α = {C.ALPHA}, threshold τ = {C.TAU}", transform=tab.transAxes,
             fontsize=6, ha="right", va="top", color="0.3")
    single_agent_panels(fig, gs, single, names, by_name, results["single_agent"])
    return fig


def single_agent_panels(fig, gs, single, names, by_name, rec):
    """Row 3: per family, a few agents' own curves (thin) beside the population mean."""
    letters = "def"
    first = None
    for j, (family, (x, vals, xf, th)) in enumerate(single.items()):
        ax = fig.add_subplot(gs[2, j], sharey=first)
        first = first or ax
        for name in ("mono", "mean10"):
            i = names.index(name)
            color = by_name[name].color
            for a in range(N_SHOWN_AGENTS):
                ax.plot(x, vals[a, :, i], color=color, lw=0.6, alpha=0.7)
            plots.band(ax, x, vals[..., i].mean(0), C.sem(vals[..., i]), color=color, lw=2.0)
            plots.theory_line(ax, xf, th[:, i], color="black", label=None, zorder=3)
        fam = rec["families"][family]
        text = "\n".join(
            f"{by_name[n].label.split(' (')[0]}: one agent {fam[n]['agent_width_median']:.2f}, "
            f"mean {fam[n]['population_width']:.2f} dec." for n in ("mono", "mean10"))
        ax.text(0.98, 0.03, text, transform=ax.transAxes, fontsize=5.5, va="bottom", ha="right",
                bbox={"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.0}, zorder=5)
        par = fam["parameters"]
        detail = (f"η = {par['eta']:g}, s0 = {par['s0']:g}" if family == "logistic"
                  else f"τ = {par['tau']:g}")
        ax.set_title(f"({letters[j]}) {family}, {detail}", loc="left")
        ax.set_xscale("log")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training steps S")
        if j == 0:
            ax.set_ylabel("task success: agents and mean")
        else:
            ax.tick_params(labelleft=False)
        if j == 2:
            ax.plot([], [], color="0.55", lw=0.6, label=f"{N_SHOWN_AGENTS} single agents")
            ax.plot([], [], color="0.55", lw=2.0, label="mean over agents")
            ax.plot([], [], color="black", ls="--", lw=1.0, label="closed form")
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 0.15), fontsize=5.5)
    return fig


if __name__ == "__main__":
    main()
