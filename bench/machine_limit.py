"""Section "machine_limit": how close the kernels are to what this machine can do.

1. Operation count per cell, on the path a cell actually takes: the generated closed form
   (``phasefl/_generated/closed_form.py``) is executed as plain Python with every float wrapped
   in a counting type and ``math`` replaced by a counting proxy, over a sample of cells from the
   diagram's range. Arithmetic (+ - * / and comparisons) is counted apart from each math-library
   call (exp, expm1, log, log1p, sqrt, hypot, asinh, atan2, ...).
2. Cost of each operation on this machine: numba micro-benchmarks of division, square root and
   every math-library call (one thread, independent calls, four accumulators so that the add
   chain does not bound them). Simple arithmetic (add, mul, compare, negate, abs) is charged one
   clock cycle each (scalar code, about one such operation retired per cycle on the critical
   paths of this code), with the clock estimated from a dependent chain of adds.
3. Estimate = sum over operations of count x cost (one thread), divided by the thread count,
   or the time to stream the inputs and outputs at the measured memory bandwidth, whichever is
   larger (they overlap). Efficiency = estimate / measured: 100 % means the kernel runs at the
   speed its operation count allows on this machine.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import timed

GENERATED = Path(__import__("phasefl").__file__).resolve().parent / "_generated" / "closed_form.py"

ARITH = ("add", "mul", "div", "cmp", "neg", "abs")
MATH = ("sqrt", "exp", "expm1", "log", "log1p", "hypot", "asinh", "atan2", "copysign", "pow")


class _Count:
    counts: Counter = Counter()


def _op(name, f):
    def method(self, *other):
        _Count.counts[name] += 1
        res = f(float(self), *(float(o) for o in other))
        return Num(res) if isinstance(res, float) else res

    return method


class Num(float):
    """A float that counts the arithmetic done with it."""

    __add__ = _op("add", float.__add__)
    __radd__ = _op("add", float.__radd__)
    __sub__ = _op("add", float.__sub__)
    __rsub__ = _op("add", float.__rsub__)
    __mul__ = _op("mul", float.__mul__)
    __rmul__ = _op("mul", float.__rmul__)
    __truediv__ = _op("div", float.__truediv__)
    __rtruediv__ = _op("div", float.__rtruediv__)
    __neg__ = _op("neg", float.__neg__)
    __abs__ = _op("abs", float.__abs__)
    __lt__ = _op("cmp", float.__lt__)
    __le__ = _op("cmp", float.__le__)
    __gt__ = _op("cmp", float.__gt__)
    __ge__ = _op("cmp", float.__ge__)
    __eq__ = _op("cmp", float.__eq__)
    __ne__ = _op("cmp", float.__ne__)
    __hash__ = float.__hash__

    def __pow__(self, other):
        _Count.counts["mul" if float(other) == 2.0 else "pow"] += 1  # numba lowers x**2 to x*x
        return Num(float(self) ** float(other))


class _CountingMath:
    """Stands in for the ``math`` module inside the generated functions."""

    def __getattr__(self, name):
        fn = getattr(math, name)
        if not callable(fn):
            return fn

        def call(*args):
            _Count.counts[name] += 1
            res = fn(*(float(a) for a in args))
            return Num(res) if isinstance(res, float) else res

        return call


def _traced_module() -> dict:
    """The generated module's functions as plain Python, with the counting math module."""
    src = GENERATED.read_text()
    src = re.sub(r"^@numba\.njit\(.*\)\s*$", "", src, flags=re.M)
    ns: dict = {"__name__": "closed_form_traced"}
    exec(compile(src, str(GENERATED), "exec"), ns)
    ns["math"] = _CountingMath()
    return ns


