"""numba's cache=True checks a cached kernel only against its own file; simquanta.kernels
caches its kernels in a directory keyed by a digest of all kernel sources."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numba

from simquanta.kernels import cache_dir_for, numba_cache_dir, source_digest


def test_digest_follows_any_source(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = source_digest(tmp_path)
    assert source_digest(tmp_path) == before
    (tmp_path / "b.py").write_text("y = 3\n")
    assert source_digest(tmp_path) != before
    assert cache_dir_for(tmp_path, before) != cache_dir_for(tmp_path, source_digest(tmp_path))


def test_numba_cache_dir_is_restored(tmp_path):
    saved = numba.config.CACHE_DIR
    with numba_cache_dir(tmp_path):
        assert numba.config.CACHE_DIR == str(tmp_path)
    assert numba.config.CACHE_DIR == saved


def test_simquanta_kernels_are_cached_by_source_digest():
    from simquanta import kernels
    from simquanta.kernels.events import EventsVariant, _counting_entry, run_events_resource

    expected = cache_dir_for(Path(kernels.__file__).parent,
                             source_digest(Path(kernels.__file__).parent))
    # decorated at import, and (events variants) on first use, after the import's setting
    lazy = _counting_entry(EventsVariant(False, True, True, False, True))
    for kernel in (run_events_resource, lazy):
        assert Path(kernel._cache.cache_path).is_relative_to(expected)


def _package(root: Path, name: str, guarded: bool) -> None:
    """A cached kernel ``entry`` in entry.py calling ``value`` from dep.py."""
    pkg = root / name
    pkg.mkdir()
    init = textwrap.dedent("""\
        from pathlib import Path
        from simquanta.kernels import cache_dir_for, numba_cache_dir, source_digest
        here = Path(__file__).parent
        with numba_cache_dir(cache_dir_for(here, source_digest(here))):
            from . import entry
        """) if guarded else ""
    (pkg / "__init__.py").write_text(init)
    (pkg / "dep.py").write_text("from numba import njit\n\n@njit\ndef value():\n    return 1\n")
    (pkg / "entry.py").write_text(textwrap.dedent("""\
        from numba import njit
        from .dep import value

        @njit(cache=True)
        def entry():
            return value()
        """))


def _entry(root: Path, name: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    code = f"from {name}.entry import entry; print(entry())"
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_cached_kernel_sees_a_changed_dependency(tmp_path):
    _package(tmp_path, "plain", guarded=False)
    _package(tmp_path, "guarded", guarded=True)
    assert _entry(tmp_path, "plain") == _entry(tmp_path, "guarded") == "1"
    for name in ("plain", "guarded"):
        dep = tmp_path / name / "dep.py"
        dep.write_text(dep.read_text().replace("return 1", "return 2"))
    assert _entry(tmp_path, "plain") == "1"  # numba alone serves the stale kernel
    assert _entry(tmp_path, "guarded") == "2"
