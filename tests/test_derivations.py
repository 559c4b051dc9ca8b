"""The derivation notebooks execute without error, and they guard phasefl.symbolic against drift.

Each ``derivations/NN_*.md`` (MyST Markdown, read with jupytext) is executed top to bottom in a
fresh ``python3`` kernel by nbclient, with the working directory ``derivations/`` and this
checkout first on ``PYTHONPATH``. A notebook fails the test on any error, including a failed
``assert``. The last code cell of each notebook (tagged ``agreement``) asserts that the expressions
derived in the notebook equal those of ``phasefl.symbolic``; the drift tests show that this cell
fails when an expression in ``phasefl.symbolic`` is changed.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
DERIVATIONS = ROOT / "derivations"
NOTEBOOKS = sorted(DERIVATIONS.glob("[0-9][0-9]_*.md"))
CELL_TIMEOUT = 120  # seconds


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel (raises CellExecutionError at the first failing cell)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(DERIVATIONS)}}
    )
    client.execute(env=env)
    return nb


def code_cells(nb: nbformat.NotebookNode) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def failed_cell(nb: nbformat.NotebookNode):
    """The code cell that raised, and its error output."""
    for cell in code_cells(nb):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                return cell, out
    raise AssertionError("no cell recorded an error")


def test_there_are_derivations():
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = jupytext.read(path)
    last = code_cells(nb)[-1]
    assert "agreement" in last.metadata.get("tags", []), f"{path.name}: the last code cell must be tagged 'agreement'"
    assert "phasefl.symbolic" in last.source, f"{path.name}: the agreement cell must compare with phasefl.symbolic"
    execute(nb)
    printed = "".join(out.get("text", "") for out in last.outputs)
    assert "checked:" in printed, f"{path.name}: the agreement cell checked nothing"


def test_readme_lists_every_notebook():
    readme = (DERIVATIONS / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"derivations/README.md does not list {path.name}"


# Each perturbation is a deliberate one-symbol edit of an expression in phasefl.symbolic, applied in
# the kernel before the notebook runs (as if the package had been edited). The notebook's own
# derivation does not use the package, so everything runs until the final agreement cell, which
# must then fail with an AssertionError.
DRIFT = {  # notebook: (code run first, the agreement check that must fail)
    "03_reduction_and_ntk": (
        "from phasefl.symbolic import model\n"
        "from phasefl.symbolic.symbols import F, Kc, g\n"
        "model.ntk_of_slope = sp.sqrt(Kc**2 + 2 * g**2 * F**2)  # was Kc^2 + g^2 F^2",
        "K(F) agrees with phasefl.symbolic",
    ),
    "04_explicit_solution": (
        "from phasefl.symbolic import solution\n"
        "solution.residual = solution.residual / 2  # the factor 2 K_inf / g becomes K_inf / g",
        "residual F - m agrees with phasefl.symbolic",
    ),
    "08_gradient_descent": (
        "from phasefl.symbolic import gd\n"
        "from phasefl.symbolic.symbols import K, x_var\n"
        "gd.RESIDUAL_FACTOR = 1 - gd.h * x_var * K  # the term alpha kappa s F dropped",
        "R'/R agrees with phasefl.symbolic.gd",
    ),
}


@pytest.mark.parametrize("stem", sorted(DRIFT))
def test_changing_phasefl_symbolic_fails_the_final_assertion(stem):
    perturbation, failing_check = DRIFT[stem]
    nb = jupytext.read(DERIVATIONS / f"{stem}.md")
    nb.cells.insert(0, nbformat.v4.new_code_cell("import sympy as sp\n" + perturbation))
    with pytest.raises(CellExecutionError):
        execute(nb)
    cell, error = failed_cell(nb)
    assert cell is code_cells(nb)[-1], f"{stem}: failed before the agreement cell:\n{cell.source[:300]}"
    assert "agreement" in cell.metadata.get("tags", [])
    assert error.ename == "AssertionError", (error.ename, error.evalue)
    assert error.evalue.startswith(failing_check), error.evalue[:300]
