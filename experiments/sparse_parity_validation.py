"""Held-out validation: the transferred calibration predicts networks it never saw.

Setting (used by no calibration run): K = 96 subtasks, n = 48 task bits, k = 3,
α ∈ {0.2, 0.5, 0.8}, task seed 5, batch B = 1000, AdamW lr 1e-3 for 2·10⁴ steps; the
paper's protocol (simquanta.sparse_parity.protocol) scaled to it: 8 widths
int(2^linspace(log2 10, log2 256, 8)) × seeds 0, 1, 2 for α_N (last logged step), the
step window [500, 15 000)·(2·10⁴/10⁵) = [100, 3000) at width 256 for α_S, and width 128
on six training sets D = 3·10³ … 10⁶ (2 seeds, early stopping on the held-out loss) for
α_D from the first D below 0.95 bits.

Order of work: (1) the settings are checked (a bad one raises before any training);
(2) the simulator's predictions are computed from figures/sparse_parity_calibration.json
alone (its ``transfer`` laws evaluated at this setting; simquanta.sparse_parity.predict),
point estimate plus a parametric bootstrap over the calibration; (3) the networks are
trained; (4) both go through the same protocol fits. The simulator never sees a
validation network.

Quick mode: a tiny setting (12 subtasks, 16 bits, one α), the same pipeline in < 60 s.
"""

from __future__ import annotations

import os

# One BLAS thread: the machine is shared (must be set before numpy loads OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import json  # noqa: E402
import math  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simquanta import plots  # noqa: E402
from simquanta.files import atomic_path  # noqa: E402
from simquanta.sparse_parity import SparseParityTask, TrainingLog, n_params, train  # noqa: E402
from simquanta.sparse_parity.calibrate import (  # noqa: E402
    convergence_intervals,
    fit_data_threshold,
    fit_step_law,
    learned_count,
)
from simquanta.sparse_parity.mlp import log_spaced_steps  # noqa: E402
from simquanta.sparse_parity.predict import (  # noqa: E402
    simulate_dataset_loss,
    simulate_online_loss,
    transferred,
)
from simquanta.sparse_parity.protocol import (  # noqa: E402
    PAPER,
    ExponentFit,
    Protocol,
    best_loss,
    check_study,
    fit_alpha_N,
    fit_alpha_S,
    fit_protocol,
)

from _common import FIGURES, Experiment, _jsonable, parse_args  # noqa: E402

NAME = "sparse_parity_validation"
EXPONENTS = ("alpha_N", "alpha_S", "alpha_D")
#: the issue's agreement target |simulator − network| per exponent
TOLERANCE = 0.05

CONFIGS: dict[str, dict[str, Any]] = {
    "full": {
        "n_tasks": 96, "n_bits": 48, "k": 3, "alphas": [0.2, 0.5, 0.8], "offset": 0.0,
        "task_seed": 5, "batch_size": 1000, "steps": 20_000, "log_steps": 80, "lr": 1e-3,
        "weight_decay": 0.0, "width_range": [10, 256], "n_widths": 8, "seeds": [0, 1, 2],
        "dataset_sizes": [3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000],
        "data_width": 128, "data_seeds": [0, 1], "patience": 20, "min_steps": 4000,
        "test_points": 8000, "test_per_task": 200, "test_seed": 54321, "sim_agents": 40,
        "sim_seed": 17, "calibration_draws": 100, "draw_agents": 10, "n_boot": 500,
    },
    "quick": {
        "n_tasks": 12, "n_bits": 16, "k": 3, "alphas": [0.5], "offset": 0.0, "task_seed": 5,
        "batch_size": 500, "steps": 1500, "log_steps": 25, "lr": 1e-3, "weight_decay": 0.0,
        "width_range": [8, 32], "n_widths": 3, "seeds": [0, 1],
        "dataset_sizes": [500, 3000, 20_000], "data_width": 32, "data_seeds": [0],
        "patience": 10, "min_steps": 600, "test_points": 2000, "test_per_task": 100,
        "test_seed": 54321, "sim_agents": 6, "sim_seed": 17, "calibration_draws": 10,
        "draw_agents": 3, "n_boot": 50,
    },
}


