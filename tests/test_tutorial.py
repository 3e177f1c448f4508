"""The documentation runs as written: examples/tutorial.ipynb from a clean kernel, and every
Python code block of the README."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_tutorial_notebook_runs_from_a_clean_kernel(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # the kernel imports this checkout's simquanta, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(ROOT / "examples" / "tutorial.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "examples")}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6  # loss, agents, tasks, quanta, two sweep figures


def readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_blocks():
    assert len(readme_python_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
def test_readme_python_block_runs_as_written(index, tmp_path, monkeypatch):
    """Each block runs in a fresh namespace from the repository root (README paths are
    relative to it); files it writes are redirected to a temporary folder."""
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(ROOT)
    code = readme_python_blocks()[index]
    for name in re.findall(r"\"([\w.-]+\.(?:nc|png|toml))\"", code):
        if not (ROOT / name).exists() and "/" not in name:
            code = code.replace(f'"{name}"', repr(str(tmp_path / name)))
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "readme"})
    import matplotlib.pyplot as plt

    plt.close("all")
