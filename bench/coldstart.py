"""Section "cold_start": where the seconds of ``python -m phasefl.diagram`` go.

Every measurement runs in a fresh process:

* ``python -c pass`` (the interpreter alone) and ``python -c "import phasefl.diagram"``, as the
  environment is and with a bytecode cache for phasefl (PYTHONPYCACHEPREFIX; this machine sets
  PYTHONDONTWRITEBYTECODE=1, so phasefl's own modules are otherwise compiled from source on every
  start);
* the CLI end to end, ``python -m phasefl.diagram --axis width,init_scale --quiet --out TMP``,
  in this environment and as the README's first command installs it (without the optional dask),
  with numba's cache warm (phasefl/__pycache__, primed by one untimed run) and cold
  (NUMBA_CACHE_DIR pointing to a new empty folder, so every kernel is compiled);
* ``-X importtime`` of the same CLI run: import time by top-level package and the largest
  single imports;
* a phase breakdown (this file run with ``--phases``): the imports one by one, then
  ``phasefl.diagram.main`` with timers wrapped around the function of each numba kernel in
  ``phasefl.kernels`` (first call = cache load or compile + run; the same call repeated
  afterwards = run only), the sampling, the Dataset assembly, the analytic boundaries, the
  plot, the netCDF write and each savefig.
"""

from __future__ import annotations

import time

_TOP_EPOCH = time.time()  # the phase driver's first statement: interpreter start-up ends here

import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, ROOT, run_child  # noqa: E402

CLI = ["-m", "phasefl.diagram", "--axis", "width,init_scale", "--quiet"]
# The CLI as the README's first command installs it (``pip install -e .``, no dask): dask is the
# optional extra phasefl[distributed], and where it is installed xarray imports dask.array for every
# Variable it builds. Blocking the import makes both xarray and phasefl see "not installed".
WITHOUT_DASK = [
    "-c",
    "import runpy, sys; sys.modules['dask'] = None; runpy.run_module('phasefl.diagram', run_name='__main__')",
]
SMOKE_ARGS = ["--width", "1:1e3:8", "--init-scale", "0.1:10:8", "--seeds", "1"]


def _median_wall(args, env, repeats, tmp_out=None):
    walls = []
    for _ in range(repeats):
        a = list(args)
        if tmp_out is not None:
            a += ["--out", tempfile.mkdtemp(prefix="cli-", dir=tmp_out)]
        res = run_child(a, env=env)
        if res["returncode"] != 0:
            raise RuntimeError(f"{' '.join(a)} failed: {res['stderr'][-2000:]}")
        walls.append(res["wall_s"])
    return {"median_s": statistics.median(walls), "min_s": min(walls), "runs_s": walls, "repeats": repeats}


