"""Command-line interface: ``simquanta simulate | plot | graph ...``.

Errors in the input print one line ``error: ...`` on stderr and exit with status 2; output
cut short by a closed pipe (``simquanta info --json | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _version
from .cli_shared import figure_target, null_non_finite, overlay_flags, result_target
from .config import DEFAULTS
from .kernels.codes import ACQUISITIONS, POLICIES

SIMULATE_EXAMPLE = """example:
  simquanta simulate --n-quanta 2000 --alpha 0.5 --tau 5 --acquisition threshold \\
      --capacity inf --policy reject --batch-size 100 --steps 10000 --agents 200 \\
      --seed 1 --checkpoints 12 --engine exact --json
  simquanta simulate --acquisition logistic --eta 0.5 --s0 0.01 --n-quanta 2000 \
      --capacity inf --batch-size 100 --steps 10000 --agents 200 --checkpoints 12 --json
  simquanta simulate --config experiments/configs/run.toml --agents 32 \
      --figure loss.png --out run.nc
  simquanta simulate --graph experiments/graphs/demo.toml --figure tasks.png
"""

MAIN_EXAMPLE = """examples:
  simquanta figures --quick
  simquanta simulate --figure figures/quickstart.png
  simquanta simulate --graph experiments/graphs/demo.toml --figure tasks.png --out run.nc
  simquanta plot run.nc --kind quanta --out quanta.png
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


def _int_arg(text: str) -> int:
    """An integer, also written 1e6 or 1_000_000 (an integral value; "1.5" is refused)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer")
    return int(value)


def _default(key: str) -> str:
    """'(default X)' from config.DEFAULTS, the one source of the run defaults."""
    value = DEFAULTS[key]
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"(default {shown})"


def _add_simulate(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("simulate", help="simulate learners acquiring quanta",
                       description="Simulate learners acquiring quanta from sampled data "
                                   "(unset flags come from --config, then defaults).",
                       epilog=SIMULATE_EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--n-quanta", type=_int_arg, metavar="K",
      help=f"number of quanta K {_default('n_quanta')}")
    a("--alpha", type=float, metavar="A", help="Zipf exponent: p_k ∝ (k+offset)^-(A+1) "
                                                f"{_default('alpha')}")
    a("--offset", type=float, metavar="O", help=f"Zipf–Mandelbrot offset {_default('offset')}")
    a("--tau", type=float, metavar="T", help=f"exposure threshold τ {_default('tau')}")
    a("--gamma", type=float, metavar="G",
      help="threshold family: steps to learn k ∝ p_k^-(1+G); τ becomes the smallest τ_k "
           "(default none: τ_k = τ)")
    a("--acquisition", choices=list(ACQUISITIONS),
      help="dynamics family: threshold, geometric, logistic (continuous strength, Nam et "
           "al. 2024), resource (shared update budget, Liu et al. 2025) "
           f"{_default('acquisition')}")
    a("--eta", type=float, metavar="E",
      help="logistic: strength rate per exposure η > 0 (default 1)")
    a("--s0", type=float, metavar="S0",
      help="logistic: initial strength s0 in (0, 0.5) (default 0.01)")
    a("--speed-n0", type=float, metavar="N0",
      help="size-dependent speed: exposures needed × (1 + N0/capacity)^kappa "
           "(default none: no slowdown)")
    a("--speed-kappa", type=float, metavar="KAPPA",
      help="exponent kappa of the speed law (default 1; needs --speed-n0)")
    a("--capacity", type=_capacity_arg, metavar="N|inf",
      help="capacity in cost units, inf, or a comma-separated list (one per agent) "
           f"{_default('capacity')}")
    a("--policy", choices=list(POLICIES),
      help=f"what a full learner does with a ready quantum {_default('policy')}")
    a("--batch-size", type=_int_arg, metavar="B",
      help=f"samples per step {_default('batch_size')}")
    regime = p.add_mutually_exclusive_group()
    regime.add_argument("--steps", type=_int_arg, metavar="S",
                        help=f"online steps, e.g. 100000 or 1e5 {_default('steps')}")
    regime.add_argument("--dataset-size", type=_int_arg, metavar="D",
                        help="multi-epoch: training-set size per agent (default none: online)")
    a("--epochs", type=_int_arg, metavar="E",
      help="epochs over the training set (default 1; needs --dataset-size)")
    a("--agents", type=_int_arg, metavar="M", help=f"number of agents {_default('agents')}")
    a("--seed", type=_int_arg, metavar="SEED", help=f"root seed {_default('seed')}")
    a("--checkpoints", type=_int_arg, metavar="C",
      help=f"number of log-spaced checkpoints {_default('checkpoints')}")
    a("--engine", choices=["exact", "events", "auto"], help=_default("engine"))
    a("--config", metavar="FILE.toml",
      help="read the same fields (and graph) from a TOML file, e.g. "
           "experiments/configs/run.toml; flags win (default none)")
    a("--out", metavar="FILE.nc",
      help="save the result, with the graph and task success (netCDF-4, opens with "
           "xarray; default none)")
    a("--figure", metavar="FILE",
      help="write a figure (.png/.pdf): the loss with its closed form dashed and, with "
           "--graph, the task curves beside it (default none)")
    a("--graph", metavar="FILE",
      help="composition graph (TOML/JSON): report each task's success per checkpoint "
           "(default none)")
    a("--json", action="store_true", help="print one JSON object on stdout (default off)")
    return p


def _add_simulate_only(p: argparse.ArgumentParser) -> None:
    """simulate's flags that ``generations`` (which copies the others) does not take."""
    p.add_argument("--nodes", choices=["tasks", "all"], default="tasks",
                   help="with --graph: report the tasks (nodes no other node uses, or marked "
                        "task = true), or every inner node (default tasks)")
    p.add_argument("--max-memory", metavar="SIZE",
                   help="refuse a run estimated to need more memory (e.g. 4G, 512MiB, 50%%; "
                        "default 80%% of the available memory)")