def protocol_of(cfg: dict[str, Any]) -> Protocol:
    """The paper's protocol scaled to this setting (module docstring)."""
    return PAPER.scaled(widths=tuple(cfg["width_range"]), n_widths=cfg["n_widths"],
                        steps=cfg["steps"], dataset_sizes=cfg["dataset_sizes"],
                        seeds=cfg["seeds"], d_width=cfg["data_width"])


def make_task(cfg: dict[str, Any], alpha: float) -> SparseParityTask:
    return SparseParityTask(cfg["n_tasks"], cfg["n_bits"], cfg["k"], alpha, cfg["offset"],
                            cfg["task_seed"])


def check_config(cfg: dict[str, Any]) -> None:
    """Every setting checked before any training (ValueError naming the field)."""
    w_lo, w_hi = cfg["width_range"]
    check_study(n_tasks=cfg["n_tasks"], n_bits=cfg["n_bits"], k=cfg["k"],
                alphas=cfg["alphas"], widths=[w_lo, w_hi, cfg["data_width"]],
                batch_size=cfg["batch_size"], steps=cfg["steps"],
                dataset_sizes=cfg["dataset_sizes"])


# ------------------------------------------------------------------ simulator side


def load_calibration(path: Path) -> dict[str, Any]:
    """The ``results`` of a full-mode calibration JSON that has a ``transfer`` section."""
    payload = json.loads(path.read_text())
    results = payload.get("results", {})
    if payload.get("mode") != "full" or not results.get("transfer"):
        raise ValueError(f"calibration = {path} is invalid: needs a full-mode "
                         "sparse_parity_calibration.json with results.transfer "
                         "(run experiments/sparse_parity_calibration.py)")
    return results


def simulate_protocol(cal, cfg: dict[str, Any], proto: Protocol, alpha: float, grid,
                      agents: int, seed: int) -> dict[str, np.ndarray]:
    """Simulated losses on the protocol's grid: N (agents × widths, last step), S (agents ×
    logged steps, widest width) and D (agents × sizes, early-stopped)."""
    p = make_task(cfg, alpha).p
    online = simulate_online_loss(cal, p, proto.widths, cfg["steps"], grid[1:], agents=agents,
                                  seed=seed)  # (A, W, T-1)
    data = simulate_dataset_loss(cal, p, proto.dataset_sizes, proto.d_width, cfg["steps"],
                                 agents=agents, seed=seed + 1)
    return {"N": online[:, :, -1], "S": online[:, -1, :], "D": data}


def predictions(cfg: dict[str, Any], proto: Protocol, section: dict[str, Any],
                grid: np.ndarray) -> dict[float, dict[str, Any]]:
    """Per α: simulated losses and exponents at the point calibration, and each exponent's
    95 % interval over ``calibration_draws`` parametric draws of the calibration (each
    draw simulated with ``draw_agents`` agents and fitted with the same protocol)."""
    setting = {f: cfg[f] for f in ("n_tasks", "n_bits", "batch_size")}
    point = transferred(section, setting)
    n_par = np.array([n_params(cfg["n_tasks"], cfg["n_bits"], w) for w in proto.widths], float)
    rng = np.random.default_rng(cfg["sim_seed"])
    draws = [transferred(section, setting, rng) for _ in range(cfg["calibration_draws"])]
    out = {}
    for i, alpha in enumerate(cfg["alphas"]):
        seed = cfg["sim_seed"] + 100 * i
        loss = simulate_protocol(point, cfg, proto, alpha, grid, cfg["sim_agents"], seed)
        fits = fit_protocol(proto, n_par, grid[1:], loss, n_boot=cfg["n_boot"])
        reps = {k: [] for k in EXPONENTS}
        for j, cal in enumerate(draws):
            sim = simulate_protocol(cal, cfg, proto, alpha, grid, cfg["draw_agents"],
                                    seed + 10_000 * (j + 1))
            for k, f in fit_protocol(proto, n_par, grid[1:], sim, n_boot=0).items():
                reps[k].append(math.nan if f is None else f.exponent)
        out[alpha] = {"loss": loss, "fits": fits, "draws": reps, "parameters": point}
    return out