def parse_importtime(stderr: str) -> dict:
    """Aggregate ``-X importtime`` output: self time per top-level package, largest imports."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        self_us, cum_us, raw = int(parts[0]), int(parts[1]), parts[2]
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        entries.append({"module": raw.strip(), "self_s": self_us / 1e6, "cumulative_s": cum_us / 1e6, "depth": depth})
    by_pkg: dict[str, float] = {}
    for e in entries:
        top = e["module"].split(".")[0]
        by_pkg[top] = by_pkg.get(top, 0.0) + e["self_s"]
    total = sum(by_pkg.values())
    top_level = sorted((e for e in entries if e["depth"] == 0), key=lambda e: -e["cumulative_s"])[:15]
    largest_self = sorted(entries, key=lambda e: -e["self_s"])[:15]
    phasefl_mods = sorted((e for e in entries if e["module"].startswith("phasefl")), key=lambda e: -e["self_s"])
    return {
        "total_import_s": total,
        "by_package_self_s": dict(sorted(by_pkg.items(), key=lambda kv: -kv[1])[:20]),
        "top_level_cumulative": top_level,
        "largest_self": largest_self,
        "phasefl_modules_self": phasefl_mods,
    }


def run(smoke: bool, log=print) -> dict:
    """Full run: every measurement above. ``smoke``: the tiny grid, one run of each kind that
    needs no compile, the importtime taken from the phase-breakdown process (no cold cache)."""
    out: dict = {}
    extra = SMOKE_ARGS if smoke else []
    reps = 1 if smoke else 5
    cli = CLI + extra
    with tempfile.TemporaryDirectory(prefix="phasefl-cold-") as tmp:
        tmp = Path(tmp)
        pyc = tmp / "pycache"
        bytecode_env = {"PYTHONPYCACHEPREFIX": str(pyc), "PYTHONDONTWRITEBYTECODE": ""}
        out["python_pass"] = _median_wall(["-c", "pass"], None, reps)
        out["import_phasefl_diagram"] = _median_wall(["-c", "import phasefl.diagram"], None, reps)
        log(f"  import phasefl.diagram: {out['import_phasefl_diagram']['median_s']:.2f} s")
        phase_args = [str(BENCH / "coldstart.py"), "--phases", str(tmp / "ph")] + cli[2:]
        if smoke:
            res = run_child(["-X", "importtime"] + phase_args)
            if res["returncode"] != 0:
                raise RuntimeError(res["stderr"][-3000:])
            out["importtime_cli"] = parse_importtime(res["stderr"])
            out["phases_warm"] = _phase_result(res)
            out["cli_warm"] = {"median_s": res["wall_s"], "repeats": 1,
                               "note": "--smoke: the phase-breakdown process (same work as the CLI)"}  # fmt: skip
            for key in (
                "import_phasefl_diagram_with_pyc",
                "cli_warm_with_pyc",
                "cli_warm_without_dask",
                "cli_cold",
                "phases_cold",
            ):
                out[key] = {"skipped": "--smoke"}
        else:
            run_child(["-c", "import phasefl.diagram, phasefl.sweep, phasefl.plot, xarray, scipy.io"], env=bytecode_env)
            out["import_phasefl_diagram_with_pyc"] = _median_wall(["-c", "import phasefl.diagram"], bytecode_env, reps)
            run_child(cli + ["--out", str(tmp / "prime")])  # numba cache warm, untimed
            out["cli_warm"] = _median_wall(cli, None, reps, tmp_out=tmp)
            out["cli_warm_without_dask"] = _median_wall(WITHOUT_DASK + cli[2:], None, reps, tmp_out=tmp)
            run_child(cli + ["--out", str(tmp / "prime-pyc")], env=bytecode_env)  # writes every .pyc it needs
            out["cli_warm_with_pyc"] = _median_wall(cli, bytecode_env, 3, tmp_out=tmp)
            log(f"  CLI warm cache: {out['cli_warm']['median_s']:.2f} s "
                f"({out['cli_warm_without_dask']['median_s']:.2f} s without dask), "
                f"({out['cli_warm_with_pyc']['median_s']:.2f} s with .pyc)")  # fmt: skip
            walls = []
            for _ in range(2):
                cache = tempfile.mkdtemp(prefix="numba-cold-", dir=tmp)
                res = run_child(cli + ["--out", tempfile.mkdtemp(dir=tmp)], env={"NUMBA_CACHE_DIR": cache})
                walls.append(res["wall_s"])
            out["cli_cold"] = {"median_s": statistics.median(walls), "runs_s": walls, "repeats": 2}
            log(f"  CLI cold cache: {out['cli_cold']['median_s']:.2f} s")
            res = run_child(["-X", "importtime"] + cli + ["--out", str(tmp / "it")])
            out["importtime_cli"] = parse_importtime(res["stderr"])
            for key, env in (("phases_warm", None), ("phases_cold", "cold")):
                env = {"NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="numba-cold-", dir=tmp)} if env else None
                res = run_child(phase_args, env=env)
                if res["returncode"] != 0:
                    raise RuntimeError(res["stderr"][-3000:])
                out[key] = _phase_result(res)
    out["command"] = "python " + " ".join(cli) + " --out TMP"
    out["numba_cache_dir_default"] = str(ROOT / "phasefl" / "__pycache__")
    return out


def _phase_result(res: dict) -> dict:
    out = json.loads(res["stdout"].splitlines()[-1])
    out["process_wall_s"] = res["wall_s"]
    out["startup_s"] = out["top_epoch"] - res["start_epoch"]  # process creation + interpreter + site
    out["exit_s"] = res["end_epoch"] - out["end_epoch"]  # JSON print, interpreter teardown, process exit
    return out


# ----------------------------------------------------------------------------- phase driver (child)


def phases(out_dir: str, cli_args: list[str]) -> dict:
    t_script = time.perf_counter()
    steps: list[tuple[str, float]] = []

    def step(name, fn):
        start = time.perf_counter()
        fn()
        steps.append((name, time.perf_counter() - start))

    step("import numpy", lambda: __import__("numpy"))
    step("import numba (+ llvmlite)", lambda: __import__("numba"))
    step("import scipy.integrate (phasefl.simulate imports it)", lambda: __import__("scipy.integrate"))
    step("import phasefl (package: kernels, gram, regimes, ...)", lambda: __import__("phasefl"))
    step("import phasefl.diagram", lambda: __import__("phasefl.diagram"))
    step("import xarray (+ pandas; lazily, by phasefl.sweep)", lambda: __import__("xarray"))
    step("import phasefl.sweep", lambda: __import__("phasefl.sweep"))
    step("import tqdm", lambda: __import__("tqdm"))
    step("import matplotlib.pyplot (lazily, by phasefl.plot)", lambda: __import__("matplotlib.pyplot"))
    step("import phasefl.plot", lambda: __import__("phasefl.plot"))
    step("import scipy.io (netCDF writer)", lambda: __import__("scipy.io"))

    import matplotlib.figure
    import xarray

    import phasefl.diagram
    import phasefl.plot
    import phasefl.sweep
    from phasefl import kernels

    calls: list[dict] = []
    first_args: dict = {}

    def wrap(owner, name, label=None, keep_args=False):
        fn = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            res = fn(*args, **kwargs)
            tag = label(args, kwargs) if callable(label) else (label or name)
            calls.append({"what": tag, "s": time.perf_counter() - start})
            if keep_args and tag not in first_args:
                first_args[tag] = (fn, args, kwargs)
            return res

        setattr(owner, name, wrapper)

    for name in ("sweep_block", "orders", "finals", "baseline_distance", "trajectories", "exponent_grid"):
        wrap(kernels, name, f"numba kernel {name}", keep_args=True)
    wrap(phasefl.sweep, "initializations", "sweep: sample Gram numbers")
    wrap(phasefl.sweep, "results_dataset", "sweep: assemble xarray Dataset")
    wrap(phasefl.sweep, "typical_boundaries", "analytic boundaries (typical_boundaries)")
    wrap(phasefl.plot, "plot_diagram", "plot_diagram (figure)")
    wrap(xarray.Dataset, "to_netcdf", "write diagram.nc")
    wrap(matplotlib.figure.Figure, "savefig", lambda a, k: f"savefig {Path(str(a[1])).suffix}")
    start = time.perf_counter()
    rc = phasefl.diagram.main(cli_args + ["--out", out_dir])
    main_s = time.perf_counter() - start
    if rc != 0:
        raise SystemExit(rc)
    recalls = {}
    for tag, (fn, args, kwargs) in first_args.items():
        start = time.perf_counter()
        fn(*args, **kwargs)
        recalls[tag] = time.perf_counter() - start
    return {
        "imports": [{"what": n, "s": s} for n, s in steps],
        "imports_total_s": sum(s for _, s in steps),
        "main_s": main_s,
        "calls": calls,
        "kernel_rerun_s": recalls,
        "script_s": time.perf_counter() - t_script,
        "top_epoch": _TOP_EPOCH,
        "end_epoch": time.time(),
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
    }


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--phases":
        print(json.dumps(phases(sys.argv[2], sys.argv[3:])))
    else:
        print(__doc__)
