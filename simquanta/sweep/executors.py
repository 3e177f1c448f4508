"""Executors: run cells serially, in a process pool, or on a Dask cluster."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import _version
from ..config import simulation_from_config
from ..result import Result
from ..simulate import run
from .grid import Cell
from .store import write_cell

EXECUTORS = ("serial", "processes", "dask")
DASK_MISSING = ('executor = "dask" needs dask.distributed, which is not installed: '
                'pip install "simquanta[dask]"')


def _compute(cell: Cell) -> tuple[Result, float]:
    """Run one cell in this process with numba's current thread count."""
    start = time.perf_counter()
    sim = simulation_from_config(cell.config)
    if cell.graph_path is None:
        result = run(sim)
    else:
        result = _run_with_tasks(sim, cell.graph_path)
    if result.versions.get("simquanta") != _version.__version__:
        # The cell key embeds this process's version; a worker with another version would
        # store its numbers under the wrong key.
        raise RuntimeError(f"a worker runs simquanta {result.versions.get('simquanta')}, "
                           f"the sweep {_version.__version__}; install the same version everywhere")
    return result, time.perf_counter() - start


def _run_with_tasks(sim: Any, graph_path: str) -> Result:
    """Run ``sim`` and evaluate the composition graph's tasks on each agent's learned set
    at every checkpoint; the per-quantum records needed for that are not kept."""
    result = run(sim, graph=graph_path)
    return dataclasses.replace(result, learn_step=None, learned_sets=None)


def _single_numba_thread() -> None:
    """One numba thread for a cell run inside a worker.

    Workers already run cells in parallel; nested numba parallelism would oversubscribe the
    cores, and numba's workqueue threading layer is not safe to enter from several threads
    at once (dask/dask#5132: hangs under threaded Dask workers). NUMBA_NUM_THREADS=1 is set
    in the worker's environment before it starts (so numba launches one thread);
    ``set_num_threads(1)`` is thread-local and also covers workers we did not start.
    """
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def _compute_and_write(out: str, cell: Cell, sweep_name: str, single_thread: bool) -> float:
    """Run a cell and write its file (serial executor and process workers: same disk)."""
    if single_thread:
        _single_numba_thread()
    result, seconds = _compute(cell)
    if _PARENT is not None and os.getppid() != _PARENT:
        os._exit(1)  # the sweep died while this cell ran: write nothing
    write_cell(Path(out), cell, result, sweep_name)
    return seconds


def _compute_remote(cell: Cell) -> tuple[Result, float]:
    """Run a cell on a Dask worker; the client writes it (workers may not share a disk)."""
    _single_numba_thread()
    return _compute(cell)


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """NUMBA_NUM_THREADS=1 in os.environ while worker processes are spawned, then restored.

    Spawned children inherit the environment at start, and must have it before they import
    numba (which the spawn bootstrap may do when it re-imports the main module). The parent
    gets its old value back: numba refuses a changed NUMBA_NUM_THREADS once its threads have
    launched, at the parent's next compilation.
    """
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        _restore_env("NUMBA_NUM_THREADS", old)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _init_process_worker(parent: int | None = None) -> None:
    # Children of this worker (if any) inherit one numba thread too.
    os.environ["NUMBA_NUM_THREADS"] = "1"
    if parent is not None:
        global _PARENT
        _PARENT = parent
        watch_parent(parent, kill_signal=True)


#: the sweep process that started this pool worker (None outside pool workers)
_PARENT: int | None = None


#: seconds between a worker's checks that its parent is alive
WATCH_SECONDS = 0.5


def watch_parent(parent: int, kill_signal: bool = False) -> None:
    """End this worker process when ``parent`` (the sweep) dies: a SIGKILL'd sweep cannot
    shut its pool down, and orphaned workers would go on computing and writing cells.

    ``kill_signal``: on Linux also ask the kernel to SIGKILL this process the moment its
    parent thread ends (PR_SET_PDEATHSIG; immediate, even inside a numba kernel that holds
    the GIL). Always: a daemon thread polls the parent id every ``WATCH_SECONDS``.
    """
    if kill_signal and sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent:  # died before we got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="simquanta-watch-parent", daemon=True).start()




