"""Seed variance: how much independent learners (agents = seeds) differ — in when each
quantum emerges, in their fitted step exponents, and in instantaneous vs time-averaged
learning curves.

(a) Emergence scale spread. Online, unlimited capacity, α = 0.5. Quantum k is learned after
T_k = G/p_k samples with G ~ Gamma(τ) under the threshold rule (the τ-th arrival of a
Poisson process of rate p_k) and G ~ τ·Exp(1) under the geometric rule, so the coefficient
of variation of T_k across agents is 1/√τ (threshold) and 1 (geometric), independent of
k: every quantum's emergence step is equally (relatively) noisy, and a larger τ makes
emergence more deterministic. (Exact engine: T_k is negative binomial, CV = √((1−p_k)/τ),
the same for p_k ≪ 1.) Learn steps are integers (⌈T_k⌉), so the summary uses quanta with
τ/p_k ≥ 1000 steps where rounding is negligible.

(b) Per-agent step exponents. Each agent's own loss curve (K = ∞ loss, see
_scaling.infinite_k_loss) is fitted by least squares in log–log over a fixed window of steps;
the histogram shows the spread across agents around α/(α+1) for τ = 1 and τ = 16, together
with the fit to the mean curve (95 % bootstrap CI over agents).

(c) Hutter (2021), τ = 1: the instantaneous error E_n (loss after n samples) and the
time-averaged error A_n = (1/n) Σ_{m<n} E_m (cumulative online loss per sample) both scale as
n^-α/(α+1); since the exponent β = α/(α+1) < 1, A_n/E_n → 1/(1 − β) = α + 1. Both are
computed exactly per agent from the recorded learn steps: E_n = Σ_k p_k 1[T_k > n] and
A_n = (1/n) Σ_k p_k min(n, T_k). Dashed: E[E_n] = Σ p_k e^{−p_k n} and
E[A_n] = (1/n) Σ p_k (1 − e^{−p_k n})/(1 − e^{−p_k}) (Poisson exposures, as simulated).
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import theory
from simquanta.analysis.fit import fit_power_law

import _scaling as S
from _common import Experiment, parse_args

NAME = "seed_variance"
ALPHA = 0.5
CV_CONFIGS = (("threshold", 1), ("threshold", 4), ("threshold", 16), ("threshold", 64),
              ("geometric", 4))
EXP_TAUS = (1, 16)


def config_for(quick: bool) -> dict:
    if quick:
        return {"cv_quanta": 500, "cv_agents": 150, "exp_quanta": 10**5, "exp_agents": 40,
                "exp_steps": 10**6, "exp_window": [10**3, 10**6], "hutter_quanta": 2 * 10**4,
                "hutter_agents": 16, "hutter_steps": 10**5, "n_boot": 60, "seed": 61}
    return {"cv_quanta": 2000, "cv_agents": 400, "exp_quanta": 10**6, "exp_agents": 200,
            "exp_steps": 10**7, "exp_window": [10**4, 10**7], "hutter_quanta": 10**5,
            "hutter_agents": 64, "hutter_steps": 10**6, "n_boot": 200, "seed": 61}


def cv_experiment(cfg: dict) -> tuple[dict, dict]:
    K, M = cfg["cv_quanta"], cfg["cv_agents"]
    rng = np.random.default_rng(0)
    out, curves = {}, {}
    for i, (rule, tau) in enumerate(CV_CONFIGS):
        quanta = sq.Quanta(K, alpha=ALPHA, tau=tau)
        p_min = quanta.p[-1]
        steps = int(300 * tau / p_min)  # P(not learned) ≤ e^-300·… for every quantum
        res = sq.simulate(quanta, sq.Learner(acquisition=rule), sq.Online(steps=steps),
                          agents=M, seed=cfg["seed"] + i, checkpoints=1, engine="events",
                          record_learn_steps=True)
        t = res.learn_step.astype(float)
        if np.any(t < 0):
            raise RuntimeError("a quantum was never learned; lengthen the run")
        cv = t.std(axis=0, ddof=1) / t.mean(axis=0)
        boot = np.empty((cfg["n_boot"], K))
        for b in range(cfg["n_boot"]):
            tb = t[rng.integers(0, M, M)]
            boot[b] = tb.std(axis=0, ddof=1) / tb.mean(axis=0)
        # For the figure: CV averaged over log-spaced bins of k (per-k CVs are noisy at
        # this many agents); band = ±1.96 bootstrap sd of the bin mean.
        edges = np.unique(np.round(np.geomspace(1, K + 1, 16)).astype(int))
        k_bin = np.sqrt(edges[:-1] * (edges[1:] - 1.0))
        bins = list(zip(edges[:-1] - 1, edges[1:] - 1, strict=True))  # 0-based [a, b)
        cv_bin = np.array([cv[a:b].mean() for a, b in bins])
        sd_bin = np.array([boot[:, a:b].mean(axis=1).std(ddof=1) for a, b in bins])
        theory_cv = 1.0 if rule == "geometric" else 1.0 / np.sqrt(tau)
        use = tau / quanta.p >= 1000  # learn steps ≫ 1: integer rounding negligible
        mean_cv = float(cv[use].mean())
        boot_mean = boot[:, use].mean(axis=1)
        key = f"{rule}_tau{tau}"
        # normal 95 % CI from the bootstrap sd (percentiles of resampled CVs are shifted low:
        # a resample with repeated agents has a smaller spread)
        half = plots.Z95 * float(boot_mean.std(ddof=1))
        out[key] = {"rule": rule, "tau": tau, "theory_cv": theory_cv, "mean_cv": mean_cv,
                    "mean_cv_ci95": [mean_cv - half, mean_cv + half],
                    "relative_error": mean_cv / theory_cv - 1.0,
                    "quanta_used": [int(np.argmax(use)) + 1, K], "cv_per_quantum": cv}
        curves[key] = (k_bin, cv_bin, sd_bin, theory_cv)
        print(f"{key}: CV {mean_cv:.3f} vs {theory_cv:.3f}")
    return out, curves


def per_agent_exponents(cfg: dict) -> tuple[dict, dict]:
    K, M = cfg["exp_quanta"], cfg["exp_agents"]
    ckpts = S.log_ints(1, cfg["exp_steps"], 6)
    lo, hi = cfg["exp_window"]
    # Window: fixed in steps for both τ; ≥ 60 quanta learned at its start for τ = 16 and
    # ≤ 7 % of K learned at its end for τ = 1 (tail_leak ≤ 2e-4), so finite K is negligible.
    win = (ckpts >= lo) & (ckpts <= hi)
    out, hists = {}, {}
    for i, tau in enumerate(EXP_TAUS):
        res = sq.simulate(sq.Quanta(K, alpha=ALPHA, tau=tau), sq.Learner(),
                          sq.Online(steps=cfg["exp_steps"]), agents=M,
                          seed=cfg["seed"] + 100 + i, checkpoints=list(ckpts), engine="events")
        loss = S.infinite_k_loss(res.loss, K, ALPHA)
        lx = np.log(ckpts[win])
        slopes = -np.polyfit(lx, np.log(loss[:, win]).T, 1)[0]
        rec = S.fit_record(fit_power_law(ckpts, loss, x_range=(lo, hi), seed=0),
                           theory.alpha_S(ALPHA))
        out[f"tau{tau}"] = {
            "per_agent_alpha_S": slopes, "mean": float(slopes.mean()),
            "sd": float(slopes.std(ddof=1)),
            "quantiles_2.5_50_97.5": list(np.percentile(slopes, [2.5, 50, 97.5])),
            "mean_curve_fit": rec, "window_steps": [lo, hi],
            "tail_leak_at_end": S.tail_leak(hi * S.x_scale(K, ALPHA), K, ALPHA, tau),
        }
        hists[tau] = (slopes, rec)
        print(f"tau={tau}: per-agent α_S {slopes.mean():.3f} ± {slopes.std(ddof=1):.3f}; "
              f"{S.fit_text('mean-curve α_S', rec)}")
    return out, hists


def hutter(cfg: dict) -> tuple[dict, tuple]:
    K, M, n_max = cfg["hutter_quanta"], cfg["hutter_agents"], cfg["hutter_steps"]
    quanta = sq.Quanta(K, alpha=ALPHA, tau=1)
    ckpts = S.log_ints(1, n_max, 8)
    res = sq.simulate(quanta, sq.Learner(), sq.Online(steps=n_max), agents=M,
                      seed=cfg["seed"] + 200, checkpoints=list(ckpts), engine="events",
                      record_learn_steps=True)
    p = quanta.p
    t = res.learn_step.astype(float)
    t[t < 0] = np.inf  # never learned within the run: unlearned at every checkpoint
    inst = np.empty((M, ckpts.size))
    avg = np.empty((M, ckpts.size))
    for a in range(M):
        order = np.argsort(t[a])
        ts, ps = t[a][order], p[order]
        cum_p = np.concatenate([[0.0], np.cumsum(ps)])
        cum_pt = np.concatenate([[0.0], np.cumsum(np.where(np.isfinite(ts), ps * ts, 0.0))])
        j = np.searchsorted(ts, ckpts, side="right")  # quanta learned by step n
        inst[a] = 1.0 - cum_p[j]
        avg[a] = (cum_pt[j] + ckpts * (1.0 - cum_p[j])) / ckpts
    if not np.allclose(inst, res.loss, atol=1e-12):
        raise RuntimeError("learn-step reconstruction disagrees with the engine's loss")
    n = ckpts.astype(float)
    e_theory = np.exp(-np.outer(n, p)) @ p
    a_theory = ((-np.expm1(-np.outer(n, p))) / -np.expm1(-p)) @ p / n
    inst, avg = S.infinite_k_loss(inst, K, ALPHA), S.infinite_k_loss(avg, K, ALPHA)
    e_theory, a_theory = S.infinite_k_loss(e_theory, K, ALPHA), S.infinite_k_loss(a_theory,
                                                                                  K, ALPHA)
    # Window: ≥ 30 quanta learned (continuum regime) up to the end of the run, where ≤ 15 %
    # of K is learned and a K = ∞ learner would learn nothing beyond K (tail_leak).
    window = (S.samples_for_learned(30, ALPHA, 1), float(n_max))
    beta = theory.alpha_S(ALPHA)
    rec_e = S.fit_record(fit_power_law(ckpts, inst, x_range=window, seed=0), beta)
    rec_a = S.fit_record(fit_power_law(ckpts, avg, x_range=window, seed=0), beta)
    ratio = avg.mean(0) / inst.mean(0)
    out = {"n_quanta": K, "agents": M, "steps": ckpts, "window": list(window),
           "instantaneous": {"fit": rec_e, "mean": inst.mean(0), "sem": S.sem(inst),
                             "closed_form": e_theory},
           "time_averaged": {"fit": rec_a, "mean": avg.mean(0), "sem": S.sem(avg),
                             "closed_form": a_theory},
           "ratio_avg_over_inst_at_end": float(ratio[-1]),
           "ratio_theory_limit": 1.0 / (1.0 - beta),
           "tail_leak_at_end": S.tail_leak(n_max * S.x_scale(K, ALPHA), K, ALPHA, 1)}
    print(f"Hutter: {S.fit_text('E_n', rec_e)}; {S.fit_text('A_n', rec_a)}; "
          f"A/E at end {ratio[-1]:.3f} (limit {1 / (1 - beta):.3f})")
    return out, (ckpts, inst, avg, e_theory, a_theory, rec_e, rec_a, window)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "cv_configs": [list(c) for c in CV_CONFIGS],
                "exponent_taus": list(EXP_TAUS), "engine": "events"})
    exp = Experiment(NAME, args, cfg)
    cv, cv_curves = cv_experiment(cfg)
    exps, hists = per_agent_exponents(cfg)
    hut, hut_curves = hutter(cfg)
    results = {
        "emergence_cv": {k: v for k, v in cv.items()},
        "per_agent_alpha_S": exps,
        "hutter": hut,
        "checks": {
            "cv_within_20pct": all(abs(v["relative_error"]) <= 0.2 for v in cv.values()),
            "mean_curve_alpha_S_within_0.03_or_ci": all(
                S.within(v["mean_curve_fit"], 0.03) for v in exps.values()),
        },
    }
    fig = figure(cfg, cv_curves, hists, hut_curves)
    exp.save(fig, results)
    return results


def figure(cfg, cv_curves, hists, hut):
    import matplotlib.pyplot as plt

    plots.use_style()
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.7), layout="constrained")
    ax = axes[0]
    for i, (kc, cv, sd, th) in enumerate(cv_curves.values()):
        rule, tau = CV_CONFIGS[i]
        c = plots.PALETTE[i]
        lab = f"threshold τ={tau}" if rule == "threshold" else f"geometric τ={tau}"
        plots.band(ax, kc, cv, sd, color=c, marker="o", ms=2.0, lw=0.9, label=lab)
        plots.theory_line(ax, [1, cfg["cv_quanta"]], [th, th], color="black", label=None)
    ax.plot([], [], color="k", ls="--", lw=1.0, label="1/√τ, or 1 (geometric)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.035, 1.6)
    ax.set_xlabel("quantum index k (log bins)")
    ax.set_ylabel("CV of learn step across agents")
    ax.set_title(f"(a) emergence spread, {cfg['cv_agents']} agents", loc="left")
    ax.legend(loc="lower left", fontsize=5.8, handlelength=1.4, ncol=2, columnspacing=0.8)

    ax = axes[1]
    beta = ALPHA / (ALPHA + 1)
    allv = np.concatenate([h[0] for h in hists.values()])
    span = allv.max() - allv.min()
    bins = np.linspace(allv.min() - 0.02 * span, allv.max() + 0.02 * span, 32)
    top = 0
    for i, (tau, (slopes, _)) in enumerate(hists.items()):
        counts, _, _ = ax.hist(slopes, bins=bins, color=plots.PALETTE[i], alpha=0.45,
                               label=f"τ={tau}: agents, sd {slopes.std(ddof=1):.3f}")
        top = max(top, counts.max())
    for i, (tau, (_, rec)) in enumerate(hists.items()):
        y = top * (1.25 + 0.15 * i)
        ax.errorbar([rec["fitted"]], [y], xerr=[[rec["fitted"] - rec["ci95"][0]],
                                                [rec["ci95"][1] - rec["fitted"]]],
                    color=plots.PALETTE[i], marker="D", ms=3, capsize=2, lw=1.0,
                    label=f"τ={tau}: mean-curve fit, 95% CI")
    ax.axvline(beta, color="black", ls="--", lw=1.0, label=f"α/(α+1) = {beta:.3f}")
    ax.set_ylim(0, top * 2.6)  # headroom for the fits and the legend
    ax.set_xlim(bins[0] - 0.1 * span, bins[-1] + 0.1 * span)
    ax.set_xlabel("per-agent fitted α$_S$")
    ax.set_ylabel("agents")
    lo, hi = cfg["exp_window"]
    ax.set_title(f"(b) per-agent α$_S$, S ∈ [10$^{{{np.log10(lo):.0f}}}$, "
                 f"10$^{{{np.log10(hi):.0f}}}$]", loc="left")
    ax.legend(loc="upper left", fontsize=5.5, handlelength=1.2, frameon=True, framealpha=0.9,
              edgecolor="none")

    ax = axes[2]
    ckpts, inst, avg, e_th, a_th, rec_e, rec_a, window = hut
    for y, th, rec, c, name in ((inst, e_th, rec_e, plots.PALETTE[0], "E$_n$"),
                                (avg, a_th, rec_a, plots.PALETTE[1], "A$_n$")):
        plots.band(ax, ckpts, y.mean(0), S.sem(y), color=c, ls="none", marker="o", ms=1.8,
                   label=f"{name}: {rec['fitted']:.3f} [{rec['ci95'][0]:.3f}, "
                         f"{rec['ci95'][1]:.3f}]")
        plots.theory_line(ax, ckpts, th, color=c, label=None)
    ax.plot([], [], color="k", ls="--", lw=1.0, label=f"closed forms; β = {beta:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples n (τ = 1)")
    ax.set_ylabel("error (bits per sample)")
    ax.set_title("(c) instantaneous vs time-averaged", loc="left")
    ax.legend(loc="lower left", fontsize=5.8, handlelength=1.4)
    return fig


if __name__ == "__main__":
    main()
