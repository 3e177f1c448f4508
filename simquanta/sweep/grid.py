"""The sweep grid: dimensions (axes and zip groups) and cells."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import KEYS
from .keys import plain
from .locate import Locator, invalid_at

#: config fields a sweep may set in [base] or vary in [axes]
FIELDS = (*KEYS, "graph")
#: dims/coords/variables of the merged dataset that axis or zip names must not shadow
RESERVED = ("replicate", "seed", "agent", "checkpoint", "step", "samples", "quantum",
             "loss", "learned", "used", "agent_capacity", "cell_engine")


@dataclass(frozen=True)
class Dim:
    """One sweep dimension: a single axis, or a zip group of axes varied together."""

    name: str
    members: tuple[str, ...]
    size: int


@dataclass(frozen=True)
class Cell:
    """One simulation of the sweep, in spec order (``index``)."""

    index: int
    position: tuple[int, ...]  # index along each sweep dim, then the replicate
    labels: dict[str, Any]  # axis → value, plus replicate and seed (for messages)
    config: dict[str, Any]  # flat simulation config (input of simulation_from_config)
    graph: str | None  # composition graph path as written in the spec
    graph_sha256: str | None
    key: str  # cell_key(...): file name and identity
    graph_path: str | None = None  # the graph file, resolved (not part of the identity)
    shape: tuple[int, int, int] = (0, 0, 0)  # agents, checkpoints, quanta its file holds
    memory: int = 0  # bytes its run needs (resources.estimate)


def build_dims(loc: Locator, axes: Mapping[str, list[Any]],
               zips: Sequence[Mapping[str, Any] | Sequence[str]]) -> list[Dim]:
    """The sweep dimensions: one per axis, a zip group once (at its first axis)."""
    group_of: dict[str, tuple[str, tuple[str, ...]]] = {}
    names: set[str] = set()
    for i, raw in enumerate(zips):
        where = f"zip[{i}]"
        if isinstance(raw, Mapping):
            extra = set(raw) - {"axes", "name"}
            if extra:
                raise invalid_at(loc, where, dict(raw),
                                 f"unknown key {sorted(extra)[0]!r}; a [[zip]] table has "
                                 "axes = [...] and an optional name")
            members, name = raw.get("axes"), raw.get("name")
        else:
            members, name = raw, None
        members = plain(members)
        if (not isinstance(members, list) or len(members) < 2
                or not all(isinstance(m, str) for m in members)):
            raise invalid_at(loc, where, members,
                             "axes must list at least two axis names of [axes]")
        for m in members:
            if m not in axes:
                raise invalid_at(loc, where, members, f"{m!r} is not an axis in [axes]")
            if m in group_of:
                raise invalid_at(loc, where, members, f"axis {m!r} is in two zip groups")
        lengths = {m: len(axes[m]) for m in members}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{m} has {n}" for m, n in lengths.items())
            raise invalid_at(loc, where, members,
                             f"zipped axes must have equal lengths ({shown} values)")
        name = "_".join(members) if name is None else name
        if (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_]\w*", name)
                or name in FIELDS or name in RESERVED or name in names):
            raise invalid_at(loc, where, name,
                             "name must be an identifier that is no config field, no other "
                             f"zip name and none of {', '.join(RESERVED)}")
        names.add(name)
        for m in members:
            group_of[m] = (name, tuple(members))
    dims: list[Dim] = []
    for axis, values in axes.items():
        if axis in group_of:
            name, members = group_of[axis]
            if all(d.name != name for d in dims):  # placed at its first axis
                dims.append(Dim(name, members, len(values)))
        else:
            dims.append(Dim(axis, (axis,), len(values)))
    return dims