def op_counts(inputs: np.ndarray, times: np.ndarray) -> dict:
    """Mean operation counts per cell (cell_constants, order_parameters, observables_final) and per
    cell x time (observables_at), and the distribution of the solution's branch ('kind')."""
    ns = _traced_module()
    per: dict[str, Counter] = {k: Counter() for k in ("cell_constants", "order_parameters", "observables_final",
                                                       "observables_at")}  # fmt: skip
    kinds: Counter = Counter()
    n_cells = inputs.shape[1]
    n_at = 0
    for i in range(n_cells):
        args = [Num(float(x)) for x in inputs[:, i]]
        _Count.counts = Counter()
        c = ns["cell_constants"](*args)
        per["cell_constants"] += _Count.counts
        kinds[float(c[17])] += 1
        for fname in ("order_parameters", "observables_final"):
            _Count.counts = Counter()
            ns[fname](c)
            per[fname] += _Count.counts
        for t in times:
            _Count.counts = Counter()
            ns["observables_at"](Num(float(t)), c)
            per["observables_at"] += _Count.counts
            n_at += 1
    out = {k: {op: v / (n_at if k == "observables_at" else n_cells) for op, v in cnt.items()} for k, cnt in per.items()}
    out["kind_fraction"] = {str(int(k)): v / n_cells for k, v in kinds.items()}
    out["sample_cells"] = n_cells
    return out


# ----------------------------------------------------------------------------- micro-benchmarks


OPS = (
    "base",
    "add",
    "mul",
    "div",
    "sqrt",
    "exp",
    "expm1",
    "log",
    "log1p",
    "hypot",
    "asinh",
    "atan2",
    "copysign",
    "pow",
)


def _op_loop_source() -> str:
    """One numba function, one loop per operation (the op test is loop-invariant: LLVM unswitches it)."""
    exprs = {
        "base": "{x}", "add": "({x} + {y})", "mul": "({x} * {y})", "div": "({x} / {y})",
        "sqrt": "math.sqrt({x})", "exp": "math.exp(-{x})", "expm1": "math.expm1(-{x})", "log": "math.log({x})",
        "log1p": "math.log1p({x})", "hypot": "math.hypot({x}, {y})", "asinh": "math.asinh({x})",
        "atan2": "math.atan2({x}, {y})", "copysign": "math.copysign({x}, {y})", "pow": "math.pow({x}, {y})",
    }  # fmt: skip
    lines = ["def op_loop(op, x, y):", "    a0 = a1 = a2 = a3 = 0.0"]
    for k, name in enumerate(OPS):
        e = exprs[name]
        lines.append(f"    {'if' if k == 0 else 'elif'} op == {k}:")
        lines.append("        for i in range(0, x.size - 3, 4):")
        for j, acc in enumerate(("a0", "a1", "a2", "a3")):
            xi, yi = (f"x[i + {j}]", f"y[i + {j}]") if j else ("x[i]", "y[i]")
            lines.append(f"            {acc} += {e.format(x=xi, y=yi)}")
    lines.append("    return a0 + a1 + a2 + a3")
    return "\n".join(lines)


def _op_loop():
    import numba

    ns = {"math": math}
    exec(_op_loop_source(), ns)
    return numba.njit(ns["op_loop"])


