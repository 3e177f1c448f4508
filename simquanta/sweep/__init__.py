"""Parameter sweeps: a grid of simulations → one file per finished cell → one labeled dataset.

Sweep file format (TOML; ``SweepSpec.from_dict`` takes the same structure as a dict)::

    name = "example"            # optional; default: the file's stem. Identifies the sweep
                                # that owns an output directory.
    out = "../../results/example"   # output directory, relative to this file
    replicates = 3              # replicate seeds derived from root_seed ...
    root_seed = 2023
    # seeds = [1, 2, 3]         # ... or listed explicitly (not both)

    [base]                      # a flat simulation config: the keys of simquanta.config.KEYS
    n_quanta = 1000             # (plus `graph`); no `seed` here when seeds are swept
    agents = 16
    engine = "exact"
    graph = "../graphs/demo.toml"   # optional composition graph, relative to this file

    [axes]                      # one list per varied field; cells = Cartesian product
                                # (a field is set in [base] or in [axes], never both)
    alpha = [0.3, 0.5, 0.8]
    capacity = [100, "inf"]
    steps = [2000, 200]
    batch_size = [10, 100]

    [[zip]]                     # optional, repeatable: axes varied together (equal lengths)
    axes = ["steps", "batch_size"]  # share one dimension, named `name`
    name = "schedule"           # (default: the axis names joined by "_")

TOML puts top-level keys (name, out, seeds, ...) before the first ``[table]``. A bare
``zip = [["steps", "batch_size"]]`` (top level) is accepted too.

Semantics:

- Dimensions are the axes in ``[axes]`` order; a zip group is one dimension placed where its
  first axis appears, with one coordinate per member axis. Then ``replicate`` (coordinate
  ``seed``), and each cell's ``agent`` and ``checkpoint``.
- Replicate r runs with seed ``seeds[r]`` at every grid point (common random numbers across
  the grid). Seeds must be distinct: reusing one seed across replicates gives identical
  "replicates" (Mesa issue #1060). ``replicates = R, root_seed = S`` takes the first R
  distinct words of ``np.random.SeedSequence(S).generate_state``: deterministic, and
  raising R keeps the earlier seeds, so stored cells stay valid. Without either, the sweep
  has one replicate with ``base.seed`` (default 0).
- ``graph`` (in ``[base]`` or ``[axes]``): composition-graph files. The sweep records the
  path and the sha256 of the file's content (part of the cell hash), checks that the
  graph loads and fits n_quanta, and evaluates its tasks on every agent's learned set at
  every checkpoint: ``task_success`` (…, agent, checkpoint, task) in the cell files and in
  merged.nc (tasks are the union over graphs; NaN where a cell's graph lacks one).

Output directory::

    sweep.json          manifest: spec, spec hash, seeds, cell hashes, versions, git revision
    cells/<hash>.nc     one Result per finished cell, written atomically when it finishes
    merged.nc           all cells as one labeled xarray Dataset (written when all are done)
    merged.csv          tidy table (merged.parquet too when pyarrow is installed)

A cell's file name is the sha256 of the canonical JSON of its normalised flat config, its
graph file's hash and the simquanta version, so a rerun computes only missing cells, and
results never depend on executor, worker count or completion order (merging follows spec
order). Temporary files start with "." and are removed on the next run.
"""

from .executors import DASK_MISSING, EXECUTORS, dask_available
from .grid import Cell, Dim
from .keys import canonical_json, cell_key, file_sha256, git_revision
from .merge import export_table, merge_cells, open_sweep, to_table
from .report import sweep_info
from .runner import SweepRun, run_sweep
from .seeds import derive_seeds
from .spec import SweepSpec, load_sweep
from .store import CELLS, FORMAT, MANIFEST, MERGED, PARQUET, TABLE, describe_changes

__all__ = [
    "CELLS",
    "DASK_MISSING",
    "EXECUTORS",
    "FORMAT",
    "MANIFEST",
    "MERGED",
    "PARQUET",
    "TABLE",
    "Cell",
    "Dim",
    "SweepRun",
    "SweepSpec",
    "canonical_json",
    "cell_key",
    "dask_available",
    "derive_seeds",
    "describe_changes",
    "export_table",
    "file_sha256",
    "git_revision",
    "load_sweep",
    "merge_cells",
    "open_sweep",
    "run_sweep",
    "sweep_info",
    "to_table",
]