# ------------------------------------------------------------------- network side


def run_job(cfg: dict[str, Any], job: tuple[float, str, int, int, int | None]) -> TrainingLog:
    """One training run: (α, "online" | "data", width, seed, dataset size or None)."""
    alpha, kind, width, seed, size = job
    task = make_task(cfg, alpha)
    test = task.test_set(cfg["test_points"], cfg["test_per_task"],
                         random_state=cfg["test_seed"])
    return train(task, width, steps=cfg["steps"], batch_size=cfg["batch_size"],
                 dataset_size=size, lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                 seed=seed if kind == "online" else 1000 + seed,
                 log_steps=log_spaced_steps(cfg["steps"], cfg["log_steps"]), test=test,
                 patience=cfg["patience"] if kind == "data" else None,
                 min_steps=cfg["min_steps"])


def train_all(cfg: dict[str, Any], proto: Protocol) -> tuple[dict[tuple, TrainingLog], float]:
    t0 = time.perf_counter()
    cache = os.environ.get("SIMQUANTA_SPARSE_PARITY_CACHE")  # dev aid: reuse trained runs
    if cache and Path(cache).exists():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    jobs = [(a, "online", w, s, None) for a in cfg["alphas"] for w in proto.widths
            for s in proto.seeds]
    jobs += [(a, "data", proto.d_width, s, d) for a in cfg["alphas"]
             for d in proto.dataset_sizes for s in cfg["data_seeds"]]
    logs = {job: run_job(cfg, job) for job in jobs}
    wall = time.perf_counter() - t0
    if cache:
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            pickle.dump((logs, wall), fh)
    return logs, wall


# ---------------------------------------------------------------------------- main


