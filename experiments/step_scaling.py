"""Step scaling: loss vs training steps in the online (single-epoch) regime,
L(S) ∝ S^-α/(α+1).

Agents see a fresh sample every step (batch size 1, so steps = samples) for up to 10^8
steps, with unlimited capacity and the threshold rule τ = 5 (quantum k is learned at its
5th exposure, after ≈ τ/p_k steps), at α ∈ {0.3, 0.5, 1.0}. The events engine draws each
quantum's learning time directly (Gamma(τ)/p_k), so 8 decades of steps cost the same as one.

Theory checked (Michaud et al. 2023): steps to learn k ∝ 1/p_k ∝ k^{α+1}, so after S steps
the top ≈ S^{1/(α+1)} quanta are learned and L(S) ∝ S^-α/(α+1). Dashed: the exact closed
form for the (Poissonized) simulation, E[L] = Σ_k p_k Q(τ, p_k S) (regularised upper
incomplete Γ); dotted: its continuum asymptote (S/ζ)^{-β} Γ(τ+β)/Γ(τ)/(αζ), β = α/(α+1).

Panel (b) is the mechanism: per-quantum loss p_k·P(k unlearned after S steps) (from the
recorded learn steps of each agent) drops from p_k to 0 around S ≈ τ/p_k, each transition
sharp on a log axis; their sum over all k is the smooth power law.

Losses in (a) are for K = ∞ (the never-learned tail k > K added back,
_scaling.infinite_k_loss); at 10^8 steps no quantum beyond K = 10^6 would have been learned
(``tail_leak`` in the JSON).
"""

from __future__ import annotations

import numpy as np
from scipy import special

import simquanta as sq
from simquanta import plots
from simquanta.analysis import theory
from simquanta.analysis.fit import fit_power_law

import _scaling as S
from _common import Experiment, parse_args

NAME = "step_scaling"
ALPHAS = (0.3, 0.5, 1.0)
TAU = 5
SHOW_K = (1, 10, 100, 1000)  # 1-based quanta shown in panel (b)


def config_for(quick: bool) -> dict:
    if quick:
        return {"n_quanta": 10**5, "steps": 10**6, "per_decade": 4, "agents": 8,
                "fit_learned_min": 10, "curve_quanta": 3000, "curve_agents": 40,
                "curve_steps": 10**6, "seed": 31}
    return {"n_quanta": 10**6, "steps": 10**8, "per_decade": 5, "agents": 32,
            "fit_learned_min": 30, "curve_quanta": 10**4, "curve_agents": 200,
            "curve_steps": 10**6, "seed": 31}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alphas": list(ALPHAS), "tau": TAU, "batch_size": 1,
                "acquisition": "threshold", "capacity": "inf", "engine": "events",
                "curve_alpha": 0.5, "curve_quanta_shown": list(SHOW_K)})
    exp = Experiment(NAME, args, cfg)
    K, M = cfg["n_quanta"], cfg["agents"]
    ckpts = S.log_ints(1, cfg["steps"], cfg["per_decade"])
    results: dict = {"steps": ckpts, "per_alpha": {}}
    curves = {}
    for i, alpha in enumerate(ALPHAS):
        quanta = sq.Quanta(K, alpha=alpha, tau=TAU)
        res = sq.simulate(quanta, sq.Learner(), sq.Online(steps=cfg["steps"]), agents=M,
                          seed=cfg["seed"] + i, checkpoints=list(ckpts), engine="events")
        loss = S.infinite_k_loss(res.loss, K, alpha)
        # Fit window: from ≥ fit_learned_min learned quanta (continuum regime; corrections
        # O(1/learned)) to the last step, where ≤ 17 % of K is learned and tail_leak shows a
        # K = ∞ learner would have learned nothing beyond K (relative loss error < 1e-4).
        window = (S.samples_for_learned(cfg["fit_learned_min"], alpha, TAU),
                  float(cfg["steps"]))
        rec = S.fit_record(fit_power_law(ckpts, loss, x_range=window, seed=0),
                           theory.alpha_S(alpha))
        rec_raw = S.fit_record(fit_power_law(ckpts, res.loss, x_range=window, seed=0),
                               theory.alpha_S(alpha))
        exact = S.infinite_k_loss(theory.expected_loss(
            theory.threshold_unlearned_prob_poisson(ckpts.astype(float), quanta.p, TAU),
            quanta.p), K, alpha)
        xs = S.x_scale(K, alpha)
        results["per_alpha"][f"{alpha:g}"] = {
            "alpha_S": rec, "alpha_S_raw_finite_K": rec_raw,
            "loss_mean": loss.mean(0), "loss_sem": S.sem(loss), "loss_closed_form": exact,
            "learned_mean": res.learned_mean,
            "max_z_loss_vs_closed_form": S.max_abs_z(loss, exact),
            "tail_leak_at_last_step": S.tail_leak(cfg["steps"] * xs, K, alpha, TAU),
            "fraction_of_K_learned_at_last_step": float(res.learned_mean[-1] / K),
        }
        curves[alpha] = (loss, exact, rec, window)
        print(f"alpha={alpha}: {S.fit_text('α_S', rec)}; raw {rec_raw['fitted']:.3f}")

    # Per-quantum loss curves (α = 0.5, small K, learn steps recorded).
    a_c, k_c = cfg["curve_alpha"], cfg["curve_quanta"]
    q_c = sq.Quanta(k_c, alpha=a_c, tau=TAU)
    ck_c = S.log_ints(1, cfg["curve_steps"], 12)
    res = sq.simulate(q_c, sq.Learner(), sq.Online(steps=cfg["curve_steps"]),
                      agents=cfg["curve_agents"], seed=cfg["seed"] + 10,
                      checkpoints=list(ck_c), engine="events", record_learn_steps=True)
    ls = res.learn_step  # (agents, K), −1 = never
    per_k = {}
    for k in SHOW_K:
        unlearned = (ls[:, k - 1][:, None] < 0) | (ls[:, k - 1][:, None] > ck_c[None, :])
        frac = unlearned.mean(0)
        pk = q_c.p[k - 1]
        per_k[k] = {"p_k": pk, "loss_mean": pk * frac,
                    "loss_sem": pk * np.sqrt(frac * (1 - frac) / ls.shape[0]),
                    "closed_form": pk * special.gammaincc(TAU, pk * ck_c),
                    "steps_at_half": float(ck_c[np.argmax(frac <= 0.5)])}
    total_exact = theory.expected_loss(
        theory.threshold_unlearned_prob_poisson(ck_c.astype(float), q_c.p, TAU), q_c.p)
    results["per_quantum"] = {
        "alpha": a_c, "n_quanta": k_c, "agents": cfg["curve_agents"], "steps": ck_c,
        "quanta": {str(k): v for k, v in per_k.items()},
        "total_loss_mean": res.loss_mean, "total_loss_sem": res.loss_sem,
        "total_closed_form": total_exact,
        "steps_at_half_times_p_over_tau": [per_k[k]["steps_at_half"] * per_k[k]["p_k"] / TAU
                                           for k in SHOW_K],
    }
    results["done_when"] = {
        "alpha_S_within_0.03_or_ci": all(S.within(v["alpha_S"], 0.03)
                                         for v in results["per_alpha"].values())}
    fig = figure(ckpts, curves, K, ck_c, per_k, res, total_exact, cfg)
    exp.save(fig, results)
    return results


