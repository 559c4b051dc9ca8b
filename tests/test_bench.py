"""Smoke test of ``make bench``: every benchmark of bench/ runs once on tiny sizes (``--tiny``) and
checks its result, and bench/table.py turns the JSON into the table. The timings are not checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_benchmark")

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "bench_baseline": {"phasefl", "ivp_full", "ivp_reduced", "gd_numpy", "gd_torch"},
    "bench_kernel_cells": {"finals", "orders", "baseline_distance", "trajectories"},
    "bench_kernel_width": {"sample_gram", "orders", "baseline_distance"},
    "bench_gd_steps": {"10.0", "1000000000000.0"},
    "bench_sweep": None,
    "bench_sweep_block": None,
    "bench_startup": {"import phasefl", "diagram command"},
}


def test_every_benchmark_runs_on_tiny_sizes(tmp_path):
    out = tmp_path / "results.json"
    # without the variables of an xdist worker (this test may run in one): with them pytest-benchmark
    # takes itself for a worker and leaves the JSON file to a controller that does not exist
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "bench", "--tiny", f"--benchmark-json={out}", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    ran: dict[str, set] = {}
    for b in results["benchmarks"]:
        ran.setdefault(b["name"].split("[")[0], set()).add(b["name"])
        assert b["stats"]["median"] > 0 and b["extra_info"]["cells"] >= 1, b["name"]
        assert "peak_mib" in b["extra_info"], b["name"]
    assert set(ran) == set(EXPECTED)
    for name, params in EXPECTED.items():
        if params is not None:
            missing = {p for p in params if not any(f"[{p}" in n or f"-{p}]" in n for n in ran[name])}
            missing -= set() if _has_torch() else {"gd_torch"}
            assert not missing, (name, missing)
    table = subprocess.run([sys.executable, "bench/table.py", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert table.returncode == 0, table.stderr
    assert "| benchmark | median | rounds | cells/s | peak MiB | max error of F |" in table.stdout
    assert table.stdout.count("\n| ") >= len(results["benchmarks"]) + 1


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None