_FLAG_KEYS = ("n_quanta", "alpha", "offset", "tau", "gamma", "acquisition", "eta", "s0",
              "speed_n0", "speed_kappa", "capacity", "policy", "batch_size", "steps",
              "dataset_size", "epochs", "agents", "seed", "checkpoints", "engine")


def _simulation_from_args(args: argparse.Namespace):
    """The Simulation of simulate's flags: --config file, then flags, then defaults."""
    from .config import simulation_from_config
    from .validation import invalid, load_toml

    config: dict[str, Any] = load_toml(args.config) if args.config else {}
    if "graph" in config:  # relative to the config file, like a sweep's [base] graph;
        in_file = config.pop("graph")  # it fills --graph when that flag is unset
        if not isinstance(in_file, str):
            raise invalid("graph", in_file, "must be a file path (in --config)")
        if not args.graph:
            args.graph = str(Path(args.config).parent / in_file)
    flags = {k: getattr(args, k) for k in _FLAG_KEYS if getattr(args, k) is not None}
    return simulation_from_config(overlay_flags(config, flags))


def _run_simulate(args: argparse.Namespace) -> int:
    from .resources import check_memory, estimate, memory_limit
    from .simulate import run

    # Outputs are checked before any work (files.check_output): no special file, symlink
    # or directory is replaced, and a run never ends in a path it cannot write.
    if args.out is not None:
        result_target(args.out)
    figure = None if args.figure is None else figure_target(args.figure)
    memory_limit(args.max_memory)
    sim = _simulation_from_args(args)
    graph = None
    if args.graph:
        from .composition import CompositionGraph

        graph = CompositionGraph.load(args.graph)
        graph.validate(sim.quanta.n_quanta)  # before any work
        check_memory(estimate(sim, graph_nodes=len(graph.inner_nodes), graph_state=True),
                     args.max_memory)
    result = run(sim, progress=not args.json and sys.stderr.isatty(), graph=graph,
                 nodes=args.nodes, max_memory=args.max_memory)
    written = []
    if args.out:
        written.append(result.save(args.out))
    if figure is not None:
        written += _save_figure(result, None, figure)
    summary = result.summary_dict()
    if result.task_success is not None:
        from .analysis.stats import sem

        mean, err = result.task_success.mean(axis=0), sem(result.task_success)
        summary["tasks"] = {name: {"mean": mean[:, j].tolist(), "sem": err[:, j].tolist()}
                            for j, name in enumerate(result.task_names)}
    if args.json:
        print(json.dumps(null_non_finite(summary)))
    else:
        _print_summary(result)
        for name, curve in summary.get("tasks", {}).items():
            print(f"task {name}: success {curve['mean'][0]:.3f} → {curve['mean'][-1]:.3f}")
        for path in written:
            print(f"wrote {path}")
    return 0


def _save_figure(result, kind: str | None, path: Path) -> list[Path]:
    """Write plots.result_figure(result, kind) to ``path`` (checked by ``figure_target``;
    format from its suffix); returns the paths written."""
    from . import plots

    return plots.save(plots.result_figure(result, kind), path, formats=(path.suffix[1:],))


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
    r.add_argument("--quick", action="store_true", help="smoke mode (≤ 30 s; default off)")
    r.add_argument("--out", metavar="DIR",
                   help="output folder (default figures/, or figures/quick/ with --quick)")
    f = sub.add_parser("figures", help="run every experiment (all figures)",
                       description="Run every experiment script, writing figures/*.png|pdf|json.",
                       epilog="example:\n  simquanta figures --quick",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--quick", action="store_true",
                   help="smoke mode (≤ 30 s each once compiled; default off)")
    f.add_argument("--out", metavar="DIR",
                   help="output folder (default figures/, or figures/quick/ with --quick)")
    f.add_argument("--jobs", type=_int_arg, default=os.cpu_count() or 1, metavar="N",
                   help="experiments run at once, each with cores/N numba threads (default: "
                        "the number of cores, %(default)s here)")


