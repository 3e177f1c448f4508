"""Command-line interface: ``simquanta simulate | graph ...``.

Errors in the input print one line ``error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from . import _version
from .config import DEFAULTS
from .kernels.codes import ACQUISITIONS, POLICIES

SIMULATE_EXAMPLE = """example:
  simquanta simulate --n-quanta 2000 --alpha 0.5 --tau 5 --acquisition threshold \\
      --capacity inf --policy reject --batch-size 100 --steps 10000 --agents 200 \\
      --seed 1 --checkpoints 12 --engine exact --json
  simquanta simulate --acquisition logistic --eta 0.5 --s0 0.01 --n-quanta 2000 \
      --capacity inf --batch-size 100 --steps 10000 --agents 200 --checkpoints 12 --json
  simquanta simulate --config run.toml --agents 32 --figure loss.png --out run.nc
"""

MAIN_EXAMPLE = """examples:
  simquanta figures --quick
  simquanta simulate --figure figures/quickstart.png
  simquanta simulate --n-quanta 100000 --alpha 0.3 --tau 5 --steps 100000 --json
  simquanta graph show experiments/graphs/demo.toml
  simquanta sweep experiments/sweeps/example.toml --executor processes
  simquanta info results/sweeps/example
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line ``error: ...`` and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _capacity_arg(text: str) -> Any:
    """``inf``, a number, or a comma-separated list (one capacity per agent)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [p if p == "inf" else float(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"capacity = {text!r} is invalid: must be a number, inf, or a comma-separated "
            "list of them") from None
    return values[0] if len(values) == 1 else values


def _default(key: str) -> str:
    """'(default X)' from config.DEFAULTS, the one source of the run defaults."""
    value = DEFAULTS[key]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"(default {shown})"


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="simulate learners acquiring quanta",
                       description="Simulate learners acquiring quanta from sampled data "
                                   "(unset flags come from --config, then defaults).",
                       epilog=SIMULATE_EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--n-quanta", type=int, metavar="K", help=f"number of quanta K {_default('n_quanta')}")
    a("--alpha", type=float, metavar="A", help="Zipf exponent: p_k ∝ (k+offset)^-(A+1) "
                                                f"{_default('alpha')}")
    a("--offset", type=float, metavar="O", help=f"Zipf–Mandelbrot offset {_default('offset')}")
    a("--tau", type=float, metavar="T", help=f"exposure threshold τ {_default('tau')}")
    a("--gamma", type=float, metavar="G",
      help="threshold family: steps to learn k ∝ p_k^-(1+G); τ becomes the smallest τ_k")
    a("--acquisition", choices=list(ACQUISITIONS),
      help="dynamics family: threshold, geometric, logistic (continuous strength, Nam et "
           "al. 2024), resource (shared update budget, Liu et al. 2025) "
           f"{_default('acquisition')}")
    a("--eta", type=float, metavar="E",
      help="logistic: strength rate per exposure η > 0 (default 1)")
    a("--s0", type=float, metavar="S0",
      help="logistic: initial strength s0 in (0, 0.5) (default 0.01)")
    a("--speed-n0", type=float, metavar="N0",
      help="size-dependent speed: exposures needed × (1 + N0/capacity)^kappa")
    a("--speed-kappa", type=float, metavar="KAPPA",
      help="exponent kappa of the speed law (default 1; needs --speed-n0)")
    a("--capacity", type=_capacity_arg, metavar="N|inf",
      help="capacity in cost units, inf, or a comma-separated list (one per agent) "
           f"{_default('capacity')}")
    a("--policy", choices=list(POLICIES), help=_default("policy"))
    a("--batch-size", type=int, metavar="B", help=f"samples per step {_default('batch_size')}")
    regime = p.add_mutually_exclusive_group()
    regime.add_argument("--steps", type=int, metavar="S",
                        help=f"online steps {_default('steps')}")
    regime.add_argument("--dataset-size", type=int, metavar="D",
                        help="multi-epoch: training-set size per agent")
    a("--epochs", type=int, metavar="E", help="epochs over the training set")
    a("--agents", type=int, metavar="M", help=f"number of agents {_default('agents')}")
    a("--seed", type=int, metavar="SEED", help=f"root seed {_default('seed')}")
    a("--checkpoints", type=int, metavar="C",
      help=f"log-spaced checkpoints {_default('checkpoints')}")
    a("--engine", choices=["exact", "events", "auto"], help=_default("engine"))
    a("--config", metavar="FILE.toml", help="read the same fields from a TOML file")
    a("--out", metavar="FILE", help="save the result (netCDF-4, opens with xarray)")
    a("--figure", metavar="FILE", help="write a loss-curve figure (.png/.pdf)")
    a("--graph", metavar="FILE",
      help="composition graph (TOML/JSON): add each node's success per checkpoint")
    a("--json", action="store_true", help="print one JSON object on stdout")
    a("--max-memory", metavar="SIZE",
      help="refuse a run estimated to need more memory (e.g. 4G, 512MiB, 50%%; default 80%% "
           "of the available memory)")


_FLAG_KEYS = ("n_quanta", "alpha", "offset", "tau", "gamma", "acquisition", "eta", "s0",
              "speed_n0", "speed_kappa", "capacity", "policy", "batch_size", "steps",
              "dataset_size", "epochs", "agents", "seed", "checkpoints", "engine")


def _run_simulate(args: argparse.Namespace) -> int:
    from .config import simulation_from_config
    from .simulate import run
    from .validation import load_toml

    config: dict[str, Any] = load_toml(args.config) if args.config else {}
    flags = {k: getattr(args, k) for k in _FLAG_KEYS if getattr(args, k) is not None}
    if "dataset_size" in flags:
        config.pop("steps", None)
    if "steps" in flags:
        config.pop("dataset_size", None)
        config.pop("epochs", None)
    config.update(flags)
    # Outputs are checked before any work (files.check_output): no special file, symlink
    # or directory is replaced, and a run never ends in a path it cannot write.
    from .files import check_output
    from .resources import check_memory, estimate, memory_limit

    if args.out is not None:
        check_output(args.out, "out")
    figure = None if args.figure is None else _figure_target(args.figure)
    memory_limit(args.max_memory)
    sim = simulation_from_config(config)
    graph = None
    if args.graph:
        from .composition import CompositionGraph
        from .simulate import with_learned_state

        graph = CompositionGraph.load(args.graph)
        graph.validate(sim.quanta.n_quanta)
        check_memory(estimate(sim, graph_nodes=len(graph.inner_nodes), graph_state=True),
                     args.max_memory)
        sim = with_learned_state(sim)
    result = run(sim, progress=not args.json and sys.stderr.isatty(),
                 max_memory=args.max_memory)
    written = []
    if args.out:
        written.append(result.save(args.out))
    if figure is not None:
        from . import plots
        from .analysis.expected import closed_form_loss

        written += plots.save(plots.loss_curve(result, closed_form_loss(sim, result.samples)),
                              figure, formats=(figure.suffix[1:],))
    summary = result.summary_dict()
    if graph is not None:
        curves = graph.task_curves(result.leaf_values(), all_nodes=True)
        summary["tasks"] = {name: {"mean": mean.tolist(), "sem": err.tolist()}
                            for name, (mean, err) in curves.items()}
    if args.json:
        print(json.dumps(_null_non_finite(summary)))
    else:
        _print_summary(result)
        for name, curve in summary.get("tasks", {}).items():
            print(f"task {name}: success {curve['mean'][0]:.3f} → {curve['mean'][-1]:.3f}")
        for path in written:
            print(f"wrote {path}")
    return 0


#: figure formats --figure accepts (matplotlib's, without backends that need extras)
FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff",
                  "webp")


def _figure_target(text: str):
    """The file --figure writes: FILE as given when its suffix is a figure format, FILE.png
    when it has none; checked like every output."""
    from pathlib import Path

    from .files import check_output
    from .validation import invalid

    path = check_output(text, "figure")
    fmt = path.suffix[1:].lower()
    if not fmt:
        return check_output(path.with_name(path.name + ".png"), "figure")
    if fmt not in FIGURE_FORMATS:
        raise invalid("figure", text, f"unknown figure format {fmt!r}; use one of "
                                      f"{', '.join(FIGURE_FORMATS)}")
    return Path(path)


def _null_non_finite(obj: Any) -> Any:
    """NaN/inf → null, so --json prints standard JSON (a one-agent run has NaN errors)."""
    if isinstance(obj, dict):
        return {k: _null_non_finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_null_non_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _print_summary(result) -> None:
    cfg = result.config
    regime = (f"online, {cfg['steps']} steps × batch {cfg['batch_size']}" if "steps" in cfg
              else f"dataset {cfg['dataset_size']} × {cfg['epochs']} epochs, "
                   f"batch {cfg['batch_size']}")
    print(f"simquanta {result.versions['simquanta']}: K = {cfg['n_quanta']}, "
          f"α = {cfg['alpha']}, τ = {cfg['tau']}, {cfg['acquisition']}, capacity = "
          f"{cfg['capacity']}, {cfg['policy']}; {regime}; {result.n_agents} agents, "
          f"seed {cfg['seed']}; engine {result.engine}, {result.wall_seconds:.2f} s")
    print(f"{'step':>14} {'samples':>16} {'loss (bits)':>12} {'± sem':>10} {'learned':>10}")
    for i in range(result.steps.size):
        print(f"{result.steps[i]:>14d} {result.samples[i]:>16d} {result.loss_mean[i]:>12.5g} "
              f"{result.loss_sem[i]:>10.2g} {result.learned_mean[i]:>10.1f}")


def _add_experiments(sub) -> None:
    p = sub.add_parser("experiments", help="list or run experiment scripts",
                       description="List or run the experiment scripts in experiments/.",
                       epilog="examples:\n  simquanta experiments list\n"
                              "  simquanta experiments run step_scaling --quick",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    esub = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    esub.add_parser("list", help="list experiments")
    r = esub.add_parser("run", help="run one experiment")
    r.add_argument("name")
    r.add_argument("--quick", action="store_true", help="smoke mode (≤ 30 s)")
    r.add_argument("--out", metavar="DIR", help="output folder (default figures/)")
    f = sub.add_parser("figures", help="run every experiment (all figures)",
                       description="Run every experiment script, writing figures/*.png|pdf|json.",
                       epilog="example:\n  simquanta figures --quick",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--quick", action="store_true", help="smoke mode (≤ 30 s each)")
    f.add_argument("--out", metavar="DIR", help="output folder (default figures/)")


def _run_experiments(args: argparse.Namespace) -> int:
    from .experiments_runner import list_experiments, run_experiment

    if args.command == "experiments" and args.action == "list":
        for name, doc in list_experiments().items():
            print(f"{name:28s} {doc}")
        return 0
    names = [args.name] if args.command == "experiments" else list(list_experiments())
    total = 0.0
    for name in names:
        seconds = run_experiment(name, quick=args.quick, out=args.out)
        total += seconds
        print(f"{name}: done in {seconds:.1f} s", flush=True)
    if len(names) > 1:
        print(f"{len(names)} experiments in {total:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="simquanta", description="Simulate the quantization model of "
                     "neural scaling (Michaud et al. 2023), agent by agent.",
                     epilog=MAIN_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"simquanta {_version.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_simulate(sub)
    _add_experiments(sub)
    from .graph_cli import add_graph_parser
    from .sweep_cli import add_sweep_parsers

    add_graph_parser(sub)
    add_sweep_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return _run_simulate(args)
        if args.command in ("experiments", "figures"):
            return _run_experiments(args)
        if args.command == "graph":
            from .graph_cli import run_graph

            return run_graph(args)
        if args.command == "sweep":
            from .sweep_cli import run_sweep_command

            return run_sweep_command(args)
        if args.command == "info":
            from .sweep_cli import run_info_command

            return run_info_command(args)
    except (ValueError, OSError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"error: {message}\n")
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
