"""The benchmark's smoke run works end to end (``bench/run.py --smoke``); its timings are not checked.

Benchmarks are not timed tests: this only proves that every section of ``make bench`` runs and
writes its JSON and Markdown with every method and section in them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("phasefl", "ivp_reduced", "ivp_full", "gd_numpy", "gd_torch", "reference")
SECTIONS = ("methods", "targets_1e6", "scaling", "machine_limit", "cold_start", "diagram_256", "baseline_distance")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out, json.loads((out / "results.json").read_text()), (out / "results.md").read_text()


def test_every_section_is_written(smoke):
    _, res, md = smoke
    assert res["smoke"] is True
    for section in SECTIONS:
        assert section in res, section
    for heading in ("## Targets", "## Methods side by side", "## Scaling", "## Cold start", "## Machine limit"):
        assert heading in md, heading
    for heading in ("## Kernel-baseline distance", "| phasefl.sweep.sweep"):
        assert heading in md, heading


def test_every_method_is_compared(smoke):
    _, res, md = smoke
    rows = {r["method"]: r for r in res["methods"]["rows"]}
    assert set(rows) == set(METHODS)
    for method, row in rows.items():
        if "skipped" in row:  # only the optional torch baseline may be skipped
            assert method == "gd_torch"
            assert "torch" in row["skipped"]
            continue
        assert row["time_per_cell_mean_s"] > 0
        assert row["label_agreement"] >= 0.9, (method, row["label_agreement"])  # accurate baselines agree
        assert row["max_rel_error_F"] <= 2e-6, (method, row["max_rel_error_F"])
    assert rows["phasefl"]["max_rel_error_F"] < 1e-9
    assert res["methods"]["fastest_baseline"] in METHODS
    assert res["methods"]["details"]["phasefl"]["slopes_equal_trajectories_F"]  # the F-only kernel's F is the same
    assert res["methods"]["speedup_vs_fastest"]["slope_amortized"] > 0
    for name in ("phasefl closed form", "reduced 1-D ODE", "full 2d-dim gradient flow", "NumPy gradient descent"):
        assert name in md, name


def test_targets_and_scaling_are_reported(smoke):
    _, res, md = smoke
    assert len(res["targets"]) >= 6
    assert all(t["met"] is None for t in res["targets"])  # smoke: no verdicts
    assert "n/a (smoke)" in md
    scaling = res["scaling"]
    assert [r["n_cells"] for r in scaling["cells"]][0] == 100
    assert len(scaling["width"]["rows"]) == 12 and scaling["width"]["rows"][-1]["width"] == 1e12
    assert {"phasefl_kernels", "phasefl_solve_batch"} <= set(res["targets_1e6"]["trajectories"])
    traj = res["targets_1e6"]["trajectories"]
    assert traj["F_f64"]["max_rel_diff_from_phasefl"] < 1e-12  # the same closed form, stored in part
    assert traj["FK_f32"]["max_rel_diff_from_phasefl"] < 2**-23  # float32 rounding
    assert res["cold_start"]["importtime_cli"]["total_import_s"] > 0
    assert res["machine_limit"]["kernels"]["labels"]["efficiency"] > 0
