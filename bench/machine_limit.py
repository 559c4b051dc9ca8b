"""Section "machine_limit": how close the kernels are to what this machine can do.

1. Operation count per cell, on the path a cell actually takes, of the work the compiled kernel
   must do: the generated closed form (``phasefl/_generated/closed_form.py``) is executed as plain
   Python (decorators stripped) with every float wrapped in a tracing type ``Num`` and ``math``
   replaced by a tracing proxy, over a sample of cells from the diagram's range. Every executed
   operation (+ - * / neg abs, x**2 as a mul, and each math-library call: exp, expm1, log, log1p,
   sqrt, hypot, asinh, atan2, copysign, ...) gets an id, and every value carries its provenance:
   the set of operation ids it depends on (a Python int used as a bitset). The generated
   functions are inlined into the loops of ``phasefl/kernels.py`` (``inline="always"``), so LLVM
   drops every operation whose result the loop does not store and hoists out of the time loop
   every operation that does not depend on t. Hence a kernel is charged only the operations in
   the union of the provenance of the outputs it stores:

   - labels (``kernels.orders``): the 7 outputs of ``order_parameters`` (operations of
     ``cell_constants`` and ``order_parameters``), per cell;
   - finals (``kernels.finals``): the 9 outputs of ``observables_final``, per cell;
   - trajectory_per_time (``kernels.DISPATCHERS[kernels.trajectories]``): the 9 outputs of ``observables_at(t, c)``
     restricted to the operations that depend on t (t enters as a t-dependent value; an
     operation is t-dependent when one of its operands is), per cell x time. The t-independent
     rest (``cell_constants`` and the hoisted part of ``observables_at``) is done once per cell
     and is reported per cell (``trajectory_per_cell``); the estimate amortizes it over the
     times of the measured run.

   Comparisons give bools, not values: they are not counted, and neither is the arithmetic that
   only feeds branch decisions (a few compares and adds per cell, e.g. ``F0*m <= 0`` for the
   branch ``kind``), so the estimate is slightly optimistic. Constants and literals carry no
   provenance. Common subexpressions are counted each time they are executed (LLVM merges some
   of them, e.g. the sqrt(d2) of both Kc and zeta in ``kernels.orders``), which leans the other way.
2. Cost of each operation on this machine: numba micro-benchmarks of division, square root and
   every math-library call (one thread, independent calls, four accumulators so that the add
   chain does not bound them), each call on the arguments the kernels pass it (recorded in 1.
   for the calls they must make, resampled): a call's cost depends on its arguments (glibc's
   hypot is about twice as fast when one argument dominates; its exp takes a special-case path,
   3 to 5 times slower, for arguments below about -512, where e^-z is tiny or underflows).
   Simple arithmetic (add, mul, negate, abs, copysign) is charged one clock cycle each (scalar
   code, about one such operation retired per cycle on the critical paths of this code), with
   the clock estimated from a dependent chain of adds.
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

from phasefl._generated.closed_form import CONSTANTS

GENERATED = Path(__import__("phasefl").__file__).resolve().parent / "_generated" / "closed_form.py"

ARITH = ("add", "mul", "div", "cmp", "neg", "abs")
MATH = ("sqrt", "exp", "expm1", "log", "log1p", "hypot", "asinh", "atan2", "copysign", "pow")


class _Trace:
    """Operations executed in the current evaluation: op id -> name, whether it depends on t, and
    the arguments of math-library calls (None for arithmetic)."""

    names: list[str] = []
    tdep: list[bool] = []
    args: list[tuple | None] = []

    @classmethod
    def reset(cls, keep: int = 0) -> None:
        """Forget the operations from id ``keep`` on (ids are reused by the next evaluation)."""
        del cls.names[keep:]
        del cls.tdep[keep:]
        del cls.args[keep:]


def _value(res, name: str, operands, call_args: tuple | None = None) -> object:
    """The result of an operation: a float becomes a Num whose provenance is the operands' plus this op."""
    if not isinstance(res, float):
        return res  # bools (and anything else that is not a value) carry no provenance
    if name == "pow":  # a math-library call, written as **
        call_args = tuple(float(o) for o in operands)
    prov, tdep = 0, False
    for o in operands:
        if isinstance(o, Num):
            prov |= o.prov
            tdep = tdep or o.tdep
    k = len(_Trace.names)
    _Trace.names.append(name)
    _Trace.tdep.append(tdep)
    _Trace.args.append(call_args)
    return Num(res, prov | (1 << k), tdep)


