"""Skill dynamics under the logistic family (Nam et al. 2024): strengths, emergence, exponents.

Each quantum k has a continuous strength s_k(c) = 1/(1 + (1/s0 − 1)e^{−ηc}) after c exposures
(``Learner(acquisition="logistic")``, η = 0.5, s0 = 0.01, so s reaches ½ at c½ = 10
exposures); a sample using k costs 1 − s_k bits. Quanta: Zipf, p_k ∝ k^-(α+1), α = 0.5.

(a) Per-quantum strength vs online samples for ranks 1…1000 (K = 1000, events engine,
    ``record_strength``): simulated mean over agents with a 95 % band (mean ± 1.96 SEM,
    analysis.stats.sem), and dashed the mean-field sigmoid s_k(t) = 1/(1 + (1/s0 − 1)e^{−η p_k t})
    (``dynamics_theory.logistic_mean_field``: the count replaced by its mean p_k t). The mean
    over agents is E[s(Poisson(p_k t))], wider than the mean field (Poisson noise in the count);
    the JSON checks it against that exact closed form (``logistic_mean_strength``).
(b) Emergence time t½_k (the sample count at which the mean strength crosses ½, interpolated
    in log t) against p_k over 4.5 decades: least-squares slope of log t½ on log p, 95 % CI
    from a percentile bootstrap over agents (the whole pipeline refitted on resampled agents);
    expected −1 (E[s] depends on t only through p_k t). Dashed: the mean field
    t½ = ln(1/s0 − 1)/(η p_k). Also the median over agents of each agent's own learn step
    (first sample with s ≥ ½, the c½-th exposure: Gamma(c½)/p_k).
(c–e) Loss exponents, measured by power-law fits (analysis.fit.fit_power_law, agent bootstrap)
    against ``dynamics_theory.logistic_exponents``: steps α/(α+1) (online, unlimited capacity,
    events engine), data α/(α+1) (fixed set of D samples, 10 epochs, exact engine: the events
    engine has no logistic dataset regime) and parameters α (capacity n quanta, ``reject``,
    trained to convergence; a quantum without a slot stays at s(c½ − 1) = 0.476). Losses are for
    K = ∞: the simulated K quanta plus the never-seen tail k > K at its untrained strength,
    L_∞ = (H_K L_K + (1 − s_tail)(ζ − H_K))/ζ at x_∞ = x ζ/H_K samples (s_tail = s0 online and in
    data, s(c½ − 1) with a capacity; quantum K+1 has < 0.4 expected exposures at the largest
    scale fitted, so the tail is untouched to < 0.3 %). Fit windows: learned quanta between
    ``fit_learned_min`` and K/10 (steps, data); 100 ≤ n ≤ K/10 (parameters: below n ≈ 100 the
    discrete top-n tail ζ(α+1, n+1) ∝ (n + ½)^-α has local slope α·n/(n + ½), visibly < α).
    Dashed: the large-n asymptote ``logistic_step_loss_asymptote`` (steps), the closed form
    ``logistic_dataset_expected_loss`` mapped the same way (data), and for parameters
    (1 − s(c½−1))·R·n^-α/(αζ), R the reject/top-n ratio of a threshold learner with τ = c½
    (the slot arrives at the c½-th exposure, exactly the threshold rule's ready time).

Nam et al. 2024 (arXiv 2404.17563, same α convention) state time and data exponents α/(α+1),
parameter exponent α and optimal-compute exponent α/(α+2) — as transcribed in
``logistic_exponents``'s docstring; we could not verify these numbers against the paper's text
(only its abstract was reachable: it derives scaling laws in T, D, N and C without quoting the
exponents), so the JSON marks them unverified.
"""

from __future__ import annotations

import numpy as np

import simquanta as sq
from simquanta import plots
from simquanta.analysis import dynamics_theory as dt
from simquanta.analysis.emergence import crossing
from simquanta.analysis.fit import fit_power_law
from simquanta.analysis.stats import percentile_ci, resample_counts, sem

import _scaling as S
from _common import Experiment, log_ints, parse_args

