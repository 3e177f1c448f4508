"""Size-dependent speed law f(n) = (1 + n0/n)^κ fitted to the sparse-parity calibration networks.

Data: figures/sparse_parity_calibration.json (committed; this script trains nothing). Its
networks (widths 8–256, 3 seeds each, 32 task bits, batch 1000, 2·10^4 steps) give per run
and subtask the interval-censored convergence step; the slowdown of width w is the factor
by which its 3 most frequent subtasks converge later than the step law fitted on the widest
networks (the calibration's estimator). simquanta.sparse_parity.speed fits

    log s_w = κ [log(1 + n0/n_w) − log(1 + n0/n_ref)]

(the law's prefactor already holds the reference width's own factor f(n_ref)) by least
squares in log s, with n in quanta (n = N(w)/C) and, separately, in hidden neurons (n = w);
95 % CIs: percentile bootstrap over runs within each width, the step law refitted per
replicate, and C drawn from its calibrated interval (quanta only).

Check: the threshold family simulated at the calibration's capacities N(w)/C with the
fitted law (thresholds A p^−γ / f(n_ref) with lognormal noise σ, the calibration's step
law; ``reject`` policy), convergence intervals read on the networks' log grid, and the
simulated slowdown of the 3 most frequent quanta computed with the same estimator.
Three variants: speed law + capacity (the full model), speed law alone (quantum cost 10^−9,
so capacity never binds while f still reads n = N/C), capacity alone (the calibration's
simulator, no speed law).

Full: 600 bootstrap replicates per unit, 40 simulated agents per width (≈ 80 s of CPU;
1.5–3 min wall on this shared 2-core machine).
Quick: 40 replicates, 8 agents (< 20 s).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simquanta as sq  # noqa: E402
from simquanta import plots  # noqa: E402
from simquanta.analysis.stats import bootstrap, percentile_ci  # noqa: E402
from simquanta.sparse_parity.calibrate import (  # noqa: E402
    agent_thresholds,
    convergence_intervals,
    step_slowdown,
)
from simquanta.sparse_parity.speed import (  # noqa: E402
    KAPPA_MAX,
    calibration_inputs,
    fit_speed_law,
    speed_law_from_calibration,
)

from _common import FIGURES, Experiment, parse_args  # noqa: E402

NAME = "speed_law"
CALIBRATION = FIGURES / "sparse_parity_calibration.json"

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {"n_top": 3, "n_boot": 600, "seed": 0, "sim_agents": 40, "sim_seed": 7,
             "sim_boot": 200, "sensitivity_boot": 300, "speed_only_cost": 1e-9},
    "quick": {"n_top": 3, "n_boot": 40, "seed": 0, "sim_agents": 8, "sim_seed": 7,
              "sim_boot": 10, "sensitivity_boot": 20, "speed_only_cost": 1e-9},
}


def simulate_intervals(law, p, caps, grid, steps, batch, *, n0, kappa, tau_scale, agents,
                       seed, cost=1.0) -> tuple[np.ndarray, np.ndarray]:
    """Simulated convergence intervals (lo, hi) float[W, agents, K] on the networks' log
    grid; thresholds law.thresholds(p) / tau_scale with per-agent lognormal noise."""
    p = np.asarray(p, dtype=float)
    speed = {} if n0 is None else {"speed_n0": n0, "speed_kappa": kappa}
    learner = sq.Learner(capacity=list(caps), acquisition="threshold", policy="reject",
                         **speed)
    ckpt = np.asarray(grid[1:], dtype=np.int64)
    mask = np.zeros((agents, len(caps), ckpt.size, p.size), dtype=bool)
    base = law.thresholds(p) / tau_scale
    for a in range(agents):
        tau = agent_thresholds(base, law.sigma, law.noise, seed, a)
        res = sq.simulate(sq.Quanta(p.size, frequencies=p, tau=tau, cost=cost), learner,
                          sq.Online(steps=steps, batch_size=batch), agents=len(caps),
                          seed=seed, first_agent=a * len(caps), checkpoints=ckpt,
                          engine="events", record_learn_steps=True)
        mask[a] = res.learned_mask()
    loss = np.concatenate([np.ones((agents, len(caps), 1, p.size)), 1.0 - mask], axis=2)
    lo, hi = convergence_intervals(grid, np.moveaxis(loss, 1, 0))  # (W, A, K)
    return lo, hi


def sim_slowdowns(law, p_top, lo, hi, n_boot, seed) -> dict[str, list]:
    """Slowdown per width of simulated agents (top quanta), with a percentile bootstrap
    over agents; a width with nothing converged reports inf (all right-censored)."""
    point, ci = [], []
    rng = np.random.default_rng(seed)
    for lo_w, hi_w in zip(lo, hi, strict=True):
        if not np.isfinite(hi_w).any():
            point.append(math.inf)
            ci.append((math.inf, math.inf))
            continue
        point.append(step_slowdown(law, p_top, lo_w, hi_w))
        reps = bootstrap(lambda idx, lo_w=lo_w, hi_w=hi_w: step_slowdown(law, p_top, lo_w[idx],
                                                                     hi_w[idx])
                         if np.isfinite(hi_w[idx]).any() else None,
                         lo_w.shape[0], n_boot, rng)
        q = percentile_ci(np.array(reps, dtype=float))
        ci.append((float(q[0]), float(q[1])))
    return {"slowdown": point, "ci": ci}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    payload = json.loads(CALIBRATION.read_text())
    cfg["calibration"] = str(CALIBRATION.relative_to(FIGURES.parent))
    exp = Experiment(NAME, args, cfg)
    inp = calibration_inputs(payload)
    cal_cfg = inp["config"]
    law, p = inp["law"], inp["p"]
    widths = inp["widths"]
    top = cfg["n_top"]

    fits = {unit: speed_law_from_calibration(payload, unit=unit, n_top=top,
                                             n_boot=cfg["n_boot"], seed=cfg["seed"])
            for unit in ("quanta", "neurons")}
    q = fits["quanta"]
    # Sensitivity: without width 8, whose capacity (< 1 quantum) mixes capacity blocking
    # into its slowdown (subtasks never learned count as slow, right-censored).
    keep = [i for i, w in enumerate(widths) if w != min(widths)]
    sub = {k: inp[k] for k in ("p", "batch_size", "reference_widths", "C", "C_ci", "noise",
                               "law")}
    sens = fit_speed_law(widths=[widths[i] for i in keep],
                         n_params=[inp["n_params"][i] for i in keep],
                         lo={widths[i]: inp["lo"][widths[i]] for i in keep},
                         hi={widths[i]: inp["hi"][widths[i]] for i in keep}, **sub,
                         unit="quanta", n_top=top, n_boot=cfg["sensitivity_boot"],
                         seed=cfg["seed"])

    # ---- simulation check ---------------------------------------------------------
    caps = list(q.n)
    grid = np.asarray(payload["results"]["networks"]["log_steps"], dtype=np.int64)
    steps, batch = int(cal_cfg["steps"]), int(cal_cfg["batch_size"])
    common = {"agents": cfg["sim_agents"], "seed": cfg["sim_seed"]}
    f_ref = q.reference_factor()
    variants = {
        "speed_and_capacity": {"n0": q.n0, "kappa": q.kappa, "tau_scale": f_ref},
        "speed_only": {"n0": q.n0, "kappa": q.kappa, "tau_scale": f_ref,
                       "cost": cfg["speed_only_cost"]},
        "capacity_only": {"n0": None, "kappa": None, "tau_scale": 1.0},
    }
    sim = {}
    for name, kw in variants.items():
        lo, hi = simulate_intervals(law, p, caps, grid, steps, batch, **kw, **common)
        sim[name] = sim_slowdowns(law, p[:top], lo[:, :, :top], hi[:, :, :top],
                                  cfg["sim_boot"], cfg["sim_seed"])
        sim[name]["log_ratio_to_measured"] = [
            math.log(s / m) if math.isfinite(s) else math.inf
            for s, m in zip(sim[name]["slowdown"], q.slowdown, strict=True)]

    results = {
        "fit": {unit: fit.to_dict() for unit, fit in fits.items()},
        "params_per_quantum": {"C": q.C, "C_ci": q.C_ci},
        "n0_params": q.n0 * q.C,
        "reference_factor": f_ref,
        "log10_A_infinite_width": law.log10_A - math.log10(f_ref),
        "sensitivity_without_narrowest": {
            "widths": list(sens.widths), "n0": sens.n0, "n0_ci": sens.n0_ci,
            "kappa": sens.kappa, "kappa_ci": sens.kappa_ci, "rss_log": sens.rss_log,
            "residual_log": list(sens.residual_log), "unit": sens.unit},
        "simulation_check": {
            "measured": list(q.slowdown), "capacity_quanta": caps, **sim,
            "note": "slowdown of the 3 most frequent quanta against the calibration's step "
                    "law; thresholds A p^-gamma / f(n_ref) (lognormal sigma) so capacity "
                    "n_ref reproduces the calibrated law; inf: nothing converged"},
        "scope": "fitted on the calibration networks (widths 8-256, n_tasks 32, 32 task "
                 "bits, k 3, alpha 0.4, batch 1000, AdamW lr 1e-3, 2e4 steps); not "
                 "validated on any other setting",
    }
    fig = make_figure(fits, sens, sim, cal_cfg)
    exp.save(fig, results)
    print_summary(fits, sens, sim, f_ref, law)


def make_figure(fits, sens, sim, cal_cfg):
    import matplotlib.pyplot as plt

    plots.use_style()
    q = fits["quanta"]
    n = np.array(q.n)
    s = np.array(q.slowdown)
    ci = np.array(q.slowdown_ci)
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.3), gridspec_kw={"width_ratios": [1.5, 1]})
    ax = axes[0]
    nn = np.geomspace(n.min() / 1.5, n.max() * 1.5, 200)
    ratio = q.factor(nn) / q.reference_factor()
    k_hi = (f"{q.kappa_ci[1]:.2f}" if q.kappa_ci[1] < 0.999 * KAPPA_MAX
            else f"≥ {KAPPA_MAX:g} (bound)")
    ax.plot(nn, ratio, color="black", lw=1.0,
            label=f"fit f(n)/f(n_ref): n0 = {q.n0:.2g} [{q.n0_ci[0]:.2g}, "
                  f"{q.n0_ci[1]:.2g}] quanta,\nκ = {q.kappa:.2f} [{q.kappa_ci[0]:.2f}, {k_hi}]")
    ax.errorbar(n, s, yerr=[s - ci[:, 0], ci[:, 1] - s], fmt="o", ms=4,
                color=plots.PALETTE[0], capsize=2, lw=0.9,
                label="networks (3 seeds; 95 % CI, runs resampled)")
    markers = {"speed_and_capacity": ("s", plots.PALETTE[1], "simulated: speed law + capacity"),
               "speed_only": ("^", plots.PALETTE[2], "simulated: speed law only"),
               "capacity_only": ("x", plots.PALETTE[3], "simulated: capacity only (no law)")}
    top_y = max(float(ci[:, 1].max()), float(s.max())) * 2.5
    arrow = False
    for j, (name, (mk, color, label)) in enumerate(markers.items()):
        sv = np.array(sim[name]["slowdown"], dtype=float)
        shift = np.exp(0.06 * (j + 1))
        fin = np.isfinite(sv)
        ax.plot(n[fin] * shift, sv[fin], mk, ms=3.5, color=color, mfc="none", mew=0.8,
                label=label)
        if (~fin).any():  # nothing converged: drawn as arrows at the top
            ax.plot(n[~fin] * shift, np.full((~fin).sum(), top_y / 1.3), marker="$\\uparrow$",
                    ls="none", ms=6, color=color)
            arrow = True
    for w, x, y in zip(q.widths, n, s, strict=True):
        ax.annotate(f"w={w}", (x, y), textcoords="offset points", xytext=(5, 4), fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.7, top_y)
    ax.set_xlabel("capacity n = N(w)/C (quanta)")
    ax.set_ylabel("slowdown of the 3 most frequent subtasks")
    ax.set_title("(a) slowdown vs capacity", loc="left")
    if arrow:
        ax.plot([], [], marker="$\\uparrow$", ls="none", ms=6, color="0.3",
                label="simulated: nothing converged by the last step")
    ax.legend(fontsize=5.5, loc="upper right")

    ax = axes[1]
    x = np.arange(len(q.widths))
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.plot(x, q.residual_log, "o-", color=plots.PALETTE[0], ms=4, label="all widths")
    ax.plot(x[1:], sens.residual_log, "s--", color=plots.PALETTE[4], ms=3, mfc="none",
            label=f"without w = {q.widths[0]}: n0 = {sens.n0:.2g}, κ = {sens.kappa:.2f}")
    ax.set_xticks(x, [str(w) for w in q.widths])
    ax.set_xlabel("width w (hidden neurons)")
    ax.set_ylabel("log measured − log fitted")
    ax.set_title("(b) residuals", loc="left")
    span = max(abs(v) for v in (*q.residual_log, *sens.residual_log))
    ax.set_ylim(-2.6 * span, 1.4 * span)
    ax.legend(fontsize=5.5, loc="lower center")
    fig.suptitle("Size-dependent speed f(n) = (1 + n0/n)^κ fitted to sparse-parity networks",
                 fontsize=8)
    fig.text(0.01, 0.005,
             f"Fitted on the calibration networks only: widths 8–256, {cal_cfg['n_bits']} "
             f"task bits, batch {cal_cfg['batch_size']} (n_tasks {cal_cfg['n_tasks']}, "
             f"α = {cal_cfg['alpha']}); not validated on any other setting.",
             fontsize=6, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    return fig


def print_summary(fits, sens, sim, f_ref, law):
    def ci(pair):
        return f"[{pair[0]:.3g}, {pair[1]:.3g}]"

    for unit, f in fits.items():
        print(f"unit {unit}: n0 = {f.n0:.3g} {ci(f.n0_ci)}, kappa = {f.kappa:.3f} "
              f"{ci(f.kappa_ci)}  ({f.n_boot} replicates, {f.n_boot_all_censored} with an "
              f"all-censored width)")
    q = fits["quanta"]
    print(f"f(n_ref) = {f_ref:.3f} at n_ref = {q.n_ref[0]:.2f} quanta: log10 A_inf = "
          f"{law.log10_A - math.log10(f_ref):.3f} (calibrated {law.log10_A:.3f})")
    print(f"without w = {q.widths[0]}: n0 = {sens.n0:.3g} {ci(sens.n0_ci)}, kappa = "
          f"{sens.kappa:.3f} {ci(sens.kappa_ci)}")
    print("width  n(quanta)  measured [95% CI]        fitted  resid(log)  sim: speed+cap  "
          "speed only  cap only")
    for i, w in enumerate(q.widths):
        print(f"{w:5d}  {q.n[i]:9.2f}  {q.slowdown[i]:6.2f} {ci(q.slowdown_ci[i]):16s}  "
              f"{q.fitted[i]:6.2f}  {q.residual_log[i]:+.3f}      "
              f"{sim['speed_and_capacity']['slowdown'][i]:8.2f}  "
              f"{sim['speed_only']['slowdown'][i]:10.2f}  "
              f"{sim['capacity_only']['slowdown'][i]:8.2f}")


if __name__ == "__main__":
    main()
