"""Calibrate the quanta simulator on networks trained on multitask sparse parity.

Networks (numpy/numba MLPs, AdamW lr 1e-3, batch B) are trained online at several widths
and multi-epoch on several dataset sizes (early stopping on held-out loss). From them:
the step law τ(p) = A p^−γ (steps ∝ p^−(1+γ)) with its noise, the parameters per
quantum C, and the data threshold τ^D(p) = A_D p^−γ_D are fitted with bootstrap 95 %
intervals (simquanta.sparse_parity.calibrate). The calibrated simulator is then run on
the same grid and shown beside the networks: per-subtask loss heatmaps over steps,
width and dataset size, and mean-loss curves, with the goodness of fit printed.

Transfer study (``results.transfer``): six more settings, each changing one field of the
base (n ∈ {16, 64} task bits, n_tasks ∈ {64, 128}, B ∈ {500, 2000}; widths 8–256, 2 seeds;
dataset runs for the n settings), are calibrated on their own — step law, capacity per
parameter and per hidden neuron, the width speed law in neurons, the data threshold — and
each quantity gets a log-linear transfer law with CIs (simquanta.sparse_parity.transfer);
the capacity unit is the one whose law is closest to constant. ``results.partial_learning``
compares the threshold rule with the logistic family on the base networks' per-subtask
curves (leave-one-seed-out RMSE per width; simquanta.sparse_parity.partial).

Full mode: n_tasks = 32, n = 32, k = 3, α = 0.4; widths 8–256 online for 2·10^4 steps
of B = 1000 (3 seeds), width 128 on D = 5·10^3 … 5·10^5 (2 seeds), plus the transfer
study: 140 networks, ≈ 17 min on one core (one worker process, one BLAS thread: the
machine is shared). Quick mode: tiny sizes and a two-setting transfer study.
"""

from __future__ import annotations

import os

# One BLAS thread per process: the two training workers then use the two cores without
# oversubscribing them (must be set before numpy loads OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import math  # noqa: E402
import multiprocessing  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simquanta import plots  # noqa: E402
from simquanta.analysis.stats import sem  # noqa: E402
from simquanta.files import atomic_path  # noqa: E402
from simquanta.sparse_parity import SparseParityTask, TrainingLog, n_params, train  # noqa: E402
from simquanta.sparse_parity.calibrate import (  # noqa: E402
    CONVERGED_BITS,
    convergence_intervals,
    fit_capacity,
    fit_capacity_power,
    fit_data_threshold,
    fit_step_law,
    learned_count,
    simulate_dataset_learned,
    simulate_online_learned,
    step_slowdown,
)
from simquanta.sparse_parity.mlp import log_spaced_steps  # noqa: E402
from simquanta.sparse_parity.partial import compare_families  # noqa: E402
from simquanta.sparse_parity.speed import fit_speed_law  # noqa: E402
from simquanta.sparse_parity.transfer import choose_constant, fit_transfer_law  # noqa: E402

from _common import Experiment, parse_args  # noqa: E402

NAME = "sparse_parity_calibration"

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {
        "n_tasks": 32, "n_bits": 32, "k": 3, "alpha": 0.4, "offset": 0.0, "task_seed": 0,
        "batch_size": 1000, "steps": 20_000, "log_steps": 80, "lr": 1e-3,
        "weight_decay": 0.0, "widths": [8, 16, 32, 64, 128, 256], "seeds": [0, 1, 2],
        "step_law_widths": [256], "data_width": 128,
        "dataset_sizes": [5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000],
        "data_seeds": [0, 1], "patience": 20, "min_steps": 4000, "test_points": 8000,
        "test_per_task": 400, "test_seed": 12345, "sim_agents": 40, "sim_seed": 7,
        "n_boot": 300, "workers": 1,
        # Transfer study: one setting field changed at a time from the base above; the
        # base's own runs are the calibration runs (seeds 0, 1, 2).
        "transfer": {
            "vary": {"n_bits": [16, 64], "n_tasks": [64, 128], "batch_size": [500, 2000]},
            "seeds": [0, 1], "test_per_task": 200, "data_vary": "n_bits", "data_seeds": [0],
            "n_boot": 200,
        },
    },
    "quick": {
        "n_tasks": 8, "n_bits": 12, "k": 3, "alpha": 0.4, "offset": 0.0, "task_seed": 0,
        "batch_size": 500, "steps": 3000, "log_steps": 30, "lr": 1e-3,
        "weight_decay": 0.0, "widths": [16, 64], "seeds": [0, 1],
        "step_law_widths": [64], "data_width": 64, "dataset_sizes": [1000, 3000, 30_000],
        "data_seeds": [0], "patience": 10, "min_steps": 1500, "test_points": 2000,
        "test_per_task": 100, "test_seed": 12345, "sim_agents": 8, "sim_seed": 7,
        "n_boot": 50, "workers": 1,
        "transfer": {
            "vary": {"n_bits": [16], "batch_size": [250]}, "seeds": [0, 1],
            "test_per_task": 100, "data_vary": "n_bits", "data_seeds": [0], "n_boot": 30,
        },
    },
}


def make_task(cfg: dict[str, Any]) -> SparseParityTask:
    return SparseParityTask(cfg["n_tasks"], cfg["n_bits"], cfg["k"], cfg["alpha"],
                            cfg["offset"], cfg["task_seed"])


