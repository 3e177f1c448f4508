"""Parameter scaling: loss vs model size when capacity binds, L(N) ∝ N^-α_N with α_N = α.

Learners of capacity n quanta (N = n·C parameters; we take C = 1 parameter per quantum, so
N = n — any other C only shifts the x axis) train online for so long that every capacity
fills (events engine: cost independent of the horizon), at α ∈ {0.3, 0.5, 1.0}. One call per
α sweeps all capacities through a per-agent capacity list (capacities × replicates agents).

Theory checked (Michaud et al. 2023, eq. for L_n): a learner holding the top n quanta has
L_n = Σ_{k>n} p_k ≈ n^-α / (α ζ(α+1)), so α_N = α. The ``reject`` policy keeps the *first*
n quanta to become ready, not exactly the top n; with Gamma(τ) ready times that costs a
constant factor R(α, τ) = m^α Γ(τ+β)/Γ(τ), m = Γ(τ − 1/(α+1))/Γ(τ), β = α/(α+1) (see
experiments/_scaling.py) and leaves the exponent alone. Panel (b) shows the measured ratio to
the exact top-n loss converging on R, and ``evict`` (which re-sorts by exposure count)
sitting on the top-n loss exactly. Panel (c) is the analogue of the bottom row of the
paper's Fig. 2: the fraction of learners that hold quantum k, vs capacity — each quantum
switches on at a capacity n ≈ k.

Finite K: the loss is reported for K = ∞ (simulated loss plus the never-learned tail k > K,
see _scaling.infinite_k_loss). Without that the K = 10^6 truncation alone steepens the
α = 0.3 fit to ≈ 0.34 over n ≤ 10^4 (reported as ``alpha_N_raw``; see finite_k_bias.py).
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis.fit import fit_power_law

import _scaling as S
from _common import Experiment, parse_args

NAME = "parameter_scaling"
ALPHAS = (0.3, 0.5, 1.0)
TAU = 5  # threshold rule: a quantum is ready at its 5th exposure


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 10**5, "capacity_max": 10**3, "per_decade": 4, "replicates": 4,
                "fit_range": [10, 10**3], "heat_quanta": 500, "heat_replicates": 8,
                "evict_quanta": 2000, "evict_capacity_max": 200, "seed": 11}
    return {"n_quanta": 10**6, "capacity_max": 10**4, "per_decade": 4, "replicates": 12,
            "fit_range": [30, 10**4], "heat_quanta": 2000, "heat_replicates": 40,
            "evict_quanta": 10**4, "evict_capacity_max": 10**3, "seed": 11}


def online_long_enough(capacity_max: float, alpha: float) -> sq.Online:
    """Train 10× past the (mean-field) time at which capacity_max quanta have arrived, so
    every agent's capacity is full at the end; 200 log-spaced checkpoints keep the events
    engine's sort of the interval in which capacity fills small."""
    steps = int(10 * S.samples_for_learned(capacity_max, alpha, TAU))
    return sq.Online(steps=max(steps, 1000), batch_size=1)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alphas": list(ALPHAS), "tau": TAU, "acquisition": "threshold",
                "policy": "reject", "params_per_quantum": 1, "engine": "events"})
    exp = Experiment(NAME, args, cfg)
    K, R = cfg["n_quanta"], cfg["replicates"]
    caps = S.log_ints(1, cfg["capacity_max"], cfg["per_decade"])
    lo, hi = cfg["fit_range"]
    # Fit window: n ≥ lo, past the small-n transient of the reject/top-n ratio (panel b is
    # flat from n ≈ 30 on), and n ≤ K/100, where a K = ∞ learner would learn nothing beyond K
    # (tail_leak ≈ 1e-14 or less) so the K = ∞ loss below is exact.
    results: dict = {"capacities": caps, "per_alpha": {}}
    curves = {}
    for i, alpha in enumerate(ALPHAS):
        data = online_long_enough(cfg["capacity_max"], alpha)
        res = sq.simulate(sq.Quanta(K, alpha=alpha, tau=TAU),
                          sq.Learner(capacity=S.replicate_grid(caps, R), policy="reject"),
                          data, agents=len(caps) * R, seed=cfg["seed"] + i,
                          checkpoints=200, engine="events")
        learned = S.by_value(res.learned[:, -1], len(caps), R)
        if not np.all(learned == caps[None, :]):
            raise RuntimeError("capacity did not bind for every agent; train longer")
        raw = S.by_value(res.loss[:, -1], len(caps), R)  # (replicates, capacities)
        loss = S.infinite_k_loss(raw, K, alpha)
        fit = fit_power_law(caps, loss, x_range=(lo, hi), seed=0)
        fit_raw = fit_power_law(caps, raw, x_range=(lo, hi), seed=0)
        rec = S.fit_record(fit, alpha)
        top = S.top_n_loss_infinite(caps, alpha)
        ratio = loss.mean(0) / top
        big = caps >= lo
        results["per_alpha"][f"{alpha:g}"] = {
            "alpha_N": rec,
            "alpha_N_raw": S.fit_record(fit_raw, alpha),
            "loss_mean": loss.mean(0), "loss_sem": S.sem(loss),
            "loss_topn_exact": top, "loss_asymptotic": S.asymptotic_top_n(caps, alpha),
            "ratio_reject_over_topn_in_window": float(np.mean(ratio[big])),
            "ratio_theory_R": S.reject_topn_ratio(alpha, TAU),
            "tail_leak_at_fill": S.tail_leak(S.samples_for_learned(hi, alpha, TAU), K, alpha,
                                             TAU),
            "steps": data.steps,
        }
        curves[alpha] = (loss, ratio, rec, loss / top[None, :])
        print(f"alpha={alpha}: {S.fit_text('α_N', rec)}  raw {fit_raw.exponent:.3f}")

    # Evict vs reject at α = 0.5 on a small K: evict keeps the top n by exposure count,
    # which after long training is the exact top n.
    a_ev = 0.5
    k_ev = cfg["evict_quanta"]
    caps_ev = S.log_ints(1, cfg["evict_capacity_max"], cfg["per_decade"])
    ev = {}
    q_ev = sq.Quanta(k_ev, alpha=a_ev, tau=TAU)
    # evict: ≥ 10^8 expected exposures of the n-th quantum, so exposure counts order the
    # quanta around the capacity boundary exactly (count noise ≪ p_n − p_{n+1}).
    long_ev = sq.Online(steps=int(1e8 / q_ev.p[caps_ev.max() - 1]))
    for policy in ("evict", "reject"):
        res = sq.simulate(q_ev,
                          sq.Learner(capacity=S.replicate_grid(caps_ev, 4), policy=policy),
                          long_ev if policy == "evict" else online_long_enough(k_ev, a_ev),
                          agents=len(caps_ev) * 4,
                          seed=cfg["seed"] + 10, checkpoints=1 if policy == "evict" else 200,
                          engine="events")
        loss = S.infinite_k_loss(S.by_value(res.loss[:, -1], len(caps_ev), 4), k_ev, a_ev)
        ev[policy] = loss / S.top_n_loss_infinite(caps_ev, a_ev)[None, :]
    results["evict_vs_reject"] = {
        "alpha": a_ev, "n_quanta": k_ev, "capacities": caps_ev,
        "evict_over_topn": ev["evict"].mean(0), "reject_over_topn": ev["reject"].mean(0),
    }

    # Heatmap: fraction of agents holding quantum k vs capacity (α = 0.5, small K).
    k_h, r_h = cfg["heat_quanta"], cfg["heat_replicates"]
    caps_h = S.log_ints(1, k_h // 2, 8)
    res = sq.simulate(sq.Quanta(k_h, alpha=0.5, tau=TAU),
                      sq.Learner(capacity=S.replicate_grid(caps_h, r_h), policy="reject"),
                      online_long_enough(k_h, 0.5), agents=len(caps_h) * r_h,
                      seed=cfg["seed"] + 20, checkpoints=200, engine="events",
                      record_learn_steps=True)
    held = S.by_value(res.learn_step >= 0, len(caps_h), r_h).mean(0)  # (capacities, K)
    k_idx = np.arange(1, k_h + 1)
    # capacity at which quantum k is held by half the learners
    half = np.array([caps_h[np.argmax(held[:, k - 1] >= 0.5)] if held[-1, k - 1] >= 0.5
                     else np.nan for k in k_idx])
    ok = np.isfinite(half) & (k_idx >= 3)
    slope = np.polyfit(np.log(k_idx[ok]), np.log(half[ok]), 1)[0]
    results["heatmap"] = {"alpha": 0.5, "n_quanta": k_h, "capacities": caps_h,
                          "replicates": r_h,
                          "half_capacity_vs_k_slope": float(slope)}

    results["done_when"] = {
        "alpha_N_within_0.03_or_ci": all(S.within(v["alpha_N"], 0.03)
                                         for v in results["per_alpha"].values())}

    fig = figure(caps, curves, ev, caps_ev, held, caps_h, k_idx, cfg)
    exp.save(fig, results)
    return results


def figure(caps, curves, ev, caps_ev, held, caps_h, k_idx, cfg):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.7), gridspec_kw={"wspace": 0.45})
    ax = axes[0]
    n_fine = np.geomspace(1, caps.max(), 200)
    for i, (alpha, (loss, _, rec, _)) in enumerate(curves.items()):
        c = plots.PALETTE[i]
        plots.band(ax, caps, loss.mean(0), S.sem(loss), color=c, ls="none", marker="o", ms=2.4,
                   label=f"α={alpha:g}: {rec['fitted']:.3f} "
                         f"[{rec['ci95'][0]:.3f}, {rec['ci95'][1]:.3f}]")
        plots.theory_line(ax, n_fine, S.asymptotic_top_n(n_fine, alpha), color=c, label=None)
        ax.plot(n_fine, S.top_n_loss_infinite(n_fine, alpha), color=c, ls=":", lw=0.8)
    lo, hi = cfg["fit_range"]
    ax.axvspan(lo, hi, color="0.5", alpha=0.1, lw=0, label="fit window")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([], [], color="k", ls="--", lw=1.0, label="n$^{-α}$/(α ζ(α+1))")
    ax.plot([], [], color="k", ls=":", lw=0.8, label="exact top-n loss")
    ax.set_xlabel("parameters N = n (C = 1 per quantum)")
    ax.set_ylabel("loss (bits per sample)")
    ax.set_ylim(10 ** (np.log10(curves[ALPHAS[-1]][0].mean(0).min()) - 2.5), 1.5)
    ax.set_title("(a) loss vs parameters (reject)", loc="left")
    ax.legend(loc="lower left", fontsize=6, handlelength=1.6, title="fitted α$_N$ [95% CI]",
              title_fontsize=6)

    ax = axes[1]
    for i, (alpha, (_, _, _, per_rep)) in enumerate(curves.items()):
        c = plots.PALETTE[i]
        plots.band(ax, caps, per_rep.mean(0), S.sem(per_rep), color=c,
                   label=f"α={alpha:g}")
        plots.theory_line(ax, [caps[0], caps[-1]], [S.reject_topn_ratio(alpha, TAU)] * 2,
                          color=c, label=None)
    plots.band(ax, caps_ev, ev["evict"].mean(0), S.sem(ev["evict"]), color=plots.PALETTE[3],
               marker="s", ms=2.0, label="evict α=0.5")
    ax.set_xscale("log")
    ax.set_xlabel("parameters N = n (quanta)")
    ax.set_ylabel("loss / exact top-n loss")
    ax.plot([], [], color="k", ls="--", lw=1.0, label="R(α, τ)")
    ax.set_title("(b) reject (first n) vs top n", loc="left")
    ax.set_ylim(0.97, 1.2)
    ax.legend(loc="upper right", fontsize=6, ncol=2, handlelength=1.4, columnspacing=0.8)

    ax = axes[2]
    edges_x = np.sqrt(caps_h[1:] * caps_h[:-1])
    edges_x = np.concatenate([[caps_h[0] / 1.15], edges_x, [caps_h[-1] * 1.15]])
    edges_y = np.concatenate([[0.5], k_idx + 0.5])
    mesh = ax.pcolormesh(edges_x, edges_y, held.T, cmap="viridis", vmin=0, vmax=1,
                         rasterized=True, shading="flat")
    ax.plot([1, caps_h[-1]], [1, caps_h[-1]], color="white", ls="--", lw=1.0,
            label="k = n (top n)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(edges_x[0], edges_x[-1])
    ax.set_ylim(0.5, k_idx[-1] + 0.5)
    ax.grid(False)
    ax.set_xlabel("parameters N = n (quanta)")
    ax.set_ylabel("quantum index k")
    ax.set_title(f"(c) who holds quantum k (α=0.5, K={cfg['heat_quanta']})", loc="left")
    ax.legend(loc="upper left", fontsize=6, labelcolor="white")
    cb = fig.colorbar(mesh, ax=ax, pad=0.02, fraction=0.06)
    cb.set_label("fraction of learners", fontsize=7)
    cb.ax.tick_params(labelsize=6)
    return fig


if __name__ == "__main__":
    main()