NAME = "skill_dynamics"
ALPHA = 0.5
ETA = 0.5
S0 = 0.01
EPOCHS = 10
NAM_REPORTED = {"steps": ALPHA / (ALPHA + 1), "data": ALPHA / (ALPHA + 1), "parameters": ALPHA,
                "verified_against_paper_text": False,
                "source": "Nam, Fonseca, Lee, Mingard & Louis 2024, arXiv 2404.17563, as "
                          "transcribed in dynamics_theory.logistic_exponents; the paper's "
                          "exponents could not be confirmed from its text (abstract only)"}


def config_for(quick: bool) -> dict:
    if quick:
        return {"curve_quanta": 1000, "curve_agents": 100, "curve_per_decade": 12,
                "curve_steps": 10**7, "n_ranks": 10, "n_boot": 200,
                "steps_quanta": 10**4, "steps_agents": 8, "steps_max": 10**7,
                "data_quanta": 10**4, "data_agents": 6, "data_max": 10**5, "data_per_decade": 3,
                "cap_quanta": 10**4, "cap_replicates": 6, "cap_per_decade": 3,
                "fit_learned_min": 10, "fit_capacity_min": 100, "fit_n_boot": 300, "seed": 404}
    return {"curve_quanta": 1000, "curve_agents": 400, "curve_per_decade": 16,
            "curve_steps": 10**7, "n_ranks": 16, "n_boot": 500,
            "steps_quanta": 10**5, "steps_agents": 48, "steps_max": 10**8,
            "data_quanta": 10**5, "data_agents": 16, "data_max": 10**6, "data_per_decade": 5,
            "cap_quanta": 10**5, "cap_replicates": 16, "cap_per_decade": 5,
            "fit_learned_min": 30, "fit_capacity_min": 100, "fit_n_boot": 1000, "seed": 404}


def learner(**kw) -> sq.Learner:
    return sq.Learner(acquisition="logistic", eta=ETA, s0=S0, **kw)


# ------------------------------------------------------------------ (a, b) strength curves