def dask_available() -> bool:
    """True when ``dask.distributed`` can be imported."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


Done = Callable[[Cell, float], None]


def run_serial(out: Path, pending: list[Cell], sweep_name: str, on_done: Done) -> None:
    for cell in pending:
        on_done(cell, _compute_and_write(str(out), cell, sweep_name, False))


def run_processes(out: Path, pending: list[Cell], sweep_name: str, workers: int,
                  on_done: Done) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # 'spawn' (not fork): forking a process whose numba/OpenMP threads are running can
    # deadlock the child; spawn starts clean interpreters.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=context,
                               initializer=_init_process_worker, initargs=(os.getpid(),))
    try:
        # ProcessPoolExecutor starts its workers inside submit(): submitting everything
        # here starts them all while the environment says NUMBA_NUM_THREADS=1.
        with _worker_environment():
            futures = {pool.submit(_compute_and_write, str(out), cell, sweep_name, True): cell
                       for cell in pending}
        for future in as_completed(futures):
            on_done(futures[future], future.result())
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


#: seconds to wait for a Dask scheduler before giving up
CONNECT_SECONDS = 5


def _connect(client_class: Any, scheduler: str) -> Any:
    """A client of ``scheduler``, or ValueError (one line) within ``CONNECT_SECONDS``."""
    import logging

    quiet = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL + 1)
    client = client_class.__new__(client_class)
    try:
        _probe(scheduler)
        client.__init__(scheduler, set_as_default=False, timeout=CONNECT_SECONDS)
        return client
    except Exception as exc:  # noqa: BLE001 - bad address, DNS, refused, timeout: one line
        # A half-built Client closes itself in its finaliser: 10 s more and a traceback.
        # Marked closed, that is a no-op; its event loop thread is stopped here.
        with contextlib.suppress(Exception):
            client.status = "closed"
            client._loop_runner.stop()
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"scheduler = {scheduler!r} is invalid: cannot connect within "
                         f"{CONNECT_SECONDS} s ({reason[:200]})") from None
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)


def _probe(scheduler: str) -> None:
    """Parse the address and, for TCP/TLS, open a socket to it: a bad address fails here
    within ``CONNECT_SECONDS``, before a Client exists (a failed Client spends another
    10 s closing itself and prints a traceback from its finaliser)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(scheduler)
    if scheme in ("tcp", "tls"):
        host, port = parse_host_port(location)
        with socket.create_connection((host, port), timeout=CONNECT_SECONDS):
            pass


def run_dask(out: Path, pending: list[Cell], sweep_name: str, workers: int,
             scheduler: str | None, on_done: Done, log: Callable[[str], None]) -> None:
    import logging

    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    old = os.environ.get("NUMBA_NUM_THREADS")
    cluster = None
    try:
        # set_as_default=False: otherwise xarray sees a default distributed scheduler and
        # guards every netCDF write with scheduler-wide locks (a network round trip per
        # variable: ~7x slower cell writes).
        if scheduler:
            client = _connect(Client, scheduler)
        else:
            # pre-spawn-environ reaches the worker before its interpreter starts (before
            # numba is imported); threads_per_worker=1 plus one numba thread per worker:
            # dask/dask#5132, numba's parallel layer under threaded workers can hang.
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ["NUMBA_NUM_THREADS"] = "1"
            with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                cluster = LocalCluster(n_workers=min(workers, len(pending)),
                                       threads_per_worker=1, processes=True,
                                       dashboard_address=None,
                                       silence_logs=logging.ERROR)
            client = Client(cluster, set_as_default=False)
            # our own workers end with this process (a remote cluster's are not ours)
            client.run(watch_parent, os.getpid())
        # The nanny applies pre-spawn-environ to this process too; undo it (see
        # _worker_environment for why the parent must keep its value).
        _restore_env("NUMBA_NUM_THREADS", old)
        try:
            threads = {w.get("nthreads", 1) for w in
                       client.scheduler_info().get("workers", {}).values()}
            if any(n > 1 for n in threads):
                log("warning: Dask workers with several threads each; start them with "
                    "--nthreads 1 and NUMBA_NUM_THREADS=1 (dask/dask#5132). Each cell limits "
                    "numba to one thread.")
            futures = [client.submit(_compute_remote, cell, key=f"simquanta-{cell.key}",
                                     pure=False) for cell in pending]
            cells = {f.key: cell for f, cell in zip(futures, pending, strict=True)}
            for future in as_completed(futures, loop=client.loop):
                result, seconds = future.result()
                cell = cells[future.key]
                write_cell(out, cell, result, sweep_name)
                on_done(cell, seconds)
                future.release()
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        _restore_env("NUMBA_NUM_THREADS", old)

