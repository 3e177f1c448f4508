"""Compute-optimal frontier: loss over a model-size × data grid and the best split of a
compute budget C = N·D, N_opt ∝ C^{1/(α+2)}, D_opt ∝ C^{(α+1)/(α+2)}, L_opt ∝ C^{-α/(α+2)}.

Grid: capacities n (quanta; N = n parameters, C = 1 parameter per quantum) × training-set
sizes D (samples), α = 0.5, threshold rule τ = 5, ``reject`` policy, dataset regime
(every learnable quantum is learned within epoch 1; 2 epochs are run). One events-engine
call per D sweeps all capacities through a per-agent capacity list. Compute is C = N·D
(parameters × samples; the usual 6ND FLOPs is a constant factor that moves no exponent).

Frontier: log L is interpolated on the (log N, log D) grid by a bicubic spline; along each
iso-compute line N = C/D the minimum over a fine grid of log N gives N_opt(C),
D_opt = C/N_opt and L_opt. Exponents are least-squares slopes in log–log over the C range
where the optimum is interior (N_opt ≥ 10 quanta, clear of the grid edges); the 95 % CI is
a bootstrap over replicate agents (the whole grid is resampled and the frontier rebuilt).

Theory checked (Michaud et al. 2023, ``theory.compute_exponents``): learned quanta
= min(N/C_q, (D/τ)^{1/(α+1)}); balancing the two under N·D = C gives the exponents above.
For reference the panels also draw the slopes implied by Chinchilla's fit (Hoffmann et al.
2022: L = 1.69 + 406.4/N^0.34 + 410.7/D^0.28 → N_opt ∝ C^0.452, D_opt ∝ C^0.548,
L_opt − E ∝ C^-0.154). Only slopes are comparable: Chinchilla's N counts network
parameters and D tokens with C = 6ND FLOPs, ours counts quanta and samples.

Losses are for K = ∞ (the never-learned tail k > K added back, _scaling.infinite_k_loss).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.interpolate import RectBivariateSpline

import simquanta as sq
from simquanta import plots
from simquanta.analysis import theory

import _scaling as S
from _common import Experiment, parse_args

NAME = "compute_frontier"
ALPHA = 0.5
TAU = 5
EPOCHS = 2
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "a": 0.34, "b": 0.28}


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 3 * 10**4, "n_max": 10**3, "d_min": 10, "d_max": 10**6,
                "per_decade": 3, "replicates": 4, "n_opt_min": 3, "n_boot": 100,
                "seed": 41}
    return {"n_quanta": 3 * 10**5, "n_max": 10**4, "d_min": 10, "d_max": 10**8,
            "per_decade": 4, "replicates": 8, "n_opt_min": 10, "n_boot": 300, "seed": 41}


def chinchilla_exponents() -> dict:
    a, b = CHINCHILLA["a"], CHINCHILLA["b"]
    return {"N_opt": b / (a + b), "D_opt": a / (a + b), "L_opt": a * b / (a + b)}


def frontier(log_loss, ln, ld, step=0.01):
    """Compute-optimal frontier from a log10-loss grid (rows log10 N = ln, cols log10 D = ld).

    The bicubic spline is evaluated on fine grids of log10 N and log10 D with the same step,
    so every iso-compute line log10 C = log10 N + log10 D runs along a diagonal of fine
    points. Returns log10 C, log10 N_opt, log10 L_opt (NaN where the minimum is at an end of
    its line, i.e. not interior)."""
    spl = RectBivariateSpline(ln, ld, log_loss, kx=3, ky=3)
    xf = ln[0] + step * np.arange(int(round((ln[-1] - ln[0]) / step)) + 1)
    yf = ld[0] + step * np.arange(int(round((ld[-1] - ld[0]) / step)) + 1)
    grid = spl(xf, yf)  # (len(xf), len(yf))
    diag = np.arange(xf.size + yf.size - 1)
    i = np.arange(xf.size)[:, None]
    j = diag[None, :] - i
    inside = (j >= 0) & (j < yf.size)
    vals = np.where(inside, grid[i, np.clip(j, 0, yf.size - 1)], np.inf)
    best = np.argmin(vals, axis=0)
    first = np.argmax(inside, axis=0)
    last = xf.size - 1 - np.argmax(inside[::-1], axis=0)
    ok = (best > first + 2) & (best < last - 2)
    log_c = xf[0] + yf[0] + step * diag
    n_opt = np.where(ok, xf[best], np.nan)
    l_opt = np.where(ok, vals[best, diag], np.nan)
    return log_c, n_opt, l_opt


def slope(x, y):
    return float(np.polyfit(x, y, 1)[0])


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "tau": TAU, "epochs": EPOCHS, "acquisition": "threshold",
                "policy": "reject", "params_per_quantum": 1, "compute": "C = N * D",
                "engine": "events", "chinchilla": CHINCHILLA})
    exp = Experiment(NAME, args, cfg)
    K, R = cfg["n_quanta"], cfg["replicates"]
    caps = S.log_ints(1, cfg["n_max"], cfg["per_decade"])
    sizes = S.log_ints(cfg["d_min"], cfg["d_max"], cfg["per_decade"])
    quanta = sq.Quanta(K, alpha=ALPHA, tau=TAU)
    loss = np.empty((R, caps.size, sizes.size))
    for j, d in enumerate(sizes):
        # 100 checkpoints: the events engine sorts only the arrivals in the checkpoint
        # interval where capacity fills, so more checkpoints = less sorting.
        res = sq.simulate(quanta, sq.Learner(capacity=S.replicate_grid(caps, R),
                                             policy="reject"),
                          sq.Dataset(size=int(d), epochs=EPOCHS), agents=caps.size * R,
                          seed=cfg["seed"] + j, checkpoints=100, engine="events")
        loss[:, :, j] = S.by_value(res.loss[:, -1], caps.size, R)
    loss = S.infinite_k_loss(loss, K, ALPHA)

    ln, ld = np.log10(caps), np.log10(sizes)
    log_c, n_opt, l_opt = frontier(np.log10(loss.mean(0)), ln, ld)
    # Fit window: optimum interior with margin — N_opt ≥ n_opt_min quanta (continuum regime)
    # and half a decade inside the N and D grids (spline edges). Learned ≤ 10^3.5 ≪ K,
    # and tail_leak at D_max is reported.
    d_opt = log_c - n_opt
    win = (np.isfinite(n_opt) & (n_opt >= np.log10(cfg["n_opt_min"]))
           & (n_opt <= ln[-1] - 0.5) & (d_opt >= ld[0] + 0.5) & (d_opt <= ld[-1] - 0.5))
    est = {"N_opt": slope(log_c[win], n_opt[win]), "L_opt": -slope(log_c[win], l_opt[win])}
    est["D_opt"] = 1.0 - est["N_opt"]
    rng = np.random.default_rng(0)
    boot = {k: [] for k in est}
    boot_curves = []
    for _ in range(cfg["n_boot"]):
        pick = rng.integers(0, R, R)
        _, nb, lb = frontier(np.log10(loss[pick].mean(0)), ln, ld)
        boot_curves.append((nb, lb))
        ok = win & np.isfinite(nb)
        boot["N_opt"].append(slope(log_c[ok], nb[ok]))
        boot["L_opt"].append(-slope(log_c[ok], lb[ok]))
        boot["D_opt"].append(1.0 - boot["N_opt"][-1])
    th = theory.compute_exponents(ALPHA)
    exps = {}
    for key in ("N_opt", "D_opt", "L_opt"):
        lo, hi = np.percentile(boot[key], [2.5, 97.5])
        exps[key] = {"fitted": est[key], "ci95": [float(lo), float(hi)],
                     "theory": float(th[key]), "error": est[key] - float(th[key]),
                     "ci_contains_theory": bool(lo <= th[key] <= hi),
                     "fit_log10_C_range": [float(log_c[win].min()), float(log_c[win].max())]}
        print(f"{key}: {S.fit_text(key, exps[key])}")
    # bootstrap sd of log10 N_opt and log10 L_opt along the frontier (for the bands)
    with warnings.catch_warnings():  # columns that are NaN in every replicate stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        boot_sd = np.nanstd(np.array(boot_curves), axis=0)
    chin = chinchilla_exponents()
    xs = S.x_scale(K, ALPHA)
    results = {
        "exponents": exps,
        "chinchilla_reference": {
            "fit": CHINCHILLA, "exponents": chin,
            "quantization_model_alpha_from_chinchilla_a": CHINCHILLA["a"],
            "implied_alpha_D_if_alpha=a": CHINCHILLA["a"] / (CHINCHILLA["a"] + 1),
            "implied_alpha_from_b": CHINCHILLA["b"] / (1 - CHINCHILLA["b"]),
            "note": "slopes only; Chinchilla N = network parameters, D = tokens, "
                    "C = 6ND FLOPs; here N = quanta of capacity, D = samples, C = N·D",
        },
        "capacities": caps, "dataset_sizes": sizes,
        "loss_grid_mean": loss.mean(0), "loss_grid_sem": S.sem(loss),
        "log10_C": log_c, "log10_N_opt": n_opt, "log10_L_opt": l_opt, "fit_mask": win,
        "tail_leak_at_d_max": S.tail_leak(float(sizes.max()) * xs, K, ALPHA, TAU),
        "done_when": {"exponents_within_0.05_or_ci": all(
            abs(v["error"]) <= 0.05 or v["ci_contains_theory"] for v in exps.values())},
    }
    fig = figure(caps, sizes, loss, log_c, n_opt, l_opt, win, boot_sd, exps, chin, K)
    exp.save(fig, results)
    return results


def figure(caps, sizes, loss, log_c, n_opt, l_opt, win, boot_sd, exps, chin, K):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    plots.use_style()
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.7), layout="constrained",
                             gridspec_kw={"width_ratios": [1.15, 1, 1]})
    ax = axes[0]

    def edges(v):
        lv = np.log10(v)
        mid = (lv[1:] + lv[:-1]) / 2
        return 10 ** np.concatenate([[lv[0] - (mid[0] - lv[0])], mid,
                                     [lv[-1] + (lv[-1] - mid[-1])]])

    mean = loss.mean(0)
    mesh = ax.pcolormesh(edges(sizes), edges(caps), mean,
                         norm=LogNorm(vmin=mean.min(), vmax=mean.max()), cmap="viridis",
                         rasterized=True)
    d_line = np.geomspace(sizes.min(), sizes.max(), 50)
    for lc in range(int(np.ceil(log_c.min())) + 1, int(log_c.max()), 2):
        ax.plot(d_line, 10.0**lc / d_line, color="white", lw=0.5, ls=":", alpha=0.8)
    ok = np.isfinite(n_opt)
    ax.plot(10 ** (log_c[ok] - n_opt[ok]), 10 ** n_opt[ok], color=plots.PALETTE[4], lw=1.6,
            label="simulated N$_{opt}$")
    xs = S.x_scale(K, ALPHA)
    ax.plot(d_line, S.asymptotic_learned(d_line * xs, ALPHA, TAU), color="white", ls="--",
            lw=1.0, label="N = E[learnable(D)]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(caps.min() / 1.2, caps.max() * 1.2)
    ax.set_xlim(sizes.min() / 1.3, sizes.max() * 1.3)
    ax.grid(False)
    ax.set_xlabel("data D (samples)")
    ax.set_ylabel("parameters N (quanta, C = 1)")
    ax.set_title(f"(a) loss, α={ALPHA:g}; dotted: iso-C", loc="left")
    ax.legend(loc="upper left", fontsize=5.8, labelcolor="white", handlelength=1.6)
    cb = fig.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06)
    cb.set_label("loss (bits per sample)", fontsize=7)
    cb.ax.tick_params(labelsize=6)

    c_all = 10**log_c
    cw = c_all[win]
    mid = np.sqrt(cw.min() * cw.max())
    ax = axes[1]
    # 95 % bands: ±1.96 bootstrap sd of log10 N_opt (the same for log10 D_opt = log10 C −
    # log10 N_opt) and of log10 L_opt, drawn in log space.
    sd_n, sd_l = boot_sd
    for key, y, color in (("N_opt", 10 ** n_opt, plots.PALETTE[0]),
                          ("D_opt", c_all / 10 ** n_opt, plots.PALETTE[1])):
        rec = exps[key]
        ly = np.log10(y)
        ax.plot(c_all, y, color=color,
                label=f"{key.replace('_opt', '$_{opt}$')}: {rec['fitted']:.3f} "
                      f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}]")
        ax.fill_between(c_all, 10 ** (ly - plots.Z95 * sd_n), 10 ** (ly + plots.Z95 * sd_n),
                        color=color, alpha=0.25, lw=0)
        y_mid = np.interp(np.log10(mid), log_c[win], ly[win])
        cc = np.array([cw.min(), cw.max()])
        plots.theory_line(ax, cc, 10**y_mid * (cc / mid) ** rec["theory"], color="black",
                          label=None, zorder=3)
        ax.plot(cc, 10**y_mid * (cc / mid) ** chin[key] / 3, color="0.45", ls=(0, (1, 1.5)),
                lw=1.0)
    ax.plot([], [], color="k", ls="--", lw=1.0, label="theory slope")
    ax.plot([], [], color="0.45", ls=(0, (1, 1.5)), lw=1.0, label="Chinchilla slope")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C = N·D (param.·samples)")
    ax.set_ylabel("N$_{opt}$ (quanta), D$_{opt}$ (samples)")
    ax.set_title("(b) optimal allocation", loc="left")
    ax.legend(loc="upper left", fontsize=5.8, handlelength=1.6)

    ax = axes[2]
    rec = exps["L_opt"]
    ax.plot(c_all, 10**l_opt, color=plots.PALETTE[2],
            label=f"L$_{{opt}}$: {rec['fitted']:.3f} [{rec['ci95'][0]:.3f}, "
                  f"{rec['ci95'][1]:.3f}]")
    ax.fill_between(c_all, 10 ** (l_opt - plots.Z95 * sd_l), 10 ** (l_opt + plots.Z95 * sd_l),
                    color=plots.PALETTE[2], alpha=0.25, lw=0)
    y_mid = np.interp(np.log10(mid), log_c[win], l_opt[win])
    cc = np.array([cw.min(), cw.max()])
    plots.theory_line(ax, cc, 10**y_mid * (cc / mid) ** -rec["theory"], color="black",
                      label=f"theory slope −{rec['theory']:.3f}", zorder=3)
    ax.plot(cc, 10**y_mid * (cc / mid) ** -chin["L_opt"] * 1.6, color="0.45",
            ls=(0, (1, 1.5)), lw=1.0, label=f"Chinchilla slope −{chin['L_opt']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C = N·D (param.·samples)")
    ax.set_ylabel("optimal loss (bits per sample)")
    ax.set_title("(c) compute-optimal loss", loc="left")
    ax.legend(loc="lower left", fontsize=5.8, handlelength=1.6)
    return fig


if __name__ == "__main__":
    main()