def _run_experiments(args: argparse.Namespace) -> int:
    from .experiments_runner import list_experiments, run_experiments

    if args.command == "experiments" and args.action == "list":
        for name, doc in list_experiments().items():
            print(textwrap.fill(doc, width=100, initial_indent=f"{name:28s} ",
                                subsequent_indent=" " * 29, break_on_hyphens=False,
                                break_long_words=False))
        return 0
    names = [args.name] if args.command == "experiments" else list(list_experiments())
    total = run_experiments(names, quick=args.quick, out=args.out,
                            jobs=getattr(args, "jobs", 1),
                            report=lambda line: print(line, flush=True))
    if len(names) > 1:
        print(f"{len(names)} experiments in {total:.1f} s")
    return 0


PLOT_EXAMPLE = """examples:
  simquanta plot run.nc                        # loss (and task curves if it has a graph)
  simquanta plot run.nc --kind quanta --out quanta.png
  simquanta plot results/sweeps/example/merged.nc --kind tasks --col alpha
  simquanta plot results/sweeps/example        # a sweep directory: its merged.nc

kinds: a run (simulate --out): loss, learned, quanta, agents, tasks; a merged sweep:
loss, learned, tasks (one panel per value of --col, one line per value of --hue).
"""


def _add_plot(sub) -> None:
    from .plots import RESULT_KINDS

    p = sub.add_parser("plot", help="draw a saved run or merged sweep (.nc)",
                       description="Draw a result file: a run saved by `simulate --out` or "
                                   "a sweep's merged.nc.",
                       epilog=PLOT_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE", help="a .nc result, or a sweep directory")
    p.add_argument("--kind", choices=RESULT_KINDS,
                   help="what to draw (default: a run's loss, beside its task curves when "
                        "it has a graph; a sweep's loss)")
    p.add_argument("--out", metavar="PNG",
                   help="image to write, .png or .pdf (default: FILE's name with "
                        "_<kind>.png, in the current directory)")
    p.add_argument("--col", metavar="DIM",
                   help="sweep: one panel per value of this axis (default the first axis)")
    p.add_argument("--hue", metavar="DIM",
                   help="sweep: one line per value of this axis (default the second axis)")


def _run_plot(args: argparse.Namespace) -> int:
    import xarray as xr

    from . import plots
    from .result import Result
    from .validation import invalid

    path = Path(args.file)
    if path.is_dir():
        path = path / "merged.nc"
    if not path.is_file():
        raise invalid("FILE", args.file, "not found (a .nc result or a sweep directory "
                                         "with merged.nc)")
    try:
        ds = xr.open_dataset(path, engine="netcdf4").load()
    except (OSError, ValueError) as exc:
        raise invalid("FILE", args.file, f"not a netCDF result ({exc})") from None
    title = ds.attrs.get("title", "")
    kind = args.kind
    stem = path.stem if path.name != "merged.nc" else path.parent.name
    default_kind = kind or ("summary" if title != "simquanta sweep" else "loss")
    out = figure_target(args.out or f"{stem}_{default_kind}.png", "out")
    if title == "simquanta sweep":
        fig = plots.plot_sweep(ds, kind or "loss", col=args.col, hue=args.hue)
    elif title == "simquanta simulation result":
        if args.col or args.hue:
            raise invalid("--col", args.col or args.hue, "only applies to a merged sweep")
        fig = plots.result_figure(Result.from_xarray(ds), kind)
    else:
        raise invalid("FILE", args.file, "not a simquanta run or merged sweep")
    for written in plots.save(fig, out, formats=(out.suffix[1:],)):
        print(f"wrote {written}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="simquanta", description="Simulate the quantization model of "
                     "neural scaling (Michaud et al. 2023), agent by agent.",
                     epilog=MAIN_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version",
                        version=f"simquanta {_version.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    simulate = _add_simulate(sub)
    _add_plot(sub)
    _add_experiments(sub)
    from .generations_cli import add_generations_parser
    from .graph_cli import add_graph_parser
    from .sweep_cli import add_sweep_parsers

    add_graph_parser(sub)
    add_sweep_parsers(sub)
    from .plan_cli import add_plan_parser

    add_plan_parser(sub)
    add_generations_parser(sub, simulate)
    _add_simulate_only(simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from reporting the
        # failed flush of stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "simulate":
            return _run_simulate(args)
        if args.command == "plot":
            return _run_plot(args)
        if args.command in ("experiments", "figures"):
            return _run_experiments(args)
        if args.command == "generations":
            from .generations_cli import run_generations

            return run_generations(args, _simulation_from_args)
        if args.command == "graph":
            from .graph_cli import run_graph

            return run_graph(args)
        if args.command == "sweep":
            from .sweep_cli import run_sweep_command

            return run_sweep_command(args)
        if args.command == "plan":
            from .plan_cli import run_plan

            return run_plan(args)
        if args.command == "info":
            from .sweep_cli import run_info_command

            return run_info_command(args)
    except BrokenPipeError:
        raise
    except (ValueError, OSError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"error: {message}\n")
        return 2
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