def _exp(fit: ExponentFit | None, ci: tuple[float, float] | None = None) -> dict[str, Any]:
    if fit is None:
        return {"value": None, "ci95": None}
    lo, hi = fit.ci if ci is None else ci
    return {"value": fit.exponent, "ci95": [lo, hi]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(NAME, __doc__.splitlines()[0], argv)
    cfg = dict(CONFIGS["quick" if args.quick else "full"])
    check_config(cfg)
    proto = protocol_of(cfg)
    cal_path = FIGURES / "sparse_parity_calibration.json"
    cfg.update({"protocol": proto.to_dict(), "calibration_file": cal_path.name})
    exp = Experiment(NAME, args, cfg)
    grid = log_spaced_steps(cfg["steps"], cfg["log_steps"])
    n_par = np.array([n_params(cfg["n_tasks"], cfg["n_bits"], w) for w in proto.widths], float)

    # (2) predictions from the calibration file alone, before any network is trained
    t0 = time.perf_counter()
    calibration = load_calibration(cal_path)
    section = calibration["transfer"]
    pred = predictions(cfg, proto, section, grid)
    sim_wall = time.perf_counter() - t0

    # (3) networks
    logs, train_wall = train_all(cfg, proto)
    net: dict[float, dict[str, Any]] = {}
    for alpha in cfg["alphas"]:
        last = np.array([[logs[(alpha, "online", w, s, None)].test_loss[-1]
                          for w in proto.widths] for s in proto.seeds])  # (S, W)
        curve_s = np.stack([logs[(alpha, "online", proto.s_width, s, None)].test_loss[1:]
                            for s in proto.seeds])  # (S, T-1)
        best_d = np.array([[float(best_loss(logs[(alpha, "data", proto.d_width, s, d)]
                                            .test_loss)) for d in proto.dataset_sizes]
                           for s in cfg["data_seeds"]])  # early stopping: min logged loss
        loss = {"N": last, "S": curve_s, "D": best_d}
        sub = {w: np.stack([logs[(alpha, "online", w, s, None)].subtask_loss
                            for s in proto.seeds]) for w in proto.widths}
        net[alpha] = {"loss": loss, "fits": fit_protocol(proto, n_par, grid[1:], loss,
                                                         n_boot=cfg["n_boot"]),
                      "counts": {w: learned_count(sub[w]) for w in proto.widths},
                      "data_best_subtask": np.stack([[
                          logs[(alpha, "data", proto.d_width, s, d)].subtask_loss[
                              logs[(alpha, "data", proto.d_width, s, d)].best]
                          for s in cfg["data_seeds"]] for d in proto.dataset_sizes]),
                      "widest_intervals": convergence_intervals(grid, sub[proto.s_width])}

    # (4) side by side
    heldout = []
    misses = []
    for alpha in cfg["alphas"]:
        entry: dict[str, Any] = {"alpha": alpha}
        for who, src in (("network", net[alpha]), ("simulator", pred[alpha])):
            block = {}
            for k in EXPONENTS:
                ci = None
                if who == "simulator":
                    reps = np.asarray(src["draws"][k], dtype=float)
                    reps = reps[np.isfinite(reps)]
                    ci = ((float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975)))
                          if reps.size >= 2 else (math.nan, math.nan))
                block[k] = _exp(src["fits"][k], ci)
            block["curves"] = curves(proto, grid, n_par, src["loss"])
            entry[who] = block
        entry["difference"] = {}
        for k in EXPONENTS:
            a, b = entry["simulator"][k]["value"], entry["network"][k]["value"]
            diff = None if a is None or b is None else a - b
            entry["difference"][k] = diff
            if diff is None or abs(diff) > TOLERANCE:
                misses.append((alpha, k, diff))
        heldout.append(entry)

    results = {
        "heldout": heldout,
        "closing_note": closing_note(cfg, proto, calibration, net, pred, heldout),
        "tolerance": TOLERANCE,
        "within_tolerance": not misses,
        "misses": [{"alpha": a, "exponent": k, "simulator_minus_network": d}
                   for a, k, d in misses],
        "simulator_parameters": pred[cfg["alphas"][0]]["parameters"].to_dict(),
        "simulator_ci": "percentile 95 % over parametric draws of the calibration's "
                        "transfer laws (each draw simulated and fitted with the protocol)",
        "network_ci": "percentile bootstrap 95 % over runs (simquanta.sparse_parity.protocol)",
        "training_wall_seconds": train_wall, "simulation_wall_seconds": sim_wall,
        "steps_per_second": {int(w): float(np.mean([logs[(a, "online", w, s, None)]
                                                    .steps_per_second for a in cfg["alphas"]
                                                    for s in proto.seeds]))
                             for w in proto.widths},
    }
    fig = make_figure(cfg, proto, grid, n_par, net, pred, heldout)
    paths = exp.save(fig, results)
    add_top_level(paths[-1])
    print_summary(heldout, results)


def capacity_exponent(section: dict[str, Any]) -> float:
    """β of n ∝ w^β: least squares of log (mean learned count) on log width over the
    calibration study's widths below its widest (time-limited) one, every setting pooled.
    The simulator assumes β = 1 (n = w / C)."""
    per = section["settings"]
    counts: dict[int, list[float]] = {}
    for est in per.values():
        for w, runs in est["learned_count"].items():
            counts.setdefault(int(w), []).extend(float(c) for c in runs)
    widths = sorted(counts)[:-1]
    mean = [float(np.mean(counts[w])) for w in widths]
    return float(np.polyfit(np.log(widths), np.log(mean), 1)[0])


def _first_below(step: np.ndarray, loss: np.ndarray, level: float) -> float:
    below = np.nonzero(loss < level)[0]
    return float(step[below[0]]) if below.size else math.inf


