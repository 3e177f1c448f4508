"""Up-front resource estimates: the memory a run or a sweep needs, checked against a limit
before anything is seeded or allocated.

The estimate counts the arrays that scale with the run (bytes):

- outputs: loss, learned, used per agent and checkpoint (3 × 8 × agents × C), twice when
  agent chunks are concatenated, plus per-agent capacity, speed and seeding state;
- recordings: learn steps (8 × agents × K), learned sets (agents × C × K), strengths
  (8 × agents × C × K), composition-graph task values (8 × agents × C × nodes);
- per-quantum tables (frequencies, thresholds, costs, alias table and its construction:
  about 160 × K) and per-thread kernel state (about 96 × K + 4 × dataset size per numba
  thread).

Seeding costs about 15 µs per agent (one ``SeedSequence`` each).

The default limit is 80 % of the memory available now (``MemAvailable``, or the cgroup's
limit if lower); ``max_memory`` takes bytes, a size such as ``"4G"`` or ``"512MiB"``, or a
share of the available memory such as ``"50%"``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .specs import Dataset, Simulation
from .validation import invalid

__all__ = ["DEFAULT_SHARE", "Estimate", "available_memory", "check_memory", "estimate",
           "format_bytes", "memory_limit"]

#: share of the available memory a run may plan to use by default
DEFAULT_SHARE = 0.8
#: seconds to seed one agent's random stream (measured: ~10–20 µs)
SEED_SECONDS_PER_AGENT = 15e-6

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 2**10, "m": 1e6, "mb": 1e6,
          "mib": 2**20, "g": 1e9, "gb": 1e9, "gib": 2**30, "t": 1e12, "tb": 1e12,
          "tib": 2**40}


@dataclass(frozen=True)
class Estimate:
    """Bytes per component (name → (bytes, what drives it)) and seeding seconds."""

    parts: dict[str, tuple[int, str]] = field(default_factory=dict)
    seed_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(b for b, _ in self.parts.values())

    def largest(self) -> tuple[str, int, str]:
        name = max(self.parts, key=lambda k: self.parts[k][0])
        return (name, *self.parts[name])


def format_bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def available_memory() -> int:
    """Bytes of memory available now: MemAvailable, capped by a cgroup limit."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):  # pragma: no cover - non-POSIX
            available = 8 * 2**30
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        with open("/sys/fs/cgroup/memory.current", encoding="ascii") as fh:
            current = int(fh.read().strip())
        if limit != "max":
            available = min(available, max(int(limit) - current, 0))
    except (OSError, ValueError):
        pass
    return int(available)


def memory_limit(max_memory: Any = None, field_name: str = "max_memory") -> tuple[int, str]:
    """(limit in bytes, how it was set) from ``max_memory`` (None: 80 % of available)."""
    if max_memory is None:
        avail = available_memory()
        return int(avail * DEFAULT_SHARE), (f"{DEFAULT_SHARE:.0%} of the "
                                            f"{format_bytes(avail)} available")
    if isinstance(max_memory, bool):
        raise invalid(field_name, max_memory, "must be a size such as 4G, 512MiB or 50%")
    if isinstance(max_memory, (int, float)):
        if not math.isfinite(max_memory) or max_memory <= 0:
            raise invalid(field_name, max_memory, "must be a positive number of bytes")
        return int(max_memory), "as given"
    text = str(max_memory).strip().lower().replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)(%|[kmgt]?i?b?)", text)
    if not match or (match.group(2) not in _UNITS and match.group(2) != "%"):
        raise invalid(field_name, max_memory, "must be a size such as 4G, 512MiB or 50%")
    number = float(match.group(1))
    if match.group(2) == "%":
        if not 0 < number <= 100:
            raise invalid(field_name, max_memory, "a share must lie in (0, 100]%")
        avail = available_memory()
        return int(avail * number / 100), (f"{number:g}% of the {format_bytes(avail)} "
                                           "available")
    limit = number * _UNITS[match.group(2)]
    if limit <= 0:
        raise invalid(field_name, max_memory, "must be a positive size")
    return int(limit), f"as given: {max_memory}"


def _threads() -> int:
    try:
        import numba

        return max(int(numba.get_num_threads()), 1)
    except Exception:  # pragma: no cover - numba always present
        return os.cpu_count() or 1


def estimate(sim: Simulation, *, graph_nodes: int = 0, graph_state: bool = False,
             copies: int = 2) -> Estimate:
    """Memory ``sim`` needs (see the module docstring). ``graph_nodes``: inner nodes of a
    composition graph evaluated per agent and checkpoint; ``graph_state``: the per-quantum
    record that evaluation needs is added (``simulate.with_learned_state``). ``copies``:
    how often outputs are held at once (chunks and their concatenation)."""
    agents, k = sim.agents, sim.quanta.n_quanta
    c = int(sim.checkpoint_steps.size)
    parts: dict[str, tuple[int, str]] = {
        "outputs": (copies * 24 * agents * c + 80 * agents, "agents × checkpoints"),
        "per-quantum tables": (160 * k, "n_quanta"),
    }
    data = 4 * sim.data.size if isinstance(sim.data, Dataset) else 0
    parts["per-thread state"] = (_threads() * (96 * k + data),
                                 "n_quanta" + (" and dataset_size" if data else ""))
    record = 0
    if sim.record_learn_steps:
        record += 8 * agents * k
    if sim.record_learned_sets:
        record += agents * c * k
    if sim.record_strength:
        record += 8 * agents * c * k
    if graph_state and not (sim.record_learn_steps or sim.record_learned_sets
                            or sim.record_strength):
        record += 8 * agents * c * k  # the largest of them: strengths
    if graph_nodes:
        record += 8 * agents * c * graph_nodes + agents * c * k
    if record:
        parts["recordings"] = (record, "agents × checkpoints × n_quanta")
    return Estimate(parts, agents * SEED_SECONDS_PER_AGENT)


def _reduce_hint(driver: str) -> str:
    names = [n.strip() for n in re.split(r"×| and ", driver)]
    return "reduce " + " or ".join(names)


def check_memory(need: Estimate | int, max_memory: Any = None, *, what: str = "this run",
                 field_name: str = "max_memory", hint: str | None = None,
                 flag: str = "--max-memory") -> int:
    """Raise ``ValueError`` (naming ``field_name``) when ``need`` exceeds the limit; returns
    the bytes needed."""
    limit, how = memory_limit(max_memory, field_name)
    total = need.total if isinstance(need, Estimate) else int(need)
    if total <= limit:
        return total
    detail = ""
    if isinstance(need, Estimate):
        name, size, driver = need.largest()
        hint = hint or _reduce_hint(driver)
        seeding = (f"; seeding alone about {need.seed_seconds / 60:.0f} min"
                   if need.seed_seconds > 60 else "")
        detail = f" (largest: {name}, {format_bytes(size)}, grows with {driver}{seeding})"
    raise ValueError(f"{what} would need about {format_bytes(total)} of memory{detail}, more "
                     f"than the limit {field_name} = {format_bytes(limit)} ({how}); "
                     f"{hint or 'reduce the run'}, or raise the limit with {flag}")