def transfer_settings(cfg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The transfer study's settings: name "field=value" → the config with that one field
    changed (the base setting, "base", is the calibration config itself)."""
    out = {"base": cfg}
    for field, values in cfg["transfer"]["vary"].items():
        for value in values:
            out[f"{field}={value}"] = {**cfg, field: value,
                                       "test_per_task": cfg["transfer"]["test_per_task"]}
    return out


def run_job(cfg: dict[str, Any], job: tuple[str, int, int, int | None]) -> TrainingLog:
    """One training run: ("online" | "data", width, seed, dataset size or None); a kind
    "online:<setting>" or "data:<setting>" trains in that transfer setting."""
    kind, width, seed, size = job
    kind, _, setting = kind.partition(":")
    if setting:
        cfg = transfer_settings(cfg)[setting]
    task = make_task(cfg)
    test = task.test_set(cfg["test_points"], cfg["test_per_task"],
                         random_state=cfg["test_seed"])
    return train(task, width, steps=cfg["steps"], batch_size=cfg["batch_size"],
                 dataset_size=size, lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                 seed=seed if kind == "online" else 1000 + seed,
                 log_steps=log_spaced_steps(cfg["steps"], cfg["log_steps"]), test=test,
                 patience=cfg["patience"] if kind == "data" else None,
                 min_steps=cfg["min_steps"])


def run_all(cfg: dict[str, Any]) -> dict[tuple, TrainingLog]:
    jobs = [("online", w, s, None) for w in cfg["widths"] for s in cfg["seeds"]]
    jobs += [("data", cfg["data_width"], s, d) for d in cfg["dataset_sizes"]
             for s in cfg["data_seeds"]]
    tr = cfg["transfer"]
    for name in list(transfer_settings(cfg))[1:]:
        jobs += [(f"online:{name}", w, s, None) for w in cfg["widths"] for s in tr["seeds"]]
        if name.startswith(tr["data_vary"] + "="):
            jobs += [(f"data:{name}", cfg["data_width"], s, d) for d in cfg["dataset_sizes"]
                     for s in tr["data_seeds"]]
    # Widest (slowest) first so the two workers finish together.
    jobs.sort(key=lambda j: -j[1])
    if cfg["workers"] <= 1:
        return {job: run_job(cfg, job) for job in jobs}
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=cfg["workers"], mp_context=ctx) as pool:
        futures = {job: pool.submit(run_job, cfg, job) for job in jobs}
        return {job: fut.result() for job, fut in futures.items()}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    exp = Experiment(NAME, args, cfg)
    task = make_task(cfg)
    p = task.p
    n_tasks, steps, batch = cfg["n_tasks"], cfg["steps"], cfg["batch_size"]
    widths = cfg["widths"]
    sizes = cfg["dataset_sizes"]
    n_par = {w: n_params(n_tasks, cfg["n_bits"], w) for w in widths}

    t0 = time.perf_counter()
    cache = os.environ.get("SIMQUANTA_SPARSE_PARITY_CACHE")  # dev aid: reuse trained runs
    if cache and Path(cache).exists():
        with open(cache, "rb") as fh:
            logs, train_wall = pickle.load(fh)
    else:
        logs = run_all(cfg)
        train_wall = time.perf_counter() - t0
        if cache:
            with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
                pickle.dump((logs, train_wall), fh)
    grid = log_spaced_steps(steps, cfg["log_steps"])

    # ---- network observations ---------------------------------------------------
    online = {w: [logs[("online", w, s, None)] for s in cfg["seeds"]] for w in widths}
    sub = {w: np.stack([lg.subtask_loss for lg in online[w]]) for w in widths}  # (S,T,K)
    mean_loss = {w: np.stack([lg.test_loss for lg in online[w]]) for w in widths}  # (S,T)
    intervals = {w: convergence_intervals(grid, sub[w]) for w in widths}
    counts = {w: learned_count(sub[w]) for w in widths}
    data_logs = {d: [logs[("data", cfg["data_width"], s, d)] for s in cfg["data_seeds"]]
                 for d in sizes}
    best_sub = np.stack([[lg.subtask_loss[lg.best] for lg in data_logs[d]] for d in sizes])
    best_mean = np.array([[lg.test_loss[lg.best] for lg in data_logs[d]] for d in sizes])
    data_learned = best_sub < CONVERGED_BITS  # (nD, S, K)

    # ---- fits ---------------------------------------------------------------------
    lo = np.concatenate([intervals[w][0] for w in cfg["step_law_widths"]])
    hi = np.concatenate([intervals[w][1] for w in cfg["step_law_widths"]])
    law = fit_step_law(p, lo, hi, batch, noise="auto", n_boot=cfg["n_boot"], seed=1)
    # Speed by width on the three most frequent subtasks, which every width but the
    # narrowest can hold: rarer ones would mix capacity blocking into the speed.
    top = slice(0, min(3, n_tasks))
    slowdown = {w: step_slowdown(law, p[top], intervals[w][0][:, top], intervals[w][1][:, top])
                if np.isfinite(intervals[w][1][:, top]).any() else math.inf for w in widths}
    cap = fit_capacity([n_par[w] for w in widths for _ in cfg["seeds"]],
                       np.concatenate([counts[w] for w in widths]), n_boot=cfg["n_boot"],
                       seed=2)
    # Data cells that are not time-limited: subtasks the online networks of the same
    # width learned within the step budget in at least half of the seeds.
    in_time = np.isfinite(intervals[cfg["data_width"]][1]).mean(axis=0) >= 0.5
    n_d, n_s = len(sizes), len(cfg["data_seeds"])
    include = np.broadcast_to(in_time, (n_d * n_s, n_tasks))
    d_runs = np.repeat(sizes, n_s)
    try:
        data_fit = fit_data_threshold(d_runs, p, data_learned.reshape(n_d * n_s, n_tasks),
                                      include, n_boot=cfg["n_boot"], seed=3)
        data_error = None
    except ValueError as err:  # quick mode can be too small to bracket the threshold
        data_fit, data_error = None, str(err)

    # ---- calibrated simulation on the same grid -------------------------------------
    agents, sim_seed = cfg["sim_agents"], cfg["sim_seed"]
    caps = [n_par[w] / cap.C for w in widths]
    sim_mask = simulate_online_learned(law, p, caps, steps, batch, grid[1:], agents=agents,
                                       seed=sim_seed)  # (A, W, T-1, K)
    sim_unlearned = 1.0 - sim_mask  # expected loss in bits per subtask (b = 1, a = 0)
    sim_loss = np.concatenate([np.ones((agents, len(widths), 1)),
                               sim_unlearned @ p], axis=2)  # (A, W, T), step 0 = 1 bit
    sim_counts = sim_mask[:, :, -1, :].sum(axis=-1)  # (A, W)
    if data_fit is not None:
        sim_data = simulate_dataset_learned(data_fit, law, p, sizes, n_par[cfg["data_width"]]
                                            / cap.C, steps, batch, agents=agents,
                                            seed=sim_seed)  # (A, nD, K)
    else:
        sim_data = None

    # ---- goodness of fit --------------------------------------------------------------
    gof: dict[str, Any] = {}
    x = -np.log(np.broadcast_to(p, lo.shape))
    ok = np.isfinite(hi)
    mid = np.log(np.where(lo > 0, np.sqrt(lo * np.where(ok, hi, 1.0)), hi))
    pred = law.log10_A * math.log(10) - math.log(batch) + (1 + law.gamma) * x
    if law.noise == "geometric":
        pred = pred - np.euler_gamma  # E[log Exp(1)]
    resid = (mid - pred)[ok]
    gof["step_law_r2_log_steps"] = float(1 - resid.var() / mid[ok].var()) if ok.sum() > 1 \
        else math.nan
    gof["step_law_noise_models"] = law.alternatives
    net_curve = {w: mean_loss[w].mean(axis=0) for w in widths}
    rmse = {w: float(np.sqrt(np.mean((net_curve[w][1:] - sim_loss[:, i, 1:].mean(0)) ** 2)))
            for i, w in enumerate(widths)}
    gof["mean_loss_rmse_bits_by_width"] = rmse
    gof["mean_loss_rmse_bits"] = float(np.sqrt(np.mean(np.square(list(rmse.values())))))
    net_final = np.stack([sub[w][:, -1, :] < CONVERGED_BITS for w in widths], axis=1)  # S,W,K
    sim_p = sim_mask[:, :, -1, :].mean(axis=0)  # (W, K)
    gof["width_pattern_accuracy"] = float(np.mean((sim_p[None] > 0.5) == net_final))
    gof["width_pattern_brier"] = float(np.mean((sim_p[None] - net_final) ** 2))
    gof["learned_count_rmse"] = float(np.sqrt(np.mean(
        (np.array([counts[w].mean() for w in widths]) - sim_counts.mean(axis=0)) ** 2)))
    if sim_data is not None:
        sim_dp = sim_data.mean(axis=0)  # (nD, K)
        gof["data_pattern_accuracy"] = float(np.mean((sim_dp[:, None] > 0.5) == data_learned))
        gof["data_pattern_brier"] = float(np.mean((sim_dp[:, None] - data_learned) ** 2))
        sim_best = (1.0 - sim_data) @ p  # (A, nD)
        gof["data_best_loss_rmse_bits"] = float(np.sqrt(np.mean(
            (best_mean.mean(axis=1) - sim_best.mean(axis=0)) ** 2)))

    calibration = {
        "task": {k: cfg[k] for k in ("n_tasks", "n_bits", "k", "alpha", "offset")},
        "batch_size": batch,
        "threshold_bits": CONVERGED_BITS,
        "gamma": law.gamma, "gamma_ci": law.gamma_ci, "gamma_se": law.gamma_se,
        "log10_A": law.log10_A, "log10_A_ci": law.log10_A_ci, "log10_A_se": law.log10_A_se,
        "sigma": law.sigma, "sigma_ci": law.sigma_ci, "sigma_se": law.sigma_se,
        "noise": law.noise,
        "tau_at_p1": float(law.thresholds(p[:1])[0]),
        "C": cap.C, "C_ci": cap.C_ci, "log10_C_se": cap.log10_C_se, "n_time": cap.n_time,
        "data": None if data_fit is None else data_fit.to_dict(),
        "data_error": data_error,
        "uncertainty": {"step_law": law.uncertainty, "capacity": cap.uncertainty,
                        "data": None if data_fit is None else data_fit.uncertainty},
        "meaning": "exposures to learn a subtask of frequency p: A p^-gamma (noise "
                   "lognormal sigma or geometric); steps ~ A p^-gamma / (B p); capacity "
                   "N/C quanta; examples needed in a fixed training set A_D p^-gamma_D",
    }
    sps = {w: float(np.mean([lg.steps_per_second for lg in online[w]])) for w in widths}
    results = {
        "calibration": calibration,
        "step_law": law.to_dict(),
        "capacity": cap.to_dict(),
        "goodness_of_fit": gof,
        "findings": {
            "step_slowdown_by_width": slowdown,
            "note": "slowdown = convergence steps of the 3 most frequent subtasks relative "
                    "to the step law fitted on the widest networks (max. likelihood, "
                    "censored); the simulator has no width-dependent speed",
        },
        "networks": {
            "widths": widths, "n_params": [n_par[w] for w in widths],
            "learned_count": {w: counts[w] for w in widths},
            "convergence_lo": {w: intervals[w][0] for w in widths},
            "convergence_hi": {w: intervals[w][1] for w in widths},
            "log_steps": grid, "mean_loss": {w: np.round(net_curve[w], 5) for w in widths},
            "dataset_sizes": sizes, "data_best_mean_loss": best_mean,
            "data_best_step": [[int(lg.steps[lg.best]) for lg in data_logs[d]] for d in sizes],
            "data_learned": data_learned.astype(int),
            "steps_per_second": sps, "training_wall_seconds": train_wall,
        },
        "simulation": {
            "agents": agents, "mean_loss": {w: np.round(sim_loss[:, i].mean(0), 5)
                                            for i, w in enumerate(widths)},
            "learned_count_mean": {w: float(sim_counts[:, i].mean())
                                   for i, w in enumerate(widths)},
        },
    }

    results["transfer"] = transfer_study(cfg, logs, grid)
    results["partial_learning"] = partial_learning(cfg, p, grid, sub, counts)

    fig = make_figure(cfg, p, grid, sub, net_curve, sim_unlearned, sim_loss, counts,
                      sim_counts, best_sub, best_mean, sim_data, law, cap, intervals,
                      results["transfer"])
    exp.save(fig, results)
    print_summary(cfg, law, cap, data_fit, data_error, gof, slowdown, sps, train_wall)
    print_transfer(results["transfer"])
    pl = results["partial_learning"]
    print("partial learning, leave-one-seed-out RMSE (bits) threshold / logistic by width: "
          + ", ".join(f"{w}: {v['mean_heldout_rmse']['threshold']:.3f} / "
                      f"{v['mean_heldout_rmse']['logistic']:.3f}"
                      for w, v in pl["by_width"].items()) + f"; better: {pl['better']}")


# ---------------------------------------------------------------- partial learning


def partial_learning(cfg: dict[str, Any], p: np.ndarray, grid: np.ndarray,
                     sub: dict[int, np.ndarray], counts: dict[int, np.ndarray]
                     ) -> dict[str, Any]:
    """Threshold rule vs logistic strength on the per-subtask loss curves, per width
    (simquanta.sparse_parity.partial): both fitted on all seeds but one, scored by RMSE
    (bits) on the left-out seed, over the subtasks the width learns (its mean learned
    count rounded up, at least 2 so that γ is defined)."""
    out = {}
    for w in cfg["widths"]:
        n = max(2, int(math.ceil(float(np.mean(counts[w])))))
        out[w] = compare_families(grid, sub[w][:, :, :n], p[:n], cfg["batch_size"]).to_dict()
    rmse = {f: float(np.mean([out[w]["mean_heldout_rmse"][f] for w in cfg["widths"]]))
            for f in ("threshold", "logistic")}
    return {"by_width": out, "mean_heldout_rmse": rmse,
            "better": min(rmse, key=rmse.get),
            "note": "leave-one-seed-out RMSE (bits) of the expected per-subtask loss; the "
                    "simulator keeps the threshold rule where it is the better family"}


# ---------------------------------------------------------------- transfer study

#: The setting fields a transfer law may depend on.
TRANSFER_FIELDS = ("n_bits", "n_tasks", "batch_size")


def _se_from(se: float, ci: tuple[float, float]) -> float:
    """A usable standard error: the bootstrap SE, but never below the half-width of the
    95 % interval / 1.96 (interval-valued fits such as C can give a bootstrap SE of 0)."""
    half = (ci[1] - ci[0]) / (2 * 1.959964)
    vals = [v for v in (se, half) if math.isfinite(v)]
    return max(vals) if vals else math.nan


def calibrate_setting(cfg: dict[str, Any], name: str, logs: dict[tuple, TrainingLog],
                      grid: np.ndarray) -> dict[str, Any]:
    """Every calibrated quantity of one transfer setting, with its SE and 95 % CI:
    step law (log10 A, γ, σ; lognormal noise, widest width), capacity per parameter and
    per neuron (all widths), speed law f(w) = (1 + n0/w)^κ in neurons (n0 in neurons),
    and, for the settings with dataset runs, the data threshold (log10 A_D, γ_D, σ_D)."""
    cs = transfer_settings(cfg)[name]
    tr = cfg["transfer"]
    n_boot = tr["n_boot"]
    p = make_task(cs).p
    widths = cs["widths"]
    prefix = "" if name == "base" else f":{name}"
    seeds = cs["seeds"] if name == "base" else tr["seeds"]
    sub = {w: np.stack([logs[(f"online{prefix}", w, s, None)].subtask_loss for s in seeds])
           for w in widths}
    iv = {w: convergence_intervals(grid, sub[w]) for w in widths}
    ref = cs["step_law_widths"]
    law = fit_step_law(p, np.concatenate([iv[w][0] for w in ref]),
                       np.concatenate([iv[w][1] for w in ref]), cs["batch_size"],
                       noise="lognormal", n_boot=n_boot, seed=1)
    counts = np.concatenate([learned_count(sub[w]) for w in widths])
    n_par = [n_params(cs["n_tasks"], cs["n_bits"], w) for w in widths]
    cap_p = fit_capacity(np.repeat(n_par, len(seeds)), counts, n_boot=n_boot, seed=2)
    cap_n = fit_capacity(np.repeat(widths, len(seeds)), counts, n_boot=n_boot, seed=2)
    speed = fit_speed_law(p, widths, n_par, {w: iv[w][0] for w in widths},
                          {w: iv[w][1] for w in widths}, cs["batch_size"],
                          reference_widths=ref, unit="neurons", n_top=3, noise="lognormal",
                          n_boot=n_boot, seed=4, law=law)
    lg = math.log10
    out: dict[str, Any] = {
        "setting": {f: cs[f] for f in TRANSFER_FIELDS}, "seeds": seeds,
        "log10_A": {"value": law.log10_A, "se": _se_from(law.log10_A_se, law.log10_A_ci),
                    "ci": law.log10_A_ci},
        "gamma": {"value": law.gamma, "se": _se_from(law.gamma_se, law.gamma_ci),
                  "ci": law.gamma_ci},
        "sigma": {"value": law.sigma, "se": _se_from(law.sigma_se, law.sigma_ci),
                  "ci": law.sigma_ci},
        "log10_C_params": {"value": lg(cap_p.C), "ci": (lg(cap_p.C_ci[0]), lg(cap_p.C_ci[1])),
                           "se": _se_from(cap_p.log10_C_se,
                                          (lg(cap_p.C_ci[0]), lg(cap_p.C_ci[1])))},
        "log10_C_neurons": {"value": lg(cap_n.C),
                            "ci": (lg(cap_n.C_ci[0]), lg(cap_n.C_ci[1])),
                            "se": _se_from(cap_n.log10_C_se,
                                           (lg(cap_n.C_ci[0]), lg(cap_n.C_ci[1])))},
        "n_time": cap_p.n_time,
        "log10_n0_neurons": {"value": lg(speed.n0),
                             "ci": (lg(speed.n0_ci[0]), lg(speed.n0_ci[1])),
                             "se": _se_from(speed.log10_n0_se,
                                            (lg(speed.n0_ci[0]), lg(speed.n0_ci[1])))},
        "kappa": {"value": speed.kappa, "se": _se_from(speed.kappa_se, speed.kappa_ci),
                  "ci": speed.kappa_ci},
        "slowdown_by_width": dict(zip(widths, speed.slowdown, strict=True)),
        "learned_count": {w: learned_count(sub[w]) for w in widths},
        "steps_per_second": {w: float(np.mean([logs[(f"online{prefix}", w, s, None)]
                                               .steps_per_second for s in seeds]))
                             for w in widths},
    }
    if name == "base" or name.startswith(tr["data_vary"] + "="):
        d_seeds = cs["data_seeds"] if name == "base" else tr["data_seeds"]
        sizes = cs["dataset_sizes"]
        best = np.stack([[logs[(f"data{prefix}", cs["data_width"], s, d)].subtask_loss[
            logs[(f"data{prefix}", cs["data_width"], s, d)].best] for s in d_seeds]
            for d in sizes])  # (nD, S, K)
        in_time = np.isfinite(iv[cs["data_width"]][1]).mean(axis=0) >= 0.5
        k = p.size
        try:
            dfit = fit_data_threshold(np.repeat(sizes, len(d_seeds)), p,
                                      (best < CONVERGED_BITS).reshape(-1, k),
                                      np.broadcast_to(in_time, (len(sizes) * len(d_seeds), k)),
                                      n_boot=n_boot, seed=3)
            out["log10_A_D"] = {"value": dfit.log10_A_D, "ci": dfit.log10_A_D_ci,
                                "se": _se_from(dfit.log10_A_D_se, dfit.log10_A_D_ci)}
            out["gamma_D"] = {"value": dfit.gamma_D, "ci": dfit.gamma_D_ci,
                              "se": _se_from(dfit.gamma_D_se, dfit.gamma_D_ci)}
            out["sigma_D"] = {"value": dfit.sigma_D, "ci": dfit.sigma_D_ci,
                              "se": _se_from(dfit.sigma_D_se, dfit.sigma_D_ci)}
        except ValueError as err:  # quick mode can be too small to bracket the threshold
            out["data_error"] = str(err)
    return out


def transfer_study(cfg: dict[str, Any], logs: dict[tuple, TrainingLog],
                   grid: np.ndarray) -> dict[str, Any]:
    """Calibrate every transfer setting, fit each quantity's transfer law
    (simquanta.sparse_parity.transfer) and choose the capacity unit that stays constant."""
    names = list(transfer_settings(cfg))
    per = {name: calibrate_setting(cfg, name, logs, grid) for name in names}
    base = {f: float(cfg[f]) for f in TRANSFER_FIELDS}
    laws, skipped = {}, {}
    for q in ("log10_A", "gamma", "sigma", "log10_C_params", "log10_C_neurons",
              "log10_n0_neurons", "kappa", "log10_A_D", "gamma_D", "sigma_D"):
        have = [n for n in names if q in per[n] and math.isfinite(per[n][q]["se"])
                and per[n][q]["se"] > 0]
        try:
            laws[q] = fit_transfer_law(q, [per[n]["setting"] for n in have],
                                       [per[n][q]["value"] for n in have],
                                       [per[n][q]["se"] for n in have], base)
        except ValueError as err:  # too few usable settings (quick mode)
            skipped[q] = str(err)
    unit, walds = choose_constant({"params": laws["log10_C_params"],
                                   "neurons": laws["log10_C_neurons"]})
    # Sublinear alternative, all settings pooled (each run capped by its setting's n_time):
    # n(w) = min(⌊(w/c)^β⌋, n_time), w in hidden neurons.
    runs = [(int(w), float(c), per[n]["n_time"]) for n in names
            for w, cs in per[n]["learned_count"].items() for c in cs]
    power = fit_capacity_power([r[0] for r in runs], [r[1] for r in runs],
                               [r[2] for r in runs], n_boot=cfg["transfer"]["n_boot"], seed=5)
    return {
        "base": base, "settings": per, "laws": {q: law.to_dict() for q, law in laws.items()},
        "laws_not_fitted": skipped, "capacity_unit": unit, "capacity_wald": walds,
        "capacity_power": power.to_dict(),
        "ref_width": int(cfg["step_law_widths"][-1]),
        "model": "q = q0 + sum_v b_v log10(x_v / x_v0) over v in (n_bits, n_tasks, "
                 "batch_size), weighted least squares with 1/se^2, covariance x "
                 "max(1, chi2/dof); 95 % CI = +-1.96 SE; one field changed per setting",
        "units": "A: exposures of a subtask at p = 1 (threshold A p^-gamma); C_params: "
                 "parameters per quantum; C_neurons: hidden neurons per quantum; n0: "
                 "neurons in f(w) = (1 + n0/w)^kappa relative to the widest width; A_D: "
                 "examples in the training set",
    }


def print_transfer(tr: dict[str, Any]) -> None:
    print("transfer study (per setting: value [95 % CI]):")
    for name, est in tr["settings"].items():
        items = [f"{q} = {est[q]['value']:.3f} [{est[q]['ci'][0]:.3f}, {est[q]['ci'][1]:.3f}]"
                 for q in ("log10_A", "gamma", "sigma", "log10_C_params", "log10_C_neurons",
                           "log10_n0_neurons", "kappa", "log10_A_D", "gamma_D") if q in est]
        print(f"  {name}: " + "; ".join(items))
    for q, law in tr["laws"].items():
        slopes = ", ".join(f"b_{f} = {law['slopes'][f]:.3f} [{law['slopes_ci'][f][0]:.3f}, "
                           f"{law['slopes_ci'][f][1]:.3f}]" for f in law["fields"])
        print(f"  law {q}: q0 = {law['intercept']:.3f} ± {law['intercept_se']:.3f}; {slopes};"
              f" chi2/dof = {law['chi2']:.1f}/{law['dof']}, Wald = {law['wald']:.1f}")
    print(f"  capacity unit (most constant): {tr['capacity_unit']}  Wald {tr['capacity_wald']}")
    pw = tr["capacity_power"]
    print(f"  sublinear capacity (pooled): n = (w/c)^beta, c = {pw['c']:.2f} "
          f"[{pw['c_ci'][0]:.2f}, {pw['c_ci'][1]:.2f}] neurons, beta = {pw['beta']:.3f} "
          f"[{pw['beta_ci'][0]:.3f}, {pw['beta_ci'][1]:.3f}], rmse {pw['rmse']:.2f} quanta")


# ------------------------------------------------------------------------- figure


def _edges(x: np.ndarray) -> np.ndarray:
    """Cell edges for pcolormesh on a log axis: geometric midpoints, padded at the ends."""
    x = np.asarray(x, dtype=float)
    if x.size == 1:
        return np.array([x[0] / 1.5, x[0] * 1.5])
    mids = np.sqrt(x[:-1] * x[1:])
    return np.concatenate([[x[0] ** 2 / mids[0]], mids, [x[-1] ** 2 / mids[-1]]])


def _log_axes(ax, x: bool = True, y: bool = True) -> None:
    """Log scales; call after plotting. Axes spanning > 1.2 decades label decades only
    (labelled minor ticks crowd); shorter ones keep matplotlib's minor labels."""
    from matplotlib.ticker import NullFormatter

    for use, axis, setter, lim in ((x, ax.xaxis, ax.set_xscale, ax.get_xlim),
                                   (y, ax.yaxis, ax.set_yscale, ax.get_ylim)):
        if use:
            setter("log")
            lo, hi = lim()
            if lo > 0 and math.log10(hi / lo) > 1.2:
                axis.set_minor_formatter(NullFormatter())


def _log_band(ax, x, mean, err, *, color, label=None, **kwargs) -> None:
    """plots.band for log axes: the lower edge is floored at mean/20, since a band through
    zero cannot be drawn on a log scale."""
    lower = np.maximum(mean - plots.Z95 * err, mean / 20)
    ax.plot(x, mean, color=color, label=label, **kwargs)
    ax.fill_between(x, lower, mean + plots.Z95 * err, color=color, alpha=0.25, lw=0)


def make_figure(cfg, p, grid, sub, net_curve, sim_unlearned, sim_loss, counts, sim_counts,
                best_sub, best_mean, sim_data, law, cap, intervals, transfer):
    import matplotlib.pyplot as plt
    from matplotlib import colors

    plots.use_style()
    widths = cfg["widths"]
    sizes = np.asarray(cfg["dataset_sizes"], dtype=float)
    n_k = cfg["n_tasks"]
    fig = plt.figure(figsize=(7.2, 10.6))
    outer = fig.add_gridspec(3, 1, height_ratios=[1.0, 1.05, 0.55], hspace=0.34, top=0.94,
                             bottom=0.06)
    top = outer[0].subgridspec(2, 4, width_ratios=[1, 1, 1, 0.05], hspace=0.6, wspace=0.3)
    norm = colors.Normalize(0.0, 1.0)
    cmap = "cividis"
    steps_x = grid[1:].astype(float)
    w_top = widths[-1]
    w_arr = np.asarray(widths, dtype=float)
    rows_y = np.arange(0.5, n_k + 1)
    panels = [
        ("network", sub[w_top][0, 1:, :], np.stack([sub[w][:, -1, :].mean(0) for w in widths]),
         best_sub.mean(axis=1)),
        ("simulation", sim_unlearned[:, -1].mean(0), sim_unlearned[:, :, -1, :].mean(0),
         None if sim_data is None else 1.0 - sim_data.mean(0)),
    ]
    mesh = None
    letters = iter("abcdefghijklmnop")
    for row, (who, by_step, by_width, by_data) in enumerate(panels):
        for col, (x, z, xlabel, title) in enumerate((
                (steps_x, by_step, f"optimizer steps (w = {w_top})",
                 f"{who}{', seed 0' if row == 0 else ''}"),
                (w_arr, by_width, f"width w (at {cfg['steps']:,} steps)", who),
                (sizes, by_data, f"training-set size D (w = {cfg['data_width']})",
                 f"{who}, best checkpoint"))):
            ax = fig.add_subplot(top[row, col])
            ax.grid(False)
            if z is None:
                ax.text(0.5, 0.5, "no data fit\n(quick mode too small)", ha="center",
                        va="center", transform=ax.transAxes)
            else:
                mesh = ax.pcolormesh(_edges(x), rows_y, z.T, norm=norm, cmap=cmap,
                                     shading="flat")
                _log_axes(ax, y=False)
                ax.set_ylim(n_k + 0.5, 0.5)
            if col == 1:
                ax.set_xticks(w_arr, [str(w) for w in widths])
                ax.xaxis.set_minor_locator(plt.NullLocator())
            ax.set_xlabel(xlabel)
            if col == 0:
                ax.set_ylabel("subtask rank i")
            ax.set_title(f"({next(letters)}) {title}", loc="left")
    cax = fig.add_subplot(top[:, 3])
    fig.colorbar(mesh, cax=cax, extend="max", label="per-subtask held-out loss (bits)")

    bottom = outer[1].subgridspec(2, 2, hspace=0.55, wspace=0.3)
    # (g) mean loss vs steps, networks (markers) and simulation (lines, 95 % bands)
    ax = fig.add_subplot(bottom[0, 0])
    show = widths if len(widths) <= 4 else [widths[1], widths[3], widths[-2], widths[-1]]
    for j, w in enumerate(show):
        i = widths.index(w)
        color = plots.PALETTE[j]
        s = sim_loss[:, i, 1:]
        _log_band(ax, steps_x, s.mean(0), sem(s), color=color, label=f"w = {w}")
        ax.plot(steps_x, net_curve[w][1:], "o", ms=2.2, color=color, mfc="none", mew=0.7)
    ax.plot([], [], "o", ms=2.5, color="0.3", mfc="none", label="networks")
    ax.plot([], [], "-", color="0.3", label="simulation")
    _log_axes(ax)
    ax.set_xlim(10, steps_x[-1] * 1.1)
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("mean held-out loss (bits)")
    ax.set_title(f"({next(letters)}) mean loss vs steps", loc="left")
    ax.legend(fontsize=5.5, ncol=2, loc="lower left")

    # (h) convergence steps vs p: the step law
    ax = fig.add_subplot(bottom[0, 1])
    fit_w = cfg["step_law_widths"]
    other = [w for w in widths if w not in fit_w]
    extra = other[-2:] if len(other) >= 2 else other
    for j, w in enumerate([*fit_w, *extra]):
        lo, hi = intervals[w]
        pb = np.broadcast_to(p, lo.shape)
        ok = np.isfinite(hi)
        jitter = np.exp(0.04 * (j - 1))  # small horizontal offset per width
        ax.scatter(pb[ok] * jitter, hi[ok], s=6, color=plots.PALETTE[j], alpha=0.75,
                   marker="o" if w in fit_w else "s",
                   label=f"w = {w}" + (" (fitted)" if w in fit_w else ""))
    pp = np.geomspace(p.min(), p.max(), 100)
    med = law.median_steps(pp)
    spread = plots.Z95 * law.sigma
    ax.fill_between(pp, med * math.exp(-spread), med * math.exp(spread), color="0.5",
                    alpha=0.2, lw=0, label="95 % prediction band")
    plots.theory_line(ax, pp, med, label=f"fit: steps ∝ p^−{1 + law.gamma:.2f}")
    ax.axhline(cfg["steps"], color="0.6", lw=0.6, ls=":")
    _log_axes(ax)
    ax.set_xlabel("subtask frequency p_i")
    ax.set_ylabel("steps to < 0.1 bits")
    ax.set_title(f"({next(letters)}) step law (unconverged: above dotted line)", loc="left")
    ax.legend(fontsize=5.5, loc="lower left")

    # (i) learned count vs N
    ax = fig.add_subplot(bottom[1, 0])
    nn_w = np.array([n_params(cfg["n_tasks"], cfg["n_bits"], w) for w in widths], float)
    cnt = np.stack([counts[w] for w in widths], axis=1).astype(float)  # (S, W)
    plots.band(ax, nn_w, sim_counts.mean(0), sem(sim_counts), color=plots.PALETTE[2],
               label="simulation")
    yerr = plots.Z95 * sem(cnt) if cnt.shape[0] > 1 else None
    ax.errorbar(nn_w, cnt.mean(0), yerr=yerr, fmt="o", ms=3, color=plots.PALETTE[0],
                capsize=2, lw=0.8, label="networks (95 % CI)")
    nn = np.geomspace(nn_w.min(), nn_w.max(), 100)
    plots.theory_line(ax, nn, np.minimum(np.floor(nn / cap.C), cap.n_time),
                      label=f"fit min(⌊N/C⌋, n_time), C = {cap.C:.0f}")
    _log_axes(ax, y=False)  # linear counts: 0 learned must be visible
    ax.set_ylim(bottom=0)
    ax.set_xlabel("parameters N")
    ax.set_ylabel("subtasks learned (max over steps)")
    ax.set_title(f"({next(letters)}) capacity", loc="left")
    ax.legend(fontsize=5.5, loc="upper left")

    # (j) best mean loss vs D
    ax = fig.add_subplot(bottom[1, 1])
    bm = best_mean
    yerr = plots.Z95 * sem(bm, axis=1) if bm.shape[1] > 1 else None
    ax.errorbar(sizes, bm.mean(1), yerr=yerr, fmt="o", ms=3, color=plots.PALETTE[0],
                capsize=2, lw=0.8, label="networks (95 % CI)")
    if sim_data is not None:
        sb = (1.0 - sim_data) @ p
        _log_band(ax, sizes, sb.mean(0), sem(sb), color=plots.PALETTE[2], label="simulation")
    _log_axes(ax)
    ax.set_xlabel("training-set size D (samples)")
    ax.set_ylabel("best held-out loss (bits)")
    ax.set_title(f"({next(letters)}) mean loss vs data (early stopping)", loc="left")
    ax.legend(fontsize=5.5, loc="lower left")
    transfer_panels(fig, outer[2], transfer, letters)
    fig.suptitle(f"Multitask sparse parity (K = {n_k}, n = {cfg['n_bits']}, k = {cfg['k']}, "
                 f"α = {cfg['alpha']}, B = {cfg['batch_size']}): networks vs calibrated "
                 "simulation", fontsize=8, y=0.985)
    return fig


def transfer_panels(fig, slot, tr, letters) -> None:
    """Per transfer setting (x, categorical): the calibrated quantity with its 95 % CI
    (markers) and the fitted transfer law's value there (dashes)."""
    from simquanta.sparse_parity.transfer import TransferLaw

    names = list(tr["settings"])
    x = np.arange(len(names))
    panels = (("log10_A", "log10 A (exposures at p = 1)"),
              ("gamma", "γ  (steps ∝ p^−(1+γ))"),
              ("capacity", "log10 C / C_base"))
    row = slot.subgridspec(1, 3, wspace=0.35)
    for j, (q, ylabel) in enumerate(panels):
        ax = fig.add_subplot(row[0, j])
        series = ([("log10_C_neurons", "per neuron", plots.PALETTE[0], -0.12),
                   ("log10_C_params", "per parameter", plots.PALETTE[1], 0.12)]
                  if q == "capacity" else [(q, "calibrated (95 % CI)", plots.PALETTE[0], 0.0)])
        for key, label, color, dx in series:
            est = [tr["settings"][n][key] for n in names]
            ref = est[0]["value"] if q == "capacity" else 0.0
            v = np.array([e["value"] for e in est]) - ref
            lo = np.array([e["ci"][0] for e in est]) - ref
            hi = np.array([e["ci"][1] for e in est]) - ref
            ax.errorbar(x + dx, v, yerr=[np.maximum(v - lo, 0), np.maximum(hi - v, 0)],
                        fmt="o", ms=3, capsize=2, lw=0.8, color=color, label=label)
            if key in tr["laws"]:  # (quick mode may lack the settings to fit a law)
                law = TransferLaw.from_dict(tr["laws"][key])
                fit = np.array([law.predict(tr["settings"][n]["setting"])[0]
                                for n in names]) - ref
                ax.plot(x + dx, fit, "_", ms=9, mew=1.2, color="black",
                        label="transfer law" if dx >= 0 else None)
        ax.set_xticks(x, [n.replace("batch_size", "B").replace("n_tasks", "K")
                          .replace("n_bits", "n") for n in names], rotation=45, ha="right",
                      fontsize=5.5)
        ax.set_ylabel(ylabel)
        title = {"log10_A": "step-law prefactor", "gamma": "step-law exponent",
                 "capacity": f"capacity (constant: per {tr['capacity_unit'].rstrip('s')})"}[q]
        ax.set_title(f"({next(letters)}) {title}", loc="left", fontsize=7)
        if j != 1:
            ax.legend(fontsize=5.5, loc="best")


def print_summary(cfg, law, cap, data_fit, data_error, gof, slowdown, sps, train_wall):
    def ci(pair):
        return f"[{pair[0]:.3g}, {pair[1]:.3g}]"

    print(f"networks: {train_wall:.0f} s of training; steps/s by width: "
          + ", ".join(f"{w}: {v:.0f}" for w, v in sps.items()))
    print(f"step law ({law.noise} noise, {law.n_obs} obs, {law.n_censored} censored): "
          f"gamma = {law.gamma:.3f} {ci(law.gamma_ci)} (steps ∝ p^-{1 + law.gamma:.3f}), "
          f"log10 A = {law.log10_A:.3f} {ci(law.log10_A_ci)}, sigma = {law.sigma:.3f} "
          f"{ci(law.sigma_ci)}  [{law.uncertainty}]")
    for name, alt in law.alternatives.items():
        print(f"  noise {name}: log L = {alt['log_likelihood']:.1f}, AIC = {alt['aic']:.1f}")
    print(f"capacity: C = {cap.C:.0f} params/quantum {ci(cap.C_ci)}, n_time = "
          f"{cap.n_time:.1f}, rmse = {cap.rmse:.2f} quanta  [{cap.uncertainty}]")
    if data_fit is not None:
        print(f"data threshold: log10 A_D = {data_fit.log10_A_D:.3f} "
              f"{ci(data_fit.log10_A_D_ci)}, gamma_D = {data_fit.gamma_D:.3f} "
              f"{ci(data_fit.gamma_D_ci)}, sigma_D = {data_fit.sigma_D:.3f} "
              f"{ci(data_fit.sigma_D_ci)}, accuracy = {data_fit.accuracy:.2f} "
              f"on {data_fit.n_obs} cells")
    else:
        print(f"data threshold: not fitted ({data_error})")
    print("slowdown vs step law by width: "
          + ", ".join(f"{w}: {v:.2f}" for w, v in slowdown.items()))
    print("goodness of fit:")
    for key, val in gof.items():
        if isinstance(val, float):
            print(f"  {key} = {val:.3f}")


if __name__ == "__main__":
    main()