def strength_curves(cfg: dict, ranks: np.ndarray):
    """Strength of the quanta ``ranks`` (1-based) at log-spaced checkpoints:
    (agents, C, len(ranks)), the checkpoints and the agents' learn steps (agents, len(ranks))."""
    quanta = sq.Quanta(cfg["curve_quanta"], alpha=ALPHA)
    ckpt = log_ints(1, cfg["curve_steps"], cfg["curve_per_decade"])
    agents = cfg["curve_agents"]
    chunk = max(1, int(2e8 // (8 * ckpt.size * quanta.n_quanta)))
    strength = np.empty((agents, ckpt.size, ranks.size))
    learn = np.empty((agents, ranks.size))
    for lo in range(0, agents, chunk):
        hi = min(agents, lo + chunk)
        res = sq.simulate(quanta, learner(), sq.Online(int(ckpt[-1]), 1), agents=hi - lo,
                          seed=cfg["seed"], first_agent=lo, checkpoints=ckpt.tolist(),
                          engine="events", record_strength=True, record_learn_steps=True)
        if not np.array_equal(res.steps, ckpt):
            raise RuntimeError("checkpoints were merged")
        strength[lo:hi] = res.strength[:, :, ranks - 1]
        ls = res.learn_step[:, ranks - 1].astype(float)
        ls[ls < 0] = np.nan
        learn[lo:hi] = ls
    return quanta.p, ckpt, strength, learn


def half_times(ckpt: np.ndarray, mean_curves: np.ndarray) -> np.ndarray:
    """Sample count at which each mean strength curve (C, R) first reaches ½."""
    return np.array([crossing(ckpt, mean_curves[:, r], 0.5) for r in range(mean_curves.shape[1])])


def slope(logp: np.ndarray, logt: np.ndarray) -> float:
    ok = np.isfinite(logt)
    return float(np.polyfit(logp[ok], logt[ok], 1)[0])


# ------------------------------------------------------------------------- (c–e) exponents


def k_correct(loss, x, n_quanta: int, s_tail: float):
    """K = ∞ loss and scale: L_∞ = (H_K L + (1 − s_tail)(ζ − H_K))/ζ at x ζ/H_K."""
    z, h = S.zeta(ALPHA), S.partial_sum(n_quanta, ALPHA)
    return (h * np.asarray(loss, float) + (1.0 - s_tail) * (z - h)) / z, np.asarray(x) * z / h


def steps_run(cfg: dict):
    quanta = sq.Quanta(cfg["steps_quanta"], alpha=ALPHA)
    ckpt = log_ints(1, cfg["steps_max"], 5)
    res = sq.simulate(quanta, learner(), sq.Online(int(ckpt[-1]), 1),
                      agents=cfg["steps_agents"], seed=cfg["seed"] + 1,
                      checkpoints=ckpt.tolist(), engine="events")
    closed = dt.logistic_expected_loss(res.samples.astype(float), quanta.p, eta=ETA, s0=S0,
                                       counts="poisson")
    return quanta, res, closed


def data_run(cfg: dict):
    quanta = sq.Quanta(cfg["data_quanta"], alpha=ALPHA)
    sizes = log_ints(10, cfg["data_max"], cfg["data_per_decade"])
    loss = np.empty((cfg["data_agents"], sizes.size))
    learned = np.empty_like(loss)
    for j, size in enumerate(sizes):
        data = sq.Dataset(size=int(size), epochs=EPOCHS, batch_size=1)
        res = sq.simulate(quanta, learner(), data, agents=cfg["data_agents"],
                          seed=cfg["seed"] + 100 + j, checkpoints=[data.total_steps],
                          engine="exact")
        loss[:, j] = res.loss[:, -1]
        learned[:, j] = res.learned[:, -1]
    closed = np.array([dt.logistic_dataset_expected_loss(EPOCHS, int(d), quanta.p, eta=ETA,
                                                         s0=S0) for d in sizes])
    return quanta, sizes, loss, learned, closed


def capacity_run(cfg: dict):
    quanta = sq.Quanta(cfg["cap_quanta"], alpha=ALPHA)
    caps = log_ints(1, cfg["cap_quanta"] // 10, cfg["cap_per_decade"])
    reps = cfg["cap_replicates"]
    half = int(dt.logistic_half_count(ETA, S0))
    horizon = int(200 * half / float(quanta.p.min()))  # every quantum saturated or capped
    res = sq.simulate(quanta, learner(capacity=S.replicate_grid(caps, reps)),
                      sq.Online(horizon, 1), agents=caps.size * reps, seed=cfg["seed"] + 2,
                      checkpoints=[horizon], engine="events")
    loss = S.by_value(res.loss[:, -1], caps.size, reps)  # (reps, caps)
    return quanta, caps, loss, horizon


def z_squared(sim: np.ndarray, expected: np.ndarray) -> float:
    """Mean of z² = ((mean − expected)/SEM)² over the points where agents differ: ≈ 1 when
    simulation and closed form agree (a pooled check, less sensitive than max |z| to the
    noisy SEM of a handful of agents)."""
    err = sem(sim)
    ok = err > 1e-12 * np.abs(sim.mean(0)).clip(1e-300)
    return float(np.mean(((sim.mean(0) - np.asarray(expected)) / np.where(ok, err, 1.0))[ok]
                         ** 2))


def fit_entry(fit, theory: float) -> dict:
    rec = S.fit_record(fit, theory)
    rec["nam_reported"] = None
    return rec


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = config_for(args.quick)
    cfg.update({"alpha": ALPHA, "eta": ETA, "s0": S0, "acquisition": "logistic",
                "epochs": EPOCHS, "batch_size": 1,
                "engines": {"strength": "events", "steps": "events", "data": "exact",
                            "parameters": "events"}})
    exp = Experiment(NAME, args, cfg)
    rng = np.random.default_rng(cfg["seed"])
    theory_exp = dt.logistic_exponents(ALPHA)
    half = int(dt.logistic_half_count(ETA, S0))
    s_cap = float(dt.logistic_strength(half - 1, ETA, S0))

    # (a, b) strength curves and emergence times
    ranks = np.unique(np.round(np.geomspace(1, cfg["curve_quanta"], cfg["n_ranks"])).astype(int))
    p_all, ckpt, strength, learn = strength_curves(cfg, ranks)
    p = p_all[ranks - 1]
    mean = strength.mean(0)
    err = sem(strength)
    t_half = half_times(ckpt, mean)
    logp = np.log10(p)
    fitted = slope(logp, np.log10(t_half))
    counts = resample_counts(rng, cfg["n_boot"], strength.shape[0])
    flat = strength.reshape(strength.shape[0], -1)
    boot = []
    for w in counts:
        m = (w @ flat / w.sum()).reshape(mean.shape)
        boot.append(slope(logp, np.log10(half_times(ckpt, m))))
    lo, hi = percentile_ci(np.array(boot))
    mf_half = dt.logistic_emergence_time(p_all, ETA, S0)[ranks - 1]
    exact_mean = dt.logistic_mean_strength(ckpt.astype(float), p_all, ETA, S0,
                                           counts="poisson")[:, ranks - 1]
    exact_half = half_times(ckpt, exact_mean)
    # z-scores in the transition (closed form in [0.02, 0.98]): near saturation E[1 − s] is
    # dominated by rare agents with few exposures, a heavy tail that a few hundred agents
    # under-sample (their mean deficit sits below the expectation with a too-small SEM)
    ok = (err > 0) & (exact_mean > 0.02) & (exact_mean < 0.98)
    z = np.abs(mean - exact_mean)[ok] / err[ok]
    med_learn = np.nanmedian(learn, axis=0)
    emergence = {
        "ranks": ranks, "p": p, "t_half_sim": t_half, "t_half_mean_field": mf_half,
        "t_half_closed_form": exact_half, "median_agent_learn_step": med_learn,
        "slope": fitted, "slope_ci95": [float(lo), float(hi)], "slope_theory": -1.0,
        "ci_contains_theory": bool(lo <= -1.0 <= hi),
        "slope_median_agent_learn_step": slope(logp, np.log10(med_learn)),
        "p_range_decades": float(logp.max() - logp.min()),
        "ratio_sim_to_mean_field": t_half / mf_half,
        "strength_vs_closed_form_max_abs_z": float(z.max()),
        "strength_vs_mean_field_max_abs_dev": float(np.abs(
            mean - dt.logistic_mean_field(ckpt.astype(float), p_all, ETA, S0)[:, ranks - 1]
        ).max()),
        "learned_mark_count_c_half": half,
    }
    print(f"emergence slope {fitted:.4f} [{lo:.4f}, {hi:.4f}] over {logp.max() - logp.min():.2f}"
          f" decades of p; max |z| strength vs closed form {z.max():.2f}")

    # (c) steps
    q_s, res_s, closed_s = steps_run(cfg)
    x_s = res_s.samples.astype(float)
    loss_inf, x_inf = k_correct(res_s.loss, x_s, q_s.n_quanta, S0)
    closed_inf, _ = k_correct(closed_s, x_s, q_s.n_quanta, S0)
    learned = res_s.learned_mean
    window = (learned >= cfg["fit_learned_min"]) & (learned <= q_s.n_quanta / 10)
    rng_x = (float(x_inf[window].min()), float(x_inf[window].max()))
    fit_s = fit_power_law(x_inf, loss_inf, x_range=rng_x, n_boot=cfg["fit_n_boot"], seed=1)
    asym_s = dt.logistic_step_loss_asymptote(x_inf, ALPHA, eta=ETA, s0=S0)
    steps_z = S.max_abs_z(res_s.loss, closed_s)
    steps_z2 = z_squared(res_s.loss, closed_s)

    # (d) data
    q_d, sizes, loss_d, learned_d, closed_d = data_run(cfg)
    loss_d_inf, d_inf = k_correct(loss_d, sizes, q_d.n_quanta, S0)
    closed_d_inf, _ = k_correct(closed_d, sizes, q_d.n_quanta, S0)
    lm = learned_d.mean(0)
    window = (lm >= cfg["fit_learned_min"]) & (lm <= q_d.n_quanta / 10)
    rng_d = (float(d_inf[window].min()), float(d_inf[window].max()))
    fit_d = fit_power_law(d_inf, loss_d_inf, x_range=rng_d, n_boot=cfg["fit_n_boot"], seed=2)
    data_z = S.max_abs_z(loss_d, closed_d)
    data_z2 = z_squared(loss_d, closed_d)

    # (e) parameters
    q_c, caps, loss_c, horizon = capacity_run(cfg)
    loss_c_inf, _ = k_correct(loss_c, caps, q_c.n_quanta, s_cap)
    fit_c = fit_power_law(caps.astype(float), loss_c_inf,
                          x_range=(cfg["fit_capacity_min"], q_c.n_quanta / 10),
                          n_boot=cfg["fit_n_boot"], seed=3)
    ratio = S.reject_topn_ratio(ALPHA, float(half))
    cap_fine = np.geomspace(1, caps[-1], 60)
    cap_theory = (1 - s_cap) * ratio * S.asymptotic_top_n(cap_fine, ALPHA)

    exponents = {}
    for key, fit in (("steps", fit_s), ("data", fit_d), ("parameters", fit_c)):
        rec = fit_entry(fit, theory_exp[key])
        rec["nam_reported"] = NAM_REPORTED[key]
        exponents[key] = rec
    exponents["compute_theory"] = theory_exp["compute"]
    results = {
        "emergence": emergence,
        "strength_curves": {"steps": ckpt, "mean": mean, "sem": err, "ranks": ranks},
        "exponents": exponents,
        "nam_et_al_reported": NAM_REPORTED,
        "steps": {"x_infinite_k": x_inf, "loss_infinite_k": loss_inf.mean(0),
                  "sem": sem(loss_inf), "closed_form_infinite_k": closed_inf,
                  "asymptote": asym_s, "learned_mean": learned,
                  "max_abs_z_vs_closed_form": steps_z, "mean_z2_vs_closed_form": steps_z2},
        "data": {"sizes": sizes, "x_infinite_k": d_inf, "loss_infinite_k": loss_d_inf.mean(0),
                 "sem": sem(loss_d_inf), "closed_form_infinite_k": closed_d_inf,
                 "learned_mean": lm, "max_abs_z_vs_closed_form": data_z,
                 "mean_z2_vs_closed_form": data_z2},
        "parameters": {"capacities": caps, "loss_infinite_k": loss_c_inf.mean(0),
                       "sem": sem(loss_c_inf), "horizon_samples": horizon,
                       "unslotted_strength": s_cap, "reject_topn_ratio": ratio},
    }
    for key, rec in exponents.items():
        if isinstance(rec, dict):
            print(f"{key:10s} fitted {rec['fitted']:.4f} [{rec['ci95'][0]:.4f}, "
                  f"{rec['ci95'][1]:.4f}] theory {rec['theory']:.4f}")
    print(f"max |z| vs closed form: steps {steps_z:.2f}, data {data_z:.2f}; mean z²: steps "
          f"{steps_z2:.2f}, data {data_z2:.2f}")

    fig = figure(results, cfg, p_all, s_cap, ratio, cap_fine, cap_theory, fit_s, fit_d, fit_c)
    exp.save(fig, results)
    return results


def figure(results, cfg, p_all, s_cap, ratio, cap_fine, cap_theory, fit_s, fit_d, fit_c):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    plots.use_style()
    fig, axes = plt.subplots(2, 3, figsize=(7.0, 4.9), gridspec_kw={"hspace": 0.55,
                                                                    "wspace": 0.38})
    em = results["emergence"]
    sc = results["strength_curves"]
    ckpt = np.asarray(sc["steps"], float)
    ranks = np.asarray(sc["ranks"])
    ax = axes[0, 0]
    t_dense = np.geomspace(1, ckpt[-1], 300)
    shown = [0, len(ranks) // 3, 2 * len(ranks) // 3, len(ranks) - 1]
    for j, r in enumerate(shown):
        color = plots.PALETTE[j]
        plots.band(ax, ckpt, sc["mean"][:, r], sc["sem"][:, r], color=color,
                   label=f"k = {ranks[r]}")
        mf = dt.logistic_mean_field(t_dense, p_all, ETA, S0)[:, ranks[r] - 1]
        plots.theory_line(ax, t_dense, mf, color=color, label=None)
    ax.axhline(0.5, color="0.6", lw=0.6)
    ax.plot([], [], color="black", ls="--", lw=1.0, label="mean field")
    ax.set_xscale("log")
    ax.set_xlim(0.7, 1e9)
    ax.set_xlabel("online samples t")
    ax.set_ylabel(r"strength $s_k$")
    ax.set_title("(a) per-quantum strength", loc="left")
    ax.legend(fontsize=5.5, loc="center right")

    ax = axes[0, 1]
    p = np.asarray(em["p"])
    ax.plot(p, em["t_half_sim"], "o", color=plots.PALETTE[0], ms=3,
            label=r"mean strength = ½")
    ax.plot(p, em["median_agent_learn_step"], "s", mfc="none", color=plots.PALETTE[1], ms=3,
            label="median agent: s ≥ ½")
    plots.theory_line(ax, p, em["t_half_mean_field"], label=r"$\ln(1/s_0-1)/(\eta p_k)$")
    lo, hi = em["slope_ci95"]
    ax.text(0.97, 0.97, f"slope {em['slope']:.3f}\n[{lo:.3f}, {hi:.3f}]",
            transform=ax.transAxes, ha="right", va="top", fontsize=6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"use frequency $p_k$")
    ax.set_ylabel(r"$t_{1/2}$ (samples)")
    ax.set_title("(b) emergence time ∝ 1/p", loc="left")
    ax.legend(fontsize=5.5, loc="lower left")

    exps = results["exponents"]
    panels = [
        (axes[0, 2], results["steps"]["x_infinite_k"], results["steps"],
         results["steps"]["asymptote"], "online samples S (K = ∞)", fit_s, "steps",
         "(c) steps; dashed: asymptote"),
        (axes[1, 0], results["data"]["x_infinite_k"], results["data"],
         results["data"]["closed_form_infinite_k"], f"training-set size D ({EPOCHS} epochs)",
         fit_d, "data", "(d) data; dashed: closed form"),
        (axes[1, 1], results["parameters"]["capacities"], results["parameters"], None,
         "capacity n (quanta)", fit_c, "parameters", "(e) parameters; dashed: theory"),
    ]
    for ax, x, rec, th, xlabel, fit, key, title in panels:
        x = np.asarray(x, float)
        plots.band(ax, x, np.asarray(rec["loss_infinite_k"]), np.asarray(rec["sem"]),
                   color=plots.PALETTE[0], marker="o", ms=2, label="simulation")
        if th is not None:
            plots.theory_line(ax, x, th, label=None)
        else:
            plots.theory_line(ax, cap_fine, cap_theory, label=None)
        xf = np.geomspace(*fit.x_range, 20)
        ax.plot(xf, fit.predict(xf) * 1.6, color=plots.PALETTE[1], lw=1.0,
                label=f"fit ×1.6: {exps[key]['fitted']:.3f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss (bits per sample)")
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_title(title, loc="left")
        ax.legend(fontsize=5.5, loc="lower left")

    ax = axes[1, 2]
    ax.axis("off")
    lines = ["loss exponents (95 % CI)", "",
             "          fitted               theory  Nam*"]
    for key in ("steps", "data", "parameters"):
        r = exps[key]
        label = key.replace("parameters", "params")
        lines.append(f"{label:6s} {r['fitted']:.3f} [{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
                     f"  {r['theory']:.3f}  {r['nam_reported']:.3f}")
    lines += ["", f"emergence slope {em['slope']:.3f}",
              f"  [{em['slope_ci95'][0]:.3f}, {em['slope_ci95'][1]:.3f}] (theory −1)",
              f"  over {em['p_range_decades']:.1f} decades of p", "",
              f"α = {ALPHA}, η = {ETA}, s0 = {S0}",
              "* Nam et al. 2024 as transcribed;", "  not verified from the paper text"]
    ax.text(0.0, 1.0, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=6,
            family="monospace")
    return fig


if __name__ == "__main__":
    main()