def figure(ckpts, curves, K, ck_c, per_k, res_c, total_exact, cfg):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.7), gridspec_kw={"wspace": 0.3})
    ax = axes[0]
    s_fine = np.geomspace(1, ckpts.max(), 200)
    for i, (alpha, (loss, exact, rec, _)) in enumerate(curves.items()):
        c = plots.PALETTE[i]
        plots.band(ax, ckpts, loss.mean(0), S.sem(loss), color=c, ls="none", marker="o",
                   ms=2.0, label=f"α={alpha:g}: {rec['fitted']:.3f} [{rec['ci95'][0]:.3f}, "
                                 f"{rec['ci95'][1]:.3f}] vs {rec['theory']:.3f}")
        plots.theory_line(ax, ckpts, exact, color=c, label=None)
        xs = S.x_scale(K, alpha)
        ax.plot(s_fine, S.asymptotic_loss(s_fine * xs, alpha, TAU), color=c, ls=":", lw=0.8)
    ax.plot([], [], color="k", ls="--", lw=1.0, label="exact closed form")
    ax.plot([], [], color="k", ls=":", lw=0.8, label="continuum asymptote")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training steps S (batch size 1)")
    ax.set_ylabel("loss (bits per sample)")
    ax.set_title("(a) loss vs steps; fitted α$_S$ [95% CI] vs α/(α+1)", loc="left")
    lo = min(c[0].mean(0).min() for c in curves.values())
    ax.set_ylim(lo / 40, 3)  # room for the legend under the curves
    ax.legend(loc="lower left", fontsize=6, handlelength=1.6)

    ax = axes[1]
    for i, (k, v) in enumerate(per_k.items()):
        c = plots.PALETTE[(3, 4, 5, 1)[i]]
        m = v["loss_mean"] > 0
        plots.band(ax, ck_c[m], v["loss_mean"][m], v["loss_sem"][m], color=c, lw=1.6)
        keep = v["closed_form"] > 1e-2 * v["p_k"]  # down to 1 % of agents unlearned
        plots.theory_line(ax, ck_c[keep], v["closed_form"][keep], color="0.2", label=None,
                          zorder=3)
        ax.text(1.3, v["p_k"] / 1.5, f"k = {k}", color=c, fontsize=6.5, va="top")
    plots.band(ax, ck_c, res_c.loss_mean, res_c.loss_sem, color="black", lw=1.6,
               label="sum over all k")
    plots.theory_line(ax, ck_c, total_exact, color="0.2", label="closed forms", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 3)
    ax.set_xlabel("training steps S (batch size 1)")
    ax.set_ylabel("p$_k$·P(k unlearned) (bits per sample)")
    ax.set_title(f"(b) per-quantum loss, α={cfg['curve_alpha']:g}, "
                 f"K={cfg['curve_quanta']}, {cfg['curve_agents']} agents", loc="left")
    ax.legend(loc="lower left", fontsize=6, handlelength=1.6)
    return fig


if __name__ == "__main__":
    main()