def _op(name, f):
    def method(self, *other):
        res = f(float(self), *(float(o) if isinstance(o, float) else o for o in other))
        if res is NotImplemented:
            return res
        return _value(res, name, (self, *other))

    method.__name__ = f"{name}_traced"
    return method


def _unmodelled(name):
    def method(self, *other):
        raise TypeError(f"machine_limit: Num.{name} is not modelled; add it to the operation count")

    return method


class Num(float):
    """A float that records the operations it depends on (``prov``: bitset of op ids; ``tdep``:
    whether it depends on the time argument). Comparisons are float's own and give plain bools."""

    __slots__ = ("prov", "tdep")

    def __new__(cls, value, prov: int = 0, tdep: bool = False):
        self = super().__new__(cls, value)
        self.prov = prov
        self.tdep = tdep
        return self

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
    __hash__ = float.__hash__

    def __pos__(self):
        return self

    def __pow__(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        # numba lowers x**2 to x*x
        return _value(float(self) ** float(other), "mul" if float(other) == 2.0 else "pow", (self, other))

    def __rpow__(self, other):
        if not isinstance(other, (int, float)):
            return NotImplemented
        return _value(float(other) ** float(self), "pow", (other, self))


# operations the generated code does not use: fail loudly rather than count nothing
for _name in ("__mod__", "__rmod__", "__floordiv__", "__rfloordiv__", "__divmod__", "__rdivmod__", "__round__",
              "__trunc__", "__floor__", "__ceil__", "__int__"):  # fmt: skip
    setattr(Num, _name, _unmodelled(_name))
del _name


class _TracingMath:
    """Stands in for the ``math`` module inside the generated functions: each call is an operation."""

    def __getattr__(self, name):
        fn = getattr(math, name)
        if not callable(fn):
            return fn  # math.nan, math.pi, ...: constants

        def call(*args):
            fargs = tuple(float(a) for a in args)
            return _value(fn(*fargs), name, args, fargs)

        return call


def _traced_module() -> dict:
    """The generated module's functions as plain Python, with the tracing math module."""
    src = GENERATED.read_text()
    src = re.sub(r"^@numba\.njit\(.*\)\s*$", "", src, flags=re.M)
    ns: dict = {"__name__": "closed_form_traced"}
    exec(compile(src, str(GENERATED), "exec"), ns)
    ns["math"] = _TracingMath()
    return ns


def _union(outputs) -> int:
    prov = 0
    for o in outputs:
        if isinstance(o, Num):
            prov |= o.prov
    return prov


def _ops_of(prov: int, lo: int = 0, tdep: bool | None = None, call_args: dict | None = None) -> Counter:
    """Operation names of the ids in bitset ``prov`` from id ``lo`` on (only those with the given
    t-dependence); the arguments of the math-library calls among them are appended to ``call_args``."""
    names, dep, args = _Trace.names, _Trace.tdep, _Trace.args
    out: Counter = Counter()
    prov &= -1 << lo
    while prov:
        low = prov & -prov
        k = low.bit_length() - 1
        if tdep is None or dep[k] == tdep:
            out[names[k]] += 1
            if call_args is not None and args[k] is not None:
                call_args.setdefault(names[k], []).append(args[k])
        prov ^= low
    return out


def _executed(lo: int = 0) -> Counter:
    return Counter(_Trace.names[lo:])


def op_counts(inputs: np.ndarray, times: np.ndarray, call_args: dict | None = None) -> dict:
    """Mean operation counts the compiled kernels must do (see the module docstring): per cell for
    'labels' and 'finals', per cell x time for 'trajectory_per_time' (t-dependent operations),
    per cell for 'trajectory_per_cell' (the t-independent rest of the trajectory kernel, of which
    'trajectory_hoisted_per_cell' comes from observables_at); 'executed' holds what the Python
    evaluation runs, per function, before dead code and hoisting are taken out; and the
    distribution of the solution's branch ('kind'). ``call_args`` (name -> list of argument tuples),
    if given, collects the arguments of the math-library calls the kernels must make."""
    ns = _traced_module()
    names = ("labels", "finals", "trajectory_per_time", "trajectory_per_cell", "trajectory_hoisted_per_cell")
    per: dict[str, Counter] = {k: Counter() for k in names}
    executed: dict[str, Counter] = {k: Counter() for k in ("cell_constants", "order_parameters", "observables_final",
                                                            "observables_at")}  # fmt: skip
    kinds: Counter = Counter()
    n_cells = inputs.shape[1]
    n_at = 0
    for i in range(n_cells):
        _Trace.reset()
        args = [Num(float(x)) for x in inputs[:, i]]
        c = ns["cell_constants"](*args)
        n0 = len(_Trace.names)
        executed["cell_constants"] += _executed()
        kinds[float(c[CONSTANTS.index("kind")])] += 1
        for fname, key in (("order_parameters", "labels"), ("observables_final", "finals")):
            out = ns[fname](c)
            executed[fname] += _executed(n0)
            per[key] += _ops_of(_union(out), call_args=call_args)
            _Trace.reset(n0)
        cell_part = 0  # cell_constants ops the trajectory kernel needs, over all times of this cell
        hoisted: Counter = Counter()
        for t in times:
            out = ns["observables_at"](Num(float(t), 0, True), c)
            executed["observables_at"] += _executed(n0)
            prov = _union(out)
            cell_part |= prov & ((1 << n0) - 1)
            per["trajectory_per_time"] += _ops_of(prov, n0, tdep=True, call_args=call_args)
            hoisted += _ops_of(prov, n0, tdep=False, call_args=call_args)
            _Trace.reset(n0)
            n_at += 1
        hoisted = Counter({k: v / len(times) for k, v in hoisted.items()})
        per["trajectory_hoisted_per_cell"] += hoisted
        per["trajectory_per_cell"] += _ops_of(cell_part, call_args=call_args) + hoisted
    _Trace.reset()

    def mean(cnt: Counter, n: int) -> dict:
        return {op: v / n for op, v in sorted(cnt.items())}

    out = {k: mean(cnt, n_at if k == "trajectory_per_time" else n_cells) for k, cnt in per.items()}
    out["executed"] = {k: mean(cnt, n_at if k == "observables_at" else n_cells) for k, cnt in executed.items()}
    out["kind_fraction"] = {str(int(k)): v / n_cells for k, v in kinds.items()}
    out["sample_cells"] = n_cells
    out["sample_times"] = len(times)
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
        "sqrt": "math.sqrt({x})", "exp": "math.exp({x})", "expm1": "math.expm1({x})", "log": "math.log({x})",
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


def _op_args(name: str, n: int, rng, call_args: dict | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Arguments for the micro-benchmark of one operation: the arguments the kernels pass, resampled
    (math-library calls seen at least 16 times), else uniform on [0.1, 3] (negated for exp, expm1)."""
    seen = (call_args or {}).get(name, ())
    if len(seen) >= 16:
        a = np.array(seen, dtype=np.float64).reshape(len(seen), -1)
        pick = rng.integers(0, len(a), n)
        x = np.ascontiguousarray(a[pick, 0])
        y = np.ascontiguousarray(a[pick, 1]) if a.shape[1] > 1 else np.ones(n)
        return x, y, "traced"
    x = rng.uniform(0.1, 3.0, n)
    y = rng.uniform(0.1, 3.0, n)
    return (-x if name in ("exp", "expm1") else x), y, "uniform"


def op_costs(n: int = 2_000_000, rounds: int = 7, call_args: dict | None = None) -> dict:
    """ns per operation, one thread, independent calls (the loop's own cost subtracted).

    The cost of a math-library call depends on its arguments (glibc's hypot, for one, is about
    twice as fast when one argument dominates the other), so each call is timed on the arguments
    the kernels pass (``call_args``, from ``op_counts``), resampled; it is also timed on uniform
    arguments in [0.1, 3] for comparison (``uniform_args``). Best of ``rounds`` rounds, each
    timing every loop once: spread over the whole measurement, the repeats of one operation are
    less likely to all fall in a burst of load from a neighbour (on a shared machine, exp, log,
    atan2 and pow were seen at up to twice their quiet cost for seconds at a time)."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        rng = np.random.default_rng(0)
        loops = {}  # label -> (op index, x, y)
        source = {}
        for k, name in enumerate(OPS):
            x, y, src = _op_args(name, n, rng, call_args)
            loops[name] = (k, x, y)
            source[name] = src
            if src == "traced":
                loops["uniform:" + name] = (k, *_op_args(name, n, rng, None)[:2])
        fn = _op_loop()
        fn(0, loops["base"][1][:8], loops["base"][2][:8])
        per = dict.fromkeys(loops, math.inf)
        for _ in range(rounds):
            for label, (k, x, y) in loops.items():
                start = time.perf_counter()
                fn(k, x, y)
                per[label] = min(per[label], (time.perf_counter() - start) / n * 1e9)
        base = per.pop("base")
        costs = {k: max(v - base, 0.05) for k, v in per.items() if ":" not in k}
        # abs, neg, cmp: one cheap instruction each; charge them like an add
        for k in ("cmp", "neg", "abs"):
            costs[k] = costs["add"]
        costs["loop_ns"] = base
        costs["uniform_args"] = {k.split(":")[1]: max(v - base, 0.05) for k, v in per.items() if ":" in k}
        costs["args"] = source
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
    call_args: dict = {}
    counts = op_counts(inputs[:, pick], times[:: max(1, times.size // 8)], call_args)
    costs = op_costs(200_000 if inputs.shape[1] < 100_000 else 2_000_000, call_args=call_args)
    ghz = clock_ghz(2_000_000 if inputs.shape[1] < 100_000 else 20_000_000)
    costs["measured_add_mul"] = {k: costs[k] for k in ("add", "mul")}
    for k in ("add", "mul", "cmp", "neg", "abs", "copysign"):
        costs[k] = 1.0 / ghz
    bw = bandwidth_gbs(40 * 2**20 if inputs.shape[1] < 100_000 else 400 * 2**20)
    threads = numba.get_num_threads()
    n_times = times.size  # the trajectory kernel's per-cell work is spread over the times of the measured run
    per_cell = counts["trajectory_per_cell"]
    work = {
        "labels": (counts["labels"], 9 * 8, 7 * 8, 0.0),
        "finals": (counts["finals"], 9 * 8, 9 * 8, 0.0),
        "trajectory_per_time": (counts["trajectory_per_time"], 0, 9 * 8, _ns_of(per_cell, costs) / n_times),
    }
    rows = {}
    for key, (cnt, bytes_in, bytes_out, amortized_ns) in work.items():
        compute_ns = (_ns_of(cnt, costs) + amortized_ns) / threads
        memory_ns = (bytes_in + bytes_out) / (bw["write_touched_gbs"])  # GB/s = bytes/ns
        estimate = max(compute_ns, memory_ns)
        meas = measured.get(key)
        arith = sum(v for op, v in cnt.items() if op in ARITH)
        calls = {op: round(v, 2) for op, v in cnt.items() if op not in ARITH}
        rows[key] = {
            "arith_ops": round(arith, 1),
            "math_calls": calls,
            "compute_ns_per_unit_1thread": _ns_of(cnt, costs) + amortized_ns,
            "amortized_per_cell_ns_1thread": amortized_ns,
            "compute_ns_estimate": compute_ns,
            "memory_ns_estimate": memory_ns,
            "estimate_ns": estimate,
            "measured_ns": meas,
            "efficiency": (estimate / meas) if meas else None,
            "estimated_units_per_s": 1e9 / estimate,
            "measured_units_per_s": (1e9 / meas) if meas else None,
            "cycles_per_unit_measured_1thread": (meas * threads * ghz) if meas else None,
        }
    for key, r in rows.items():
        log(f"  {key}: {r['arith_ops']:g} arithmetic ops + {r['math_calls']} -> estimate {r['estimate_ns']:.1f} ns, "
            f"measured {r['measured_ns'] or float('nan'):.1f} ns")  # fmt: skip
    return {
        "op_counts": counts,
        "op_costs_ns": costs,
        "clock_ghz_estimate": ghz,
        "bandwidth": bw,
        "threads": threads,
        "kernels": rows,
        "note": "units: one cell for labels/finals, one cell x time for trajectory_per_time (all 9 observables); "
        "only the operations whose results the kernel stores are counted (dead code and branch-only arithmetic "
        "left out); trajectory_per_time counts the t-dependent operations, and its estimate adds the "
        f"t-independent per-cell work (cell constants and hoisted factors) spread over {n_times} times",
    }


if __name__ == "__main__":  # quick look at the operation counts
    import json

    from scaling import make_inputs

    start = time.perf_counter()
    print(json.dumps(op_counts(make_inputs(200, seed=11), np.geomspace(1e-2, 1e3, 8)), indent=1))
    print(f"{time.perf_counter() - start:.2f} s")
