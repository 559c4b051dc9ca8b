"""Shared helpers of the benchmark: timing, machine description, child processes, peak memory.

Peak memory is measured the honest way for numba and torch: the work runs in a child process,
which reports its own peak resident set size (everything numba, torch and the allocator hold;
tracemalloc would see NumPy's allocations only) together with its resident size just before the
work started. The peak is the kernel's high-water mark ``VmHWM`` of /proc/self/status, reset
right before the work (``echo 5 > /proc/self/clear_refs``), so that memory used earlier (numba's
compiler, imports) does not hide the work's own peak; where that reset is not available it falls
back to ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the lifetime peak, the same number
``RUSAGE_CHILDREN`` would give the parent).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def timed(fn, repeats: int = 5, warmup: int = 0) -> dict:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; median, best and all runs (seconds)."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "runs_s": runs, "repeats": repeats}


def rss_now_kib() -> int:
    """Current resident set size of this process (KiB), from /proc/self/status."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kib() -> int:
    """Peak resident set size (KiB) since the last ``start_memory`` (VmHWM), else since start (ru_maxrss)."""
    hwm = _status_kib("VmHWM")
    return hwm if hwm is not None else int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def start_memory() -> int:
    """Reset the peak-RSS mark to the current size (where Linux allows it); return the current RSS (KiB)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return rss_now_kib()


def mib(kib: float) -> float:
    return kib / 1024.0


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict:
    """Hardware and software the numbers were taken on (every result file records it)."""
    import numba
    import numpy
    import scipy

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        from importlib.metadata import version

        torch_version = version("torch")  # without importing it (seconds)
    except Exception:  # noqa: BLE001 - not installed
        torch_version = None
    import phasefl

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "torch": torch_version,
        "phasefl": phasefl.__version__,
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def run_child(args: list[str], env: dict | None = None, timeout: float = 600, cwd: Path | None = None) -> dict:
    """Run ``python ARGS`` in a fresh process; wall time, return code, stdout, stderr."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    start_epoch = time.time()
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args],
        env=full_env,
        cwd=str(cwd or ROOT),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - start
    return {"wall_s": wall, "returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
            "start_epoch": start_epoch, "end_epoch": time.time()}  # fmt: skip


def run_json_child(args: list[str], env: dict | None = None, timeout: float = 600) -> dict:
    """Run a bench child that prints one JSON object as its last stdout line; return it (+ wall_s)."""
    res = run_child(args, env=env, timeout=timeout)
    if res["returncode"] != 0:
        raise RuntimeError(f"child {' '.join(args)} failed ({res['returncode']}):\n{res['stderr'][-3000:]}")
    lines = [ln for ln in res["stdout"].splitlines() if ln.strip()]
    out = json.loads(lines[-1])
    out["child_wall_s"] = res["wall_s"]
    return out


def memory_report(before_kib: int) -> dict:
    """Peak RSS of this process and its increment over ``before_kib`` (both MiB)."""
    peak = peak_rss_kib()
    return {"peak_rss_mib": mib(peak), "rss_before_mib": mib(before_kib), "peak_increment_mib": mib(peak - before_kib)}


def jsonable(obj):
    """Convert numpy scalars/arrays (recursively) to plain Python for json.dump."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and obj != obj:
        return None
    return obj
