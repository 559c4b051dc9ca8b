"""Lower the closed-form programs of ``phasefl.symbolic.lowering`` (and the gradient-descent step of
``phasefl.symbolic.gd``) to a numba module.

``python -m phasefl.codegen`` (or ``make generate``) rewrites ``phasefl/_generated/closed_form.py``;
a test regenerates the text and requires it to equal the checked-in file, so the derivation
and the kernels cannot drift apart. The generated pointwise functions take every parameter as an
argument and read no globals; after them the module holds the loops over cells, copied from
``phasefl/loops.py``, so that numba's per-file cache covers both (it is then correct after any
change of either, with no cache to delete by hand).

Printing: SymPy's Python printer with the ``math`` module, after common-subexpression
elimination per assignment. A ``Piecewise`` assignment becomes an if/elif/else block (SymPy's
Piecewise does not lower to numba, and evaluating every branch would hit divisions by zero);
a Piecewise nested inside an expression prints as a lazy conditional expression.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .symbolic import gd, lowering

TARGET = Path(__file__).parent / "_generated" / "closed_form.py"
#: The hand-written loops, and the line after which ``render`` copies them.
LOOPS = Path(__file__).parent / "loops.py"
LOOPS_MARKER = "# ---- make generate copies everything below this line into the generated module ----"
INDENT = "    "


class _Printer(PythonCodePrinter):
    def _print_DiffOfProducts(self, expr):  # noqa: N802 (SymPy printer hook)
        return f"_diff_of_products({', '.join(self._print(a) for a in expr.args)})"

    def _print_AddRootProduct(self, expr):  # noqa: N802
        return f"_add_root_product({', '.join(self._print(a) for a in expr.args)})"

    def _print_UnitProduct(self, expr):  # noqa: N802
        return f"_unit_product({', '.join(self._print(a) for a in expr.args)})"

    def _print_ExpDecay(self, expr):  # noqa: N802
        return f"_exp_decay({', '.join(self._print(a) for a in expr.args)})"

    def _print_Ldexp(self, expr):  # noqa: N802
        return f"math.ldexp({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_hypot(self, expr):
        return f"fast_hypot({', '.join(self._print(a) for a in expr.args)})"

    def _print_atan2(self, expr):
        return f"fast_atan2({', '.join(self._print(a) for a in expr.args)})"

    def _print_Integer(self, expr):
        return f"{float(expr)!r}"  # keep every variable float64 in numba

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and 2 <= abs(expr.exp) <= 4:  # x**2 stays an integer power (a multiply);
            power = f"{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])}**{abs(int(expr.exp))}"
            return power if expr.exp > 0 else f"(1.0/{power})"  # x**-2 would be a pow() call
        return super()._print_Pow(expr, rational)

    def _print_Rational(self, expr):
        return f"({float(expr.p)!r}/{float(expr.q)!r})"


_printer = _Printer({"standard": "python3", "fully_qualified_modules": True})


def _print(expr) -> str:
    return _printer.doprint(expr)


def _assignment(target: sp.Symbol, expr: sp.Expr, indent: str) -> list[str]:
    """Lines assigning ``expr`` to ``target``: cse temporaries first, or an if/elif/else block."""
    if isinstance(target, tuple):  # a pair from one call, e.g. (E_s, omE) = ExpDecay(...)
        return [f"{indent}{', '.join(str(s) for s in target)} = {_print(expr)}"]
    if isinstance(expr, sp.Piecewise):
        lines = []
        for i, (branch, cond) in enumerate(expr.args):
            if cond is sp.true:
                lines.append(f"{indent}else:" if i else f"{indent}if True:")
            else:
                lines.append(f"{indent}{'if' if i == 0 else 'elif'} {_print(cond)}:")
            lines += _assignment(target, branch, indent + INDENT)
        if expr.args[-1][1] is not sp.true:
            lines += [f"{indent}else:", f"{indent}{INDENT}{target} = math.nan"]
        return lines
    if expr.has(sp.Piecewise):
        return [f"{indent}{target} = {_print(expr)}"]
    temps, (reduced,) = sp.cse([expr], symbols=sp.numbered_symbols(f"_{target}_"), optimizations=None)
    lines = [f"{indent}{sym} = {_print(sub)}" for sym, sub in temps]
    return lines + [f"{indent}{target} = {_print(reduced)}"]


# Every generated function is inlined into its caller at numba's IR level: the callers are the
# loops of ``phasefl.kernels``, and only inlined can LLVM hoist a cell's constants out of the time
# loop and skip the observables a loop does not store (2-3x faster than separate calls).
JIT = '@numba.njit(cache=True, error_model="numpy", inline="always")'

PRELUDE = f'''\
{JIT}
def _exp_decay(z, shift, scale, inv_scale):
    """(e^-z/scale, 1 - e^-z) for z >= 0 and scale = e^-shift <= 1 (inv_scale = 1/scale), with one
    transcendental; each keeps its relative accuracy, and e^-z/scale = e^(shift - z) stays a normal
    number where e^-z itself would be subnormal."""
    if z - shift > 745.2:  # e^(shift - z) rounds to 0 (and glibc's exp takes a slow path down there)
        return 0.0, 1.0
    if z >= 0.6931471805599453:  # e^-z <= 1/2, so 1 - e^-z loses nothing
        es = math.exp(shift - z)
        return es, 1.0 - es * scale
    om = -math.expm1(-z)
    return (1.0 - om) * inv_scale, om


{JIT}
def _unit_product(es, xs, x, unit):
    """es x unit, given xs = x unit: es xs, or (es x) unit where xs is below the normal range (then
    |x| < 2.3e-4 and unit >= e^-700, so es x <= x/unit cannot overflow)."""
    normal = abs(xs) >= 2.2250738585072014e-308 or x == 0.0
    coefficient = xs if normal else x  # (both depend on the cell only: the time loop has no branch)
    scale = 1.0 if normal else unit
    return (es * coefficient) * scale


{JIT}
def fast_hypot(x, y):
    """hypot(x, y) as sqrt(x^2 + y^2) where the squares can neither overflow nor lose the result
    (a sqrt costs about 2 ns; math.hypot 12-21 ns, depending on its arguments); else math.hypot."""
    big = max(abs(x), abs(y))
    if 1e-140 < big < 1e140:
        return math.sqrt(x * x + y * y)
    return math.hypot(x, y)


{JIT}
def fast_atan2(y, x):
    """atan2(y, x) within 3.5 ulp at the same cost for every argument (about 11 ns; glibc's atan2
    takes 12 ns for angles near 0 and 23 ns for angles of order 1, which made the rotation
    observables' cost depend on the regime). SLEEF's atan2k (u3.5; Boost licence): the angle is
    reduced to s = min/max in [0, 1], and atan(s) = s + s^3 P(s^2) with SLEEF's 19 coefficients,
    evaluated by Estrin's scheme (as in Google Highway) for a short dependency chain."""
    ax = abs(x)
    ay = abs(y)
    swap = ay > ax
    num = ax if swap else ay
    den = ay if swap else ax
    s = 0.0 if den == 0.0 else (1.0 if num == den else num / den)  # 0/0 -> 0, inf/inf -> 1
    t = s * s
    t2 = t * t
    t4 = t2 * t2
    t8 = t4 * t4
    q0 = (-0.333333333333311110369124 + 0.199999999996591265594148 * t) + (
        -0.14285714266771329383765 + 0.111111105648261418443745 * t
    ) * t2
    q1 = (-0.090908995008245008229153 + 0.0769219538311769618355029 * t) + (
        -0.0666573579361080525984562 + 0.0587666392926673580854313 * t
    ) * t2
    q2 = (-0.0523674852303482457616113 + 0.0466667150077840625632675 * t) + (
        -0.0407629191276836500001934 + 0.0337852580001353069993897 * t
    ) * t2
    q3 = (-0.0254517624932312641616861 + 0.016599329773529201970117 * t) + (
        -0.00889896195887655491740809 + 0.00370026744188713119232403 * t
    ) * t2
    q4 = (-0.00110611831486672482563471 + 0.000209850076645816976906797 * t) + (
        -1.88796008463073496563746e-05
    ) * t2
    poly = ((q0 + q1 * t4) + (q2 + q3 * t4) * t8) + q4 * (t8 * t8)
    r = poly * t * s + s
    if swap:
        r = 1.5707963267948966 - r
    if x < 0.0:
        r = 3.141592653589793 - r
    return math.copysign(r, y)


{JIT}
def _two_product(x, y):
    """x*y = p + e exactly (Dekker, without fma)."""
    p = x * y
    cx = 134217729.0 * x
    xh = cx - (cx - x)
    xl = x - xh
    cy = 134217729.0 * y
    yh = cy - (cy - y)
    yl = y - yh
    return p, ((xh * yh - p) + xh * yl + xl * yh) + xl * yl


{JIT}
def _diff_of_products(a, b, c, d):
    """a*b - c*d correctly rounded up to a few ulps, even when the two products nearly cancel."""
    p1, e1 = _two_product(a, b)
    p2, e2 = _two_product(c, d)
    return (p1 - p2) + (e1 - e2)


{JIT}
def _add_root_product(a, r, p, q, b):
    """a + sqrt(p/q) b for r = sqrt(p)/sqrt(q) (rounded), to a few ulps even when the terms nearly cancel:
    then sqrt(p/q) = r + (p - q r^2)/(2 q r) (one Newton step, with q r^2 as an exact sum) and r b is exact."""
    s = a + r * b
    if abs(s) >= 0.1 * (abs(a) + abs(r * b)):  # at most 4 bits cancel
        return s
    r2, r2e = _two_product(r, r)
    t, te = _two_product(r2, q)
    r_lo = (((p - t) - te) - r2e * q) / (2.0 * q * r)  # p - t is exact (Sterbenz): t is within ulps of p
    rb, rbe = _two_product(r, b)
    return ((a + rb) + rbe) + r_lo * b  # a + rb is exact: they nearly cancel
'''


def _kernel(name: str, table: dict | None = None, constants: tuple = lowering.CONSTANTS) -> str:
    """One generated function: from ``lowering.KERNELS`` (which unpack ``lowering.CONSTANTS`` from ``c``,
    but for cell_constants and exponents), or from ``table`` (entries say whether they unpack ``constants``)."""
    if table is None:
        inputs, program, outputs, doc = lowering.KERNELS[name]
        unpack = name not in ("cell_constants", "exponents")
    else:
        inputs, program, outputs, doc, unpack = table[name]
    args = [str(s) for s in inputs]
    if unpack:
        args.append("c")
    lines = [
        JIT,
        f"def {name}({', '.join(args)}):",
        f'{INDENT}"""{doc}"""',
    ]
    if unpack:
        lines.append(f"{INDENT}({', '.join(str(s) for s in constants)}) = c")
    for target, expr in program:
        lines += _assignment(target, expr, INDENT)
    lines.append(f"{INDENT}return ({', '.join(str(s) for s in outputs)},)")
    return "\n".join(lines) + "\n"


def render() -> str:
    """The full text of the generated module."""
    header = '''\
"""GENERATED by ``python -m phasefl.codegen`` from ``phasefl.symbolic.lowering`` and ``.gd``. Do not edit.

The exact solution of spec section D in its cancellation-free product form, scaled per cell (derivation:
``phasefl/symbolic/solution.py``, notebooks in ``derivations/``), and the exact gradient-descent step
(``phasefl/symbolic/gd.py``: gd_cell_constants, gd_step, gd_observables; constants named in GD_CONSTANTS).
Argument and return orders are listed in CONSTANTS, OBSERVABLES and ORDER_PARAMETERS; INPUTS,
OBSERVABLES and ORDER_PARAMETERS name the inputs and outputs as users see them, and DESCRIPTIONS gives
each its long name and units.
The loops over cells at the end are copied from ``phasefl/loops.py``.
"""

import math

import numba
import numpy as np

'''
    public = {symbol: name for symbol, (name, _, _) in lowering.INTERFACE.items()}
    described = (*lowering.INPUTS, *lowering.OBSERVED, *lowering.ORDER_OUTPUTS)
    names = [
        f"CONSTANTS = {tuple(str(s) for s in lowering.CONSTANTS)!r}",
        f"INPUTS = {tuple(public[s] for s in lowering.INPUTS)!r}",
        f"OBSERVABLES = {tuple(public[s] for s in lowering.OBSERVED)!r}",
        f"ORDER_PARAMETERS = {tuple(public[s] for s in lowering.ORDER_OUTPUTS)!r}",
        f"EXPONENTS = {tuple(str(s) for s, _ in lowering.EXPONENTS)!r}",
        f"GD_CONSTANTS = {tuple(str(s) for s in gd.CONSTANTS)!r}",
        "DESCRIPTIONS = {  # name -> (long name, units)\n"
        + "".join(f"    {public[s]!r}: {lowering.INTERFACE[s][1:]!r},\n" for s in described)
        + "}",
    ]
    kernels = [_kernel(name) for name in lowering.KERNELS]
    kernels += [_kernel(name, gd.KERNELS, gd.CONSTANTS) for name in gd.KERNELS]
    body = "\n\n".join([PRELUDE] + kernels)
    closed_form = header + "\n".join(names) + "\n\n\n" + body.replace("\n\n@", "\n\n\n@")
    return closed_form + "\n\n" + LOOPS.read_text().split(LOOPS_MARKER, 1)[1].lstrip("\n")


def write(path: Path = TARGET) -> Path:
    """Write the module (numba's cache notices the change: the loops are in the same file)."""
    path.write_text(render())
    return path


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write()}\n")