def op_costs(n: int = 2_000_000) -> dict:
    """ns per operation, one thread, independent calls (the loop's own cost subtracted)."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        x = rng.uniform(0.1, 3.0, n)
        y = rng.uniform(0.1, 3.0, n)
        fn = _op_loop()
        fn(0, x[:8], y[:8])
        per = {name: timed(lambda k=k: fn(k, x, y), 5)["min_s"] / n * 1e9 for k, name in enumerate(OPS)}
        base = per.pop("base")
        costs = {k: max(v - base, 0.05) for k, v in per.items()}
        # abs, neg, cmp: one cheap instruction each; charge them like an add
        for k in ("cmp", "neg", "abs"):
            costs[k] = costs["add"]
        costs["loop_ns"] = base
        return costs
    finally:
        numba.set_num_threads(threads)


def clock_ghz(n: int = 20_000_000) -> float:
    """Clock estimate from a dependent chain of float adds (3-cycle latency on Zen 3 / recent Intel: 4)."""
    import numba

    @numba.njit
    def chain(k):
        acc = 0.0
        for _ in range(k):
            acc = acc + 1.0000001
        return acc

    chain(10)
    t = timed(lambda: chain(n), 5)["min_s"]
    return 3.0 * n / t / 1e9


def bandwidth_gbs(n_bytes: int = 400 * 2**20) -> dict:
    """Memory bandwidth: numba parallel fill of a fresh (page-faulting) array and of a touched one, and a copy."""
    import numba

    @numba.njit(parallel=True)
    def fill(out):
        for i in numba.prange(out.size):
            out[i] = i * 0.5

    n = n_bytes // 8
    small = np.empty(16)
    fill(small)
    fresh = timed(lambda: fill(np.empty(n)), 3)["min_s"]
    arr = np.empty(n)
    fill(arr)
    touched = timed(lambda: fill(arr), 5)["min_s"]
    src = np.ones(n)
    copy = timed(lambda: np.copyto(arr, src), 5)["min_s"]
    return {
        "write_fresh_gbs": n_bytes / fresh / 1e9,
        "write_touched_gbs": n_bytes / touched / 1e9,
        "copy_gbs": 2 * n_bytes / copy / 1e9,
    }


def _ns_of(counts: dict, costs: dict) -> float:
    return sum(v * costs.get(op, costs["add"]) for op, v in counts.items())


def run(inputs: np.ndarray, measured: dict, times: np.ndarray, sample: int = 400, log=print) -> dict:
    """``measured``: ns per cell (or per cell x time) measured on this machine for the kernels,
    keyed 'labels' (orders + label rule), 'finals', 'trajectory_per_time' (all 9 observables),
    with the thread count they ran on."""
    import numba

    rng = np.random.default_rng(1)
    pick = rng.choice(inputs.shape[1], size=min(sample, inputs.shape[1]), replace=False)
    counts = op_counts(inputs[:, pick], times[:: max(1, times.size // 8)])
    costs = op_costs(200_000 if inputs.shape[1] < 100_000 else 2_000_000)
    ghz = clock_ghz(2_000_000 if inputs.shape[1] < 100_000 else 20_000_000)
    costs["measured_add_mul"] = {k: costs[k] for k in ("add", "mul")}
    for k in ("add", "mul", "cmp", "neg", "abs", "copysign"):
        costs[k] = 1.0 / ghz
    bw = bandwidth_gbs(40 * 2**20 if inputs.shape[1] < 100_000 else 400 * 2**20)
    threads = numba.get_num_threads()
    cc = counts["cell_constants"]
    work = {
        "labels": (Counter(cc) + Counter(counts["order_parameters"]), 9 * 8, 7 * 8),
        "finals": (Counter(cc) + Counter(counts["observables_final"]), 9 * 8, 9 * 8),
        "trajectory_per_time": (Counter(counts["observables_at"]), 0, 9 * 8),
    }
    rows = {}
    for key, (cnt, bytes_in, bytes_out) in work.items():
        compute_ns = _ns_of(cnt, costs) / threads
        memory_ns = (bytes_in + bytes_out) / (bw["write_touched_gbs"])  # GB/s = bytes/ns
        estimate = max(compute_ns, memory_ns)
        meas = measured.get(key)
        arith = sum(v for op, v in cnt.items() if op in ARITH)
        calls = {op: round(v, 2) for op, v in cnt.items() if op not in ARITH}
        rows[key] = {
            "arith_ops": round(arith, 1),
            "math_calls": calls,
            "compute_ns_per_unit_1thread": _ns_of(cnt, costs),
            "compute_ns_estimate": compute_ns,
            "memory_ns_estimate": memory_ns,
            "estimate_ns": estimate,
            "measured_ns": meas,
            "efficiency": (estimate / meas) if meas else None,
            "estimated_units_per_s": 1e9 / estimate,
            "measured_units_per_s": (1e9 / meas) if meas else None,
            "cycles_per_unit_measured_1thread": (meas * threads * ghz) if meas else None,
        }
    return {
        "op_counts": counts,
        "op_costs_ns": costs,
        "clock_ghz_estimate": ghz,
        "bandwidth": bw,
        "threads": threads,
        "kernels": rows,
        "note": "units: one cell for labels/finals, one cell x time for trajectory_per_time (all 9 observables); "
        "cell_constants is charged once per cell to labels and finals, and not to trajectory_per_time",
    }


if __name__ == "__main__":  # quick look
    import phasefl

    n = 2000
    rng = np.random.default_rng(0)
    w = 10 ** rng.uniform(0, 6, n)
    s = 10 ** rng.uniform(-3, 3, n)
    g = phasefl.sample_gram(w, s, s, seed=0)
    inp = np.stack([w**-0.5, np.ones(n), np.ones(n), np.ones(n), np.ones(n), g.uu, g.ww, g.uw, g.d2])
    start = time.perf_counter()
    print(op_counts(inp[:, :200], np.geomspace(1e-2, 1e3, 8)))
    print(time.perf_counter() - start)
    print(op_costs())
    print(clock_ghz(), bandwidth_gbs())
