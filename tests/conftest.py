"""Shared test helpers. ``tests/`` is on the import path (pytest's ``pythonpath`` setting in
pyproject.toml), so the independent references (``reference_mpmath``) import as plain modules."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import matplotlib
import pytest

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"


def _run_figure_script(name: str, argv: list[str]) -> None:
    """Import figures/<name>.py as when run from figures/ and call its main(argv), leaving no trace.

    The scripts import their siblings as top-level modules (``common``, ``data_mechanisms``), so
    figures/ is on the path while they run; those names are removed again afterwards (bench/ has a
    ``common`` too), and so are the slide-size matplotlib settings.
    """
    before = set(sys.modules)
    sys.path.insert(0, str(FIGURES_DIR))
    try:
        with matplotlib.rc_context():
            assert importlib.import_module(name).main(argv) == 0
    finally:
        sys.path.remove(str(FIGURES_DIR))
        for mod in set(sys.modules) - before:
            if getattr(sys.modules[mod], "__file__", None) and Path(sys.modules[mod].__file__).parent == FIGURES_DIR:
                del sys.modules[mod]


@pytest.fixture(scope="session")
def run_figure_script():
    """``run_figure_script(name, argv)``: run a figure script's main in this process (see above)."""
    return _run_figure_script
