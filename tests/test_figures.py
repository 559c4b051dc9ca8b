"""Smoke test of ``make figures``: every data script and every figure script runs on tiny data.

Each script is imported from figures/ and its ``main(argv)`` called with ``--tiny`` into a
temporary folder (in-process: the scripts are plain modules with a ``main``), so a broken
script fails CI. The real figures are built by ``make figures``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIGURES_DIR = Path(__file__).resolve().parent.parent / "figures"

#: plot script -> data file it reads (written by data_<stem>.py)
FIGURES = {
    "fig_1_ntk_evolution": "mechanisms.npz",
    "fig_2_weight_geometry": "mechanisms.npz",
    "fig_3_phase_width_init": "phase_width_init.nc",
    "fig_4_phase_output_lr": "phase_output_lr.nc",
    "fig_5_exponent_plane": "exponent_plane.nc",
    "fig_6_kernel_baseline": "kernel_baseline.npz",
    "fig_7_large_init": "large_init.npz",
    "fig_8_verification": "verification.npz",
    "fig_9_empirical": "empirical.nc",
    "fig_10_work_precision": "work_precision.npz",
}
DATA_FILES = sorted(set(FIGURES.values()))


def _output_name(script: str) -> str:
    """fig_3_phase_width_init -> fig3_phase_width_init (the Makefile's naming)."""
    return re.sub(r"^fig_(\d+)_", r"fig\1_", script)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory, run_figure_script) -> Path:
    """Run every data script with --tiny into one folder."""
    data = tmp_path_factory.mktemp("data")
    for file in DATA_FILES:
        run_figure_script("data_" + file.rsplit(".", 1)[0], ["--tiny", "--data", str(data)])
    return data


@pytest.mark.parametrize("file", DATA_FILES)
def test_data_script_writes_its_file(tiny_data, file):
    path = tiny_data / file
    assert path.is_file() and path.stat().st_size > 0
    assert not list(tiny_data.glob(".*")), "temporary files left behind"


@pytest.mark.parametrize("script", sorted(FIGURES))
def test_figure_script_writes_pdf_and_png(tiny_data, tmp_path, script, run_figure_script):
    run_figure_script(script, ["--tiny", "--data", str(tiny_data), "--out", str(tmp_path)])
    for ext, magic in (("pdf", b"%PDF"), ("png", b"\x89PNG")):
        path = tmp_path / f"{_output_name(script)}.{ext}"
        assert path.is_file() and path.stat().st_size > 1000, path
        assert path.read_bytes()[:4] == magic


def test_every_script_is_built_and_documented():
    """The Makefile builds, and the README lists, exactly the figure scripts present."""
    scripts = sorted(p.stem for p in FIGURES_DIR.glob("fig_*.py"))
    assert scripts == sorted(FIGURES)
    makefile = (FIGURES_DIR / "Makefile").read_text()
    readme = (FIGURES_DIR / "README.md").read_text()
    for script, data in FIGURES.items():
        out = _output_name(script)
        assert out in makefile and f"$(DATA)/{data}" in makefile, script
        assert f"{out}.pdf" in readme and f"{script}.py" in readme, script
    for data_script in FIGURES_DIR.glob("data_*.py"):
        assert data_script.stem[len("data_") :] in " ".join(DATA_FILES), data_script.name


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_makefile_plans_every_figure(tmp_path):
    """`make -n` from an empty data/out plans one run of every data and every figure script."""
    plan = subprocess.run(
        [
            "make",
            "-n",
            "-C",
            str(FIGURES_DIR),
            f"DATA={tmp_path / 'data'}",
            f"OUT={tmp_path / 'out'}",
            f"PYTHON={sys.executable}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for script in list(FIGURES) + ["data_" + f.rsplit(".", 1)[0] for f in DATA_FILES]:
        assert plan.count(f"{sys.executable} {script}.py") == 1, (script, plan)
