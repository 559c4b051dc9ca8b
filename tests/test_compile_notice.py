"""The first call of a public function whose numba kernels are not cached says so, once, on stderr.

A fresh install compiles the kernels on first use (phasefl.solve about 13 s, phasefl.kernel_baseline
3 s, phasefl.slope_batch 4 s); inside ``kernels.compile_notice(name)`` the first "numba:compile" event
(numba's event API: broadcast when a dispatcher compiles, not when it loads from the cache) prints
the notice. The end-to-end test runs in a child process whose NUMBA_CACHE_DIR is an empty folder, so
it really compiles (about 10 s), and then in a second child that finds the cache written by the
first. The in-process tests make numba compile a new little function (a real event, ~0.1 s).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np

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


def compile_something() -> None:
    """Make numba compile (a new function each time, so never cached): one real "numba:compile" event."""
    numba.njit(lambda x: x + 1)(1)


def test_the_notice_names_the_outermost_block_once_and_only_on_a_compile(monkeypatch, capsys):
    monkeypatch.setattr(kernels.NOTICE, "said", set())
    with kernels.compile_notice("phasefl.solve"):
        kernels.slopes(np.ones((9, 1)), np.zeros(1))  # compiled already in this process: no event
    assert capsys.readouterr().err == ""
    with kernels.compile_notice("phasefl.solve"):
        with kernels.compile_notice("phasefl.final_batch"):  # called by solve: solve's name
            compile_something()
            compile_something()
    with kernels.compile_notice("phasefl.solve"):
        compile_something()  # said already
    with kernels.compile_notice("phasefl.slope_batch"):
        compile_something()
    compile_something()  # outside any block: nothing
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in err] == [f"{NOTICE} phasefl.solve", f"{NOTICE} phasefl.slope_batch"]
    assert kernels.NOTICE.what is None


def test_each_public_batch_function_names_itself(monkeypatch, capsys):
    """The notice names the function the user called (classify, solve, the baseline distance, the kernel
    baseline), once each, although each is called twice: each kernel it calls is made to compile."""
    import phasefl
    from phasefl.baseline import baseline_distance_batch, kernel_baseline_batch

    monkeypatch.setattr(kernels.NOTICE, "said", set())
    for name in ("orders", "trajectories", "finals", "baseline_distance", "baselines"):
        original = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, f=original: (compile_something(), f(*a))[1])
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
