"""The first call of a public function whose numba kernels are not cached says so, once, on stderr.

A fresh install compiles the kernels on first use (phasefl.solve about 13 s, phasefl.kernel_baseline
3 s, phasefl.slope_batch 4 s); ``kernels.announce_compiling`` prints a notice before that, when
``kernels.cache_is_warm`` finds the kernels neither compiled in the process nor in numba's on-disk
cache. The end-to-end test runs in a child process whose NUMBA_CACHE_DIR is an empty folder, so it
really compiles (about 10 s), and then in a second child that finds the cache written by the first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from phasefl import kernels

ROOT = Path(__file__).resolve().parent.parent
NOTICE = "phasefl: compiling the numba kernels of"
SCRIPT = """
import phasefl
cell = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.75)
for _ in range(2):
    phasefl.slope_batch(*cell, [0.0, 1.0])
    phasefl.kernel_baseline_batch(*cell, [0.0, 1.0])
print("done")
"""


def _run(cache_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_cold_cache_is_announced_once_per_function_and_a_warm_one_not_at_all(tmp_path):
    cold = _run(tmp_path)
    assert cold.returncode == 0, cold.stderr
    lines = [line for line in cold.stderr.splitlines() if line.startswith(NOTICE)]
    assert [line.split(" (")[0] for line in lines] == [
        f"{NOTICE} phasefl.slope_batch",
        f"{NOTICE} phasefl.kernel_baseline",
    ]  # each function once, although each is called twice
    assert any(tmp_path.rglob("*.nbi")), "numba wrote no cache index"
    warm = _run(tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert NOTICE not in warm.stderr


def test_announce_compiling_looks_at_each_kernel_once(monkeypatch, capsys):
    monkeypatch.setattr(kernels, "announced", set())
    monkeypatch.setattr(kernels, "cache_is_warm", lambda *k: False)
    kernels.announce_compiling("phasefl.solve", kernels.trajectories, kernels.finals)
    kernels.announce_compiling("phasefl.solve", kernels.trajectories, kernels.finals)
    kernels.announce_compiling("phasefl.final_batch", kernels.finals)  # compiled with solve's
    kernels.announce_compiling("phasefl.slope_batch", kernels.slopes)
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [f"{NOTICE} phasefl.solve", f"{NOTICE} phasefl.slope_batch"]


def test_cache_is_warm_once_compiled_and_says_warm_when_numba_internals_differ(monkeypatch):
    import numpy as np

    kernels.slopes(np.array([[1.0], [1.0], [1.0], [1.0], [1.0], [1.0], [1.0], [0.5], [0.75]]), np.zeros(1))
    assert kernels.cache_is_warm(kernels.slopes)  # compiled in this process

    class Changed:  # a numba whose dispatchers keep their cache elsewhere
        __name__ = "changed"
        signatures = []

    monkeypatch.setitem(kernels.DISPATCHERS, kernels.slopes, Changed())
    assert kernels.cache_is_warm(kernels.slopes)


def test_each_public_batch_function_names_itself(monkeypatch, capsys):
    """The notice names the function the user called (classify, solve, the baseline distance, the kernel
    baseline), once each, although each is called twice."""
    import phasefl
    from phasefl.baseline import baseline_distance_batch, kernel_baseline_batch

    monkeypatch.setattr(kernels, "announced", set())
    monkeypatch.setattr(kernels, "cache_is_warm", lambda *k: False)
    cell = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.75)
    for _ in range(2):
        phasefl.classify_batch(*cell)
        phasefl.solve_batch(*cell, [0.0, 1.0])
        baseline_distance_batch(*cell)
        kernel_baseline_batch(*cell, [0.0, 1.0])
    lines = [line.split(" (")[0] for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        f"{NOTICE} phasefl.classify",
        f"{NOTICE} phasefl.solve",
        f"{NOTICE} the kernel-baseline distance",
        f"{NOTICE} phasefl.kernel_baseline",
    ]
