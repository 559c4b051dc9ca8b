"""``make bench``: phasefl against simulation baselines, side by side, and the speed targets.

    python bench/run.py [--smoke] [--out DIR] [--only SECTION,...] [--merge]

Sections (each a module of bench/):
  methods      compare.py        phasefl vs solve_ivp (full and reduced ODE), NumPy GD, PyTorch GD
                                 on one grid at matched accuracy: time, ratio, peak RSS, error, labels
  targets_1e6  scaling.py        labels of 10^6 cells; trajectories of 10^6 cells x 64 times (+ memory)
  scaling      scaling.py        time vs number of cells, number of times, width (10 ... 10^12)
  machine_limit machine_limit.py measured throughput vs an estimate from the operation count
  cold_start   coldstart.py      python -m phasefl.diagram end to end, imports, numba cache warm/cold
  diagram_256  bench_diagram.py  the 256 x 256 sweep of issue 3
  baseline_distance bench_baseline.py  exact kernel-baseline distance vs the 128-sample one, on 10^6
                                 cells, in the sweep and in the 1000 x 1000 diagram command

Writes DIR/results.json and DIR/results.md (default DIR: bench/results). ``--only ... --merge``
re-runs some sections into an existing results.json (e.g. one that ran while the machine was
busy) and rewrites both files; each section records its own time, load and contention. ``--smoke`` runs every
section on tiny sizes in well under a minute (CI and tests/test_bench.py use it; its numbers
mean nothing). A full run takes about 8 minutes on the 2-core machine; run nothing else
meanwhile, and note that other processes on the machine inflate the medians (the load average
and a contention probe are recorded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH, jsonable, load_average, machine  # noqa: E402

SECTIONS = ("methods", "targets_1e6", "scaling", "machine_limit", "cold_start", "diagram_256", "baseline_distance")


def contention_probe() -> float:
    """Median time of a 4-cell numba call on all threads (~3 us idle; ~12 ms when another process
    holds a core and the parallel region waits for its second thread to be scheduled)."""
    import statistics

    from scaling import make_inputs

    from phasefl import kernels

    x = make_inputs(4)
    kernels.orders(x)
    runs = []
    for _ in range(15):
        start = time.perf_counter()
        kernels.orders(x)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def machine_limit_section(smoke: bool, log=print) -> dict:
    import machine_limit
    import numpy as np
    from common import timed
    from scaling import make_inputs

    from phasefl import kernels

    n = 20_000 if smoke else 1_000_000
    inputs = make_inputs(n, seed=11)
    times = np.geomspace(1e-2, 1e3, 64)
    kernels.orders(inputs[:, :4])
    kernels.finals(inputs[:, :4])
    n_traj = min(n, 100_000)
    sub = np.ascontiguousarray(inputs[:, :n_traj])
    out = np.zeros((9, n_traj, times.size))
    trajectory_kernel = kernels.DISPATCHERS[kernels.trajectories]  # the numba kernel: ``out`` allocated once
    trajectory_kernel(sub, times, out)
    reps = 3 if smoke else 7
    measured = {
        "labels": timed(lambda: kernels.orders(inputs), reps)["median_s"] / n * 1e9,
        "finals": timed(lambda: kernels.finals(inputs), reps)["median_s"] / n * 1e9,
        "trajectory_per_time": timed(lambda: trajectory_kernel(sub, times, out), max(3, reps // 2))["median_s"]
        / (n_traj * times.size)
        * 1e9,
    }
    log(f"  measured ns: { {k: round(v, 1) for k, v in measured.items()} }")
    res = machine_limit.run(inputs, measured, times, sample=40 if smoke else 400, log=log)
    res["measured_on_cells"] = {"labels": n, "finals": n, "trajectory_per_time": f"{n_traj} x {times.size}"}
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, every section, well under a minute")
    p.add_argument("--out", default=str(BENCH / "results"), help="output folder (default bench/results)")
    p.add_argument("--only", default=None, help=f"comma-separated subset of {', '.join(SECTIONS)}")
    p.add_argument("--merge", action="store_true", help="keep the other sections of DIR/results.json")
    args = p.parse_args(argv)
    only = SECTIONS if args.only is None else tuple(s.strip() for s in args.only.split(","))
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        p.error(f"unknown section(s) {bad}; choose from {', '.join(SECTIONS)}")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    res: dict = {}
    old = out_dir / "results.json"
    if args.merge and old.exists():
        res = json.loads(old.read_text())
        if res.get("smoke") != args.smoke:
            p.error("--merge: the existing results.json was written with a different --smoke setting")
    res.update({"smoke": args.smoke, "machine": machine(), "load_start": load_average()})
    res["sections"] = sorted(set(res.get("sections", [])) | set(only), key=SECTIONS.index)
    res.setdefault("contention", {})["start"] = contention_probe()
    print(f"phasefl bench{' (smoke)' if args.smoke else ''}: {', '.join(only)}", flush=True)

    def section(name, fn):
        if name not in only:
            return
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_start": load_average()}
        res[name] = fn()
        meta.update(seconds=time.perf_counter() - t0, load_end=load_average(), contention_after=contention_probe())
        res[name + "_meta"] = meta
        res["contention"][f"after {name}"] = meta["contention_after"]
        print(f"[{name}] {time.perf_counter() - t0:.1f} s", flush=True)

    def log(msg):
        print(msg, flush=True)

    import bench_baseline
    import coldstart
    import compare
    import grid
    import scaling
    from bench_diagram import measure as diagram_measure

    section("methods", lambda: compare.run(grid.smoke_grid() if args.smoke else grid.full_grid(), args.smoke, log))
    section("targets_1e6", lambda: scaling.targets(args.smoke, log))
    section("scaling", lambda: scaling.scaling(args.smoke, log))
    section("machine_limit", lambda: machine_limit_section(args.smoke, log))
    section("cold_start", lambda: coldstart.run(args.smoke, log))
    section("diagram_256", lambda: diagram_measure(16 if args.smoke else 256, 3 if args.smoke else 5))
    section("baseline_distance", lambda: bench_baseline.measure(args.smoke, log))

    import report

    res["load_end"] = load_average()
    res["total_s"] = time.perf_counter() - started  # of this invocation
    res["targets"] = report.targets(res)
    res = jsonable(res)
    (out_dir / "results.json").write_text(json.dumps(res, indent=1))
    (out_dir / "results.md").write_text(report.markdown(res))
    print(f"wrote {out_dir / 'results.json'} and {out_dir / 'results.md'} ({res['total_s']:.0f} s)")
    for t in res["targets"]:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        print(f"  [{verdict}] {t['target']}: {t['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