def closing_note(cfg: dict[str, Any], proto: Protocol, calibration: dict[str, Any],
                 net: dict[float, Any], pred: dict[float, Any],
                 heldout: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the prediction misses and the mechanisms the numbers point to, per exponent,
    with the diagnostics that support it (all computed here from the two sides' curves
    and the calibration file): the narrowest width's simulated capacity and both losses
    there, α_N without that width, the calibration networks' capacity exponent β, the
    networks' learned counts against the simulator's capacity, the step law refitted on the
    validation networks' widest width (after the prediction, as a diagnostic only) against
    the transferred one, and the steps at which the mean loss first falls below 0.95 bits
    on each side."""
    from dataclasses import replace

    from simquanta.sparse_parity.predict import transferred

    section = calibration["transfer"]
    cal = transferred(section, {f: cfg[f] for f in ("n_tasks", "n_bits", "batch_size")})
    # Partial-learning proxy from the calibration alone: the base networks' per-subtask
    # curves at the widest width cross ½ bit at A_½ p^−γ exposures with lognormal shape
    # spread σ_curve (results.partial_learning); thresholds at A·(A_½/A_conv) with spread
    # σ_curve make one simulated quantum's expected loss follow that curve.
    ref = str(max(int(w) for w in calibration["partial_learning"]["by_width"]))
    half = calibration["partial_learning"]["by_width"][ref]["params"]["threshold"]
    shift = half[0] - calibration["step_law"]["log10_A"]
    cal_partial = replace(cal, log10_A=cal.log10_A + shift, sigma=math.exp(half[2]))
    n_par = np.array([n_params(cfg["n_tasks"], cfg["n_bits"], w) for w in proto.widths], float)
    steps = np.asarray(log_spaced_steps(cfg["steps"], cfg["log_steps"])[1:], dtype=float)
    beta = capacity_exponent(section)
    rows = []
    for e in heldout:
        a = e["alpha"]
        without = {}
        for who, src in (("network", net[a]), ("simulator", pred[a])):
            fit = fit_alpha_N(n_par[1:], src["loss"]["N"][:, 1:], n_boot=0)
            without[who] = fit.exponent
        lo, hi = net[a]["widest_intervals"]
        try:
            law = fit_step_law(make_task(cfg, a).p, lo, hi, cfg["batch_size"],
                               noise="lognormal", n_boot=100, seed=1)
            measured = {"log10_A": law.log10_A, "log10_A_ci": law.log10_A_ci,
                        "gamma": law.gamma, "gamma_ci": law.gamma_ci, "sigma": law.sigma}
        except ValueError as err:  # nothing converged (quick mode)
            measured = {"error": str(err)}
        # Counterfactual (diagnostic): the simulator with the capacity these networks
        # reached (mean learned count per width, rounded) instead of w/C.
        caps = [max(float(np.round(np.mean(net[a]["counts"][w]))), 0.5)
                for w in proto.widths]  # 0.5: a width whose networks learned nothing
        cf = simulate_online_loss(cal, make_task(cfg, a).p, proto.widths, cfg["steps"],
                                  [cfg["steps"]], agents=cfg["sim_agents"],
                                  seed=cfg["sim_seed"] + 7, capacities=caps)[:, :, -1]
        # data threshold refitted on these networks (diagnostic), on the subtasks that the
        # largest training set taught in at least half the seeds (the others are limited by
        # time or capacity, not data; no online runs exist at this width)
        best = net[a]["data_best_subtask"]  # (nD, S, K)
        k = best.shape[-1]
        in_time = (best[-1] < 0.1).mean(axis=0) >= 0.5
        try:
            dfit = fit_data_threshold(np.repeat(proto.dataset_sizes, best.shape[1]),
                                      make_task(cfg, a).p, (best < 0.1).reshape(-1, k),
                                      np.broadcast_to(in_time, (best.shape[0] * best.shape[1],
                                                                k)), n_boot=100, seed=3)
            data_measured = {"log10_A_D": dfit.log10_A_D, "log10_A_D_ci": dfit.log10_A_D_ci,
                             "gamma_D": dfit.gamma_D, "gamma_D_ci": dfit.gamma_D_ci}
        except ValueError as err:
            data_measured = {"error": str(err)}
        # Sublinear capacity (w/c)^β fitted on the calibration networks alone, pooled over
        # settings (results.transfer.capacity_power) -- chosen after seeing this validation,
        # so a post-hoc check, not a blind prediction.
        pw = section["capacity_power"]
        sub_caps = [max((w / pw["c"]) ** pw["beta"], 0.5) for w in proto.widths]
        sl = simulate_online_loss(cal, make_task(cfg, a).p, proto.widths, cfg["steps"],
                                  [cfg["steps"]], agents=cfg["sim_agents"],
                                  seed=cfg["sim_seed"] + 8, capacities=sub_caps)[:, :, -1]
        sp = simulate_online_loss(cal_partial, make_task(cfg, a).p, [proto.s_width],
                                  cfg["steps"], steps.astype(np.int64),
                                  agents=cfg["sim_agents"], seed=cfg["sim_seed"] + 9)[:, 0, :]
        rows.append({
            "alpha": a, "difference": e["difference"],
            "alpha_N_with_network_capacity": fit_alpha_N(n_par, cf, n_boot=0).exponent,
            "alpha_N_with_sublinear_capacity_posthoc": fit_alpha_N(n_par, sl,
                                                                   n_boot=0).exponent,
            "alpha_S_with_partial_learning_proxy": fit_alpha_S(steps, sp, proto.s_window,
                                                               n_boot=0).exponent,
            "step_law_on_these_networks": measured,
            "data_threshold_on_these_networks": data_measured,
            "learned_count_by_width": {
                "width": list(proto.widths),
                "network_mean": [float(np.mean(net[a]["counts"][w])) for w in proto.widths],
                "simulator_capacity": [cal.capacity(w) for w in proto.widths]},
            "narrowest_width": proto.widths[0],
            "narrowest_capacity_quanta": cal.capacity(proto.widths[0]),
            "narrowest_loss": {"network": float(net[a]["loss"]["N"][:, 0].mean()),
                               "simulator": float(pred[a]["loss"]["N"][:, 0].mean())},
            "alpha_N_without_narrowest": without,
            "steps_below_0.95_bits": {
                "network": _first_below(steps, net[a]["loss"]["S"].mean(0), 0.95),
                "simulator": _first_below(steps, pred[a]["loss"]["S"].mean(0), 0.95)},
        })
    def covered(k: str) -> list[float]:
        """The α at which the network's exponent lies in the simulator's 95 % interval."""
        out = []
        for e in heldout:
            v, ci = e["network"][k]["value"], e["simulator"][k]["ci95"]
            if v is not None and ci is not None and ci[0] <= v <= ci[1]:
                out.append(e["alpha"])
        return out

    bracketed = [r["alpha"] for r, e in zip(rows, heldout, strict=True)
                 if e["network"]["alpha_S"]["value"] is not None
                 and e["simulator"]["alpha_S"]["value"] is not None
                 and min(e["simulator"]["alpha_S"]["value"],
                         r["alpha_S_with_partial_learning_proxy"])
                 <= e["network"]["alpha_S"]["value"]
                 <= max(e["simulator"]["alpha_S"]["value"],
                        r["alpha_S_with_partial_learning_proxy"])]
    law_d = section["laws"]["log10_A_D"]
    b_d, ci_d = law_d["slopes"]["n_bits"], law_d["slopes_ci"]["n_bits"]
    return {
        "per_alpha": rows,
        "partial_learning_proxy": {"log10_A_shift": shift, "sigma_curve": math.exp(half[2]),
                                   "from_width": int(ref)},
        "predicted_step_law": {"log10_A": cal.log10_A, "gamma": cal.gamma, "sigma": cal.sigma},
        "predicted_data_threshold": {"log10_A_D": cal.log10_A_D, "gamma_D": cal.gamma_D,
                                     "sigma_D": cal.sigma_D},
        "calibration_capacity_exponent_beta": beta,
        "text": (
            "alpha_N: the simulator's capacity n = w/C is linear in width, but the "
            f"calibration networks' learned counts grow as w^{beta:.2f} (widths below the "
            "widest, all settings pooled); and at the narrowest width the simulator holds "
            "less than one quantum and learns nothing (1 bit) while the networks still learn "
            "their most frequent subtasks (narrowest_loss). Both make the simulated L(N) "
            "steeper; without the narrowest width the gap shrinks but stays "
            "(alpha_N_without_narrowest; learned_count_by_width compares the networks' "
            "counts with the simulator's capacity w/C; alpha_N_with_network_capacity is the "
            "simulator's alpha_N when each width is given the capacity its networks "
            "reached, everything else unchanged; alpha_N_with_sublinear_capacity_posthoc "
            "uses instead the calibration networks' pooled law n = (w/c)^beta "
            f"(c = {section['capacity_power']['c']:.2f} neurons, beta = "
            f"{section['capacity_power']['beta']:.2f}), a law chosen after seeing this "
            "validation, so not a blind test). alpha_S: the step law refitted on "
            "these networks' widest width after the fact (step_law_on_these_networks) "
            "agrees with the transferred one (predicted_step_law), so convergence times "
            "transfer; yet the networks' mean loss leaves 1 bit earlier than the "
            "simulator's (steps_below_0.95_bits): within one network a subtask's loss falls "
            "over a range of steps before it converges below 0.1 bits (partial learning), "
            "while one simulated agent drops it in one step at convergence, so the "
            "simulated descent in the window is shallower. Moving every threshold to the "
            "calibration curves' ½-bit crossing with their spread (partial_learning_proxy) "
            "overcorrects (alpha_S_with_partial_learning_proxy); the two bracket the "
            f"networks' alpha_S at alpha = {bracketed} — a quantum whose loss falls "
            "gradually between the two is the missing mechanism. alpha_D: the data threshold's "
            "transfer law rests on three settings that differ only in n (slope of log10 A_D "
            f"on log10 n: {b_d:.2f} [{ci_d[0]:.2f}, {ci_d[1]:.2f}]); the simulator's interval "
            f"covers the network at alpha = {covered('alpha_D')} only. Refitted on these "
            "networks after the fact (data_threshold_on_these_networks, wide intervals from "
            "2 seeds × 6 sizes) the threshold is consistent with the predicted one "
            "(predicted_data_threshold) at every alpha, so alpha_D's misses are not "
            "resolved by these data."),
        "covered_by_simulator_ci": {k: covered(k) for k in EXPONENTS},
    }


def curves(proto: Protocol, grid: np.ndarray, n_par: np.ndarray,
           loss: dict[str, np.ndarray]) -> dict[str, Any]:
    """Mean loss (bits) over runs at every width, logged step and D of the protocol."""
    return {"N": {"width": list(proto.widths), "n_params": n_par, "loss": loss["N"].mean(0)},
            "S": {"step": grid[1:], "loss": loss["S"].mean(0)},
            "D": {"D": list(proto.dataset_sizes), "loss": loss["D"].mean(0)}}


def add_top_level(path: Path) -> None:
    """Copy ``heldout`` to the top level of the JSON, atomically."""
    payload = json.loads(path.read_text())
    payload["heldout"] = payload["results"]["heldout"]
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        json.dump(_jsonable(payload), fh, indent=1)
        fh.write("\n")


def make_figure(cfg, proto, grid, n_par, net, pred, heldout):
    import matplotlib.pyplot as plt

    plots.use_style()
    alphas = cfg["alphas"]
    fig, axes = plt.subplots(2, 3, figsize=(7.2, 5.2))
    colors = {a: plots.PALETTE[i % len(plots.PALETTE)] for i, a in enumerate(alphas)}
    steps = grid[1:].astype(float)
    sizes = np.asarray(proto.dataset_sizes, dtype=float)
    for a in alphas:
        for ax, key, x in ((axes[0, 0], "N", n_par), (axes[0, 1], "S", steps),
                           (axes[0, 2], "D", sizes)):
            sim = pred[a]["loss"][key]
            mean = sim.mean(0)
            lo, hi = np.quantile(sim, [0.025, 0.975], axis=0)
            ax.plot(x, mean, color=colors[a], lw=1.0)
            ax.fill_between(x, np.maximum(lo, mean / 20), np.maximum(hi, mean / 20),
                            color=colors[a], alpha=0.2, lw=0)
            ax.plot(x, net[a]["loss"][key].mean(0), "o", ms=2.5, mfc="none", mew=0.7,
                    color=colors[a])
    axes[0, 1].axvspan(*proto.s_window, color="0.9", lw=0, zorder=0)
    titles = (("parameters N", f"(a) L vs N at {cfg['steps']:,} steps"),
              ("optimizer steps S", f"(b) L vs S, w = {proto.s_width} (shaded: fit window)"),
              ("training-set size D", f"(c) early-stopped L vs D, w = {proto.d_width}"))
    from matplotlib.ticker import NullFormatter

    for ax, (xl, title) in zip(axes[0], titles, strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(xl)
        ax.set_ylabel("held-out loss (bits)")
        ax.set_title(title, loc="left", fontsize=7)
    # exponents side by side
    al = np.asarray(alphas, dtype=float)
    g = np.linspace(al.min() - 0.05, al.max() + 0.05, 50)
    theory = {"alpha_N": g, "alpha_S": g / (g + 1), "alpha_D": g / (g + 1)}
    for ax, k, letter in zip(axes[1], EXPONENTS, "def", strict=True):
        for who, dx, marker, color in (("network", -0.012, "o", plots.PALETTE[0]),
                                       ("simulator", 0.012, "s", plots.PALETTE[2])):
            vals = [e[who][k]["value"] for e in heldout]
            cis = [e[who][k]["ci95"] for e in heldout]
            for x, v, c in zip(al + dx, vals, cis, strict=True):
                if v is None:
                    continue
                lo, hi = c if c is not None else (v, v)
                ax.errorbar([x], [v], yerr=[[max(v - lo, 0)], [max(hi - v, 0)]], fmt=marker,
                            ms=3, color=color, capsize=2, lw=0.8)
        plots.theory_line(ax, g, theory[k])
        ax.set_xlabel("α  (p_k ∝ k^−(α+1))")
        ax.set_ylabel(k.replace("alpha_", "α_"))
        ax.set_title(f"({letter}) {k.replace('alpha_', 'α_')}: network vs simulator",
                     loc="left", fontsize=7)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[a], label=f"α = {a}") for a in alphas]
    handles += [Line2D([], [], color="0.3", marker="o", mfc="none", ls="none",
                       label="networks (mean of seeds)"),
                Line2D([], [], color="0.3", label="simulator (mean, 95 % band of agents)"),
                Line2D([], [], color=plots.PALETTE[0], marker="o", ls="none",
                       label="network exponent (95 % CI)"),
                Line2D([], [], color=plots.PALETTE[2], marker="s", ls="none",
                       label="simulator exponent (95 % CI incl. calibration)"),
                Line2D([], [], color="black", ls="--", label="theory α, α/(α+1)")]
    fig.legend(handles=handles, ncol=4, loc="lower center", fontsize=5.5)
    fig.suptitle(f"Held-out sparse parity (K = {cfg['n_tasks']}, n = {cfg['n_bits']}, "
                 f"B = {cfg['batch_size']}): networks never used in fitting vs the simulator\n"
                 "predicted from the calibration's transfer laws alone (fitted on K = 32–128, "
                 "n = 16–64, B = 500–2000, α = 0.4)", fontsize=7)
    fig.tight_layout(rect=(0, 0.09, 1, 0.95))
    return fig


def _fmt(d: dict[str, Any]) -> str:
    if d["value"] is None:
        return "n/a"
    return f"{d['value']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}]"


def print_summary(heldout: list[dict[str, Any]], results: dict[str, Any]) -> None:
    print(f"training {results['training_wall_seconds']:.0f} s, simulation "
          f"{results['simulation_wall_seconds']:.0f} s")
    for e in heldout:
        parts = []
        for k in EXPONENTS:
            parts.append(f"{k}: net {_fmt(e['network'][k])} sim {_fmt(e['simulator'][k])}")
        print(f"alpha = {e['alpha']}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
