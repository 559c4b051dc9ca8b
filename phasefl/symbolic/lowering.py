"""The closed form as straight-line programs with explicit branches, ready to be lowered.

Each program is an ordered list of assignments ``(symbol, expression)``; an expression may be
a ``Piecewise``, which the code generator prints as an if/elif/else block. The programs:

- ``CELL``:   inputs (kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> the cell constants,
              including every factor of the time program that does not depend on t;
- ``AT``:     (t, cell constants) -> the observables at time t (one exp or expm1 per time);
- ``SLOPE``:  the part of ``AT`` that the slope F needs;
- ``FINAL``:  cell constants -> the observables at t = infinity;
- ``ORDER``:  cell constants -> the order parameters of spec E.1;
- ``BASELINE``: (t, cell constants) -> the slope of the kernel baseline.

The time program (Kc > 0) is the product form of ``solution.py`` scaled per cell so that no
factor can over- or underflow. The Riccati variable y = e^{asinh(gF/Kc)} runs from
y0 = e^{asinh(gF0/Kc)} to y+ = e^{asinh(gm/Kc)}, and y(t) = N/D with

    N = c0 (y+ + E/y+) + c1 (1 - E),    D = c1 (1/y+ + E y+) + c0 (1 - E),
    c0 = min(1, y0),  c1 = min(1, 1/y0)          (N/D = y+ n-/n+ of the product form),

two sums of non-negative terms whose coefficients are products of y0^(+-1), y+^(+-1) and 1, so they
stay representable for y0, y+ anywhere in [1e-300, 1e300] (nearly parallel initial vectors, d2 down
to the smallest subnormal, give y ~ 1e+-162). Every observable is written with 1/N and 1/D
separately, never with 1/(N D): that product can leave float64's range when (P, M) and (alpha, beta)
of the product form are tiny, which is what made F, K and the weights overflow for nearly parallel
opposite-sign cells. The observables:

    h = 1/N + 1/D,  F = h (E F0/h(1) + (1 - E) m/h(0))     (the same-sign terms of F; crossing form otherwise)
    F - m = (K_inf/g) c1 (y0 - y+) E (1/D + 1/(y+ N)),   K = (Kc/2)(N/D + D/N),
    e^T = sqrt(y0 D/N) (= sqrt(y0/y)),  sinh T = c1 (y0 - y+)(y0 + 1/y+) (1 - E)/(2 sqrt(y0) sqrt(N D)),

and the rotations use cosh T uu - r sinh T uw = (e^T (uu - r uw) + e^-T (uu + r uw))/2, which has
none of the cancellation of the left-hand side when u0 and w0 are nearly parallel (uu -+ r uw once per
cell, compensated for the rounding of r = sqrt(eta_u/eta_w) when it cancels). When m F0 < 0, F crosses 0
at E* ~ min(y0, 1/y0) + min(y+, 1/y+) and reaches m around E ~ E*^2, below the normal range once d2 is
subnormal: that branch carries E_s = E/E* (one exp of lambda t + ln E*) and the coefficients of E
times E*. The norms and the cosine take v = F/kappa through hypot(v, sqrt(d2)), never v^2 (which
underflows as F decays to 0).

Numerically careful inputs: y0 and y+ as (g|X| + K)/Kc or Kc/(K + g|X|), whichever has no
cancellation; y0 - y+ from psi0 = asinh(g F0/Kc) - asinh(g m/Kc) as one log1p argument
(a cancellation-free ratio or product); C as an error-free difference of products; the relative
NTK change without cancellation (K); and the degenerate case Kc = 0.

Branch kinds of a cell (the constant ``kind``):
  0  Kc > 0, m F0 >= 0: F never crosses 0;
  1  Kc > 0, m F0 < 0: F crosses 0 once;
  2  degenerate, Kc = 0 and m F0 <= 0: K = g|F| vanishes at F = 0, so F decays to 0, not to m;
  3  m F0 > 0 and Kc = 0, or Kc < 1e-100 g min(|F0|, |m|): the logistic flow from F0 to m (exact in
     float64: K = g|F| to a relative 1e-200 on the whole path; y0 and y+ could overflow).
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import expm1, hypot, log1p

from . import asymptotics, solution
from .symbols import (
    F0,
    K0,
    C,
    E,
    Kc,
    Kinf,
    d2,
    g,
    kappa,
    lam,
    lr_u,
    lr_w,
    m,
    omE,
    s,
    t,
    uu,
    uw,
    ww,
    x_var,
    xy_cov,
)


class DiffOfProducts(sp.Function):
    """a*b - c*d, evaluated without cancellation (Dekker's exact products) by the kernels."""

    nargs = 4

    def _eval_rewrite_as_Add(self, a, b, c, d, **kwargs):  # noqa: N802 (SymPy hook name)
        return a * b - c * d

    def doit(self, **hints):
        a, b, c, d = (arg.doit(**hints) for arg in self.args)
        return a * b - c * d


class AddRootProduct(sp.Function):
    """AddRootProduct(a, r, p, q, b) = a + sqrt(p/q) b, where r = sqrt(p)/sqrt(q) rounded: the kernels
    add r b; when that sum cancels (|a + r b| < (|a| + |r b|)/10) they redo it with the rounding error
    of r as a second term (one Newton step) and exact products, so the result keeps its digits when
    u0 and w0 are nearly parallel and the layers balanced (uu = r uw up to the inputs' last bits)."""

    nargs = 5

    def _eval_rewrite_as_Add(self, a, r, p, q, b, **kwargs):  # noqa: N802 (SymPy hook name)
        return a + sp.sqrt(p / q) * b

    def doit(self, **hints):
        a, r, p, q, b = (arg.doit(**hints) for arg in self.args)
        return a + r * b


class UnitProduct(sp.Function):
    """UnitProduct(E_s, x_s, x, unit) = E_s x_s, where x_s = x unit was hoisted: E_s x unit = E x, a term of
    N, D or F - m. Where x_s is below the normal range (a tiny x in a small unit, e.g. D's E-coefficient
    for a huge y0) the kernels take (E_s x) unit instead, which underflows only where E x does (|x| <
    2.3e-4 there, as unit >= e^-700, so E_s x <= x/unit cannot overflow)."""

    nargs = 4

    def _eval_rewrite_as_Mul(self, es, xs, x, unit, **kwargs):  # noqa: N802 (SymPy hook name)
        return es * xs

    def doit(self, **hints):
        es, xs, x, unit = (arg.doit(**hints) for arg in self.args)
        return es * xs


class ExpDecay(sp.Function):
    """ExpDecay(z, shift, scale, inv_scale) with z >= 0, scale = e^-shift <= 1 and inv_scale = 1/scale:
    the pair (E/scale, 1 - E) for E = e^-z at the cost of one transcendental. The kernels take
    es = exp(shift - z) and 1 - es scale when E <= 1/2, else om = -expm1(-z) and (1 - om) inv_scale, so
    both keep their relative accuracy, and E/scale stays a normal number where E itself would be
    subnormal (below 2.2e-308). Assigned to the pair of symbols (E_s, omE)."""

    nargs = 4


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, real=True, **assumptions)


# Lowering-only intermediates (not spec quantities).
kind = _sym("kind")
representable = _sym("representable")
Kinf_fwd = _sym("Kinf_fwd", nonnegative=True)  # sqrt(Kc^2 + g^2 m^2): the rate of E in every branch
psi0_arg, psi0_sign = _sym("psi0_arg", nonnegative=True), _sym("psi0_sign")  # psi0 = psi0_sign log1p(psi0_arg)
y0, y_plus = sp.Symbol("y0", positive=True), sp.Symbol("y_plus", positive=True)  # e^{asinh(g F0/Kc)}, e^{asinh(g m/Kc)}
inv_y_plus = _sym("inv_y_plus", positive=True)
c0, c1 = _sym("c0", positive=True), _sym("c1", positive=True)  # min(1, y0), min(1, 1/y0): N and D are scaled by c1
dy0 = _sym("dy0")  # y0 - y+
dy0_c1 = _sym("dy0_c1")  # c1 (y0 - y+)
log_estar = _sym("log_estar")  # ln E*, E* = exp(-lambda t*) at the zero crossing of F
log_unit = _sym("log_unit")  # ln of the unit of E_s: ln E*, but at least -700 (the unit and 1/unit stay normal)
cross = _sym("cross")  # F0/h(1) - m/h(0), the slope coefficient of the crossing branch
# Per-cell constants that the time loop would otherwise recompute (a square root, a division or
# an exp per time), and per-time quantities shared by several observables.
n_1, n_E, n_O, d_1, d_E, d_O = (
    _sym(n, nonnegative=True) for n in ("n_1", "n_E", "n_O", "d_1", "d_E", "d_O")
)  # N = n_1 + E n_E + (1 - E) n_O, D = d_1 + E d_E + (1 - E) d_O
h_1, h_0 = _sym("h_1", positive=True), _sym("h_0", positive=True)  # h at E = 1 (t = 0) and E = 0 (t = infinity)
F0_h, m_h = _sym("F0_h"), _sym("m_h")  # F0/h(1), m/h(0): the slope coefficients of E and 1 - E
E_s = _sym("E_s", nonnegative=True)  # E/E*: e^{-lambda t} in units of e_star (= E outside kind 1)
n_Es, d_Es, F0_hs, resid_coef_s, inv_e_star = (
    _sym(n) for n in ("n_Es", "d_Es", "F0_hs", "resid_coef_s", "inv_e_star")
)  # the coefficients of E written as coefficients of E_s (times e_star), and 1/e_star
resid_coef, half_Kc = _sym("resid_coef"), _sym("half_Kc")  # (K_inf/g) c1 (y0 - y+), Kc/2
sqrt_y0, inv_sqrt_y0, sinh_num, sinh_coef = (_sym(n) for n in ("sqrt_y0", "inv_sqrt_y0", "sinh_num", "sinh_coef"))
e_star = _sym("e_star", nonnegative=True)  # exp(log_unit): E* unless F crosses 0 only after E < e^-700
root_u, root_w, root_d2 = (_sym(n, nonnegative=True) for n in ("root_u", "root_w", "root_d2"))
du_half, su_half, dw_half, sw_half = (_sym(n) for n in ("du_half", "su_half", "dw_half", "sw_half"))
kappa2_lr_u, kappa2_lr_w = _sym("kappa2_lr_u", positive=True), _sym("kappa2_lr_w", positive=True)  # kappa^2/eta
root_half_a, scaled_resid = _sym("root_half_a", positive=True), _sym("scaled_resid")  # sqrt(a/2), sqrt(a/2) (F - m)
inv_kappa, inv_kappa2, inv_lr_u, inv_lr_w = (
    _sym(n, positive=True) for n in ("inv_kappa", "inv_kappa2", "inv_lr_u", "inv_lr_w")
)  # multiply by these instead of dividing by kappa, kappa^2, eta_u, eta_w at every time
N, D, inv_N, inv_D, hE = (_sym(n, positive=True) for n in ("N", "D", "inv_N", "inv_D", "h"))
E_N, y_t, inv_y, Q, sqrt_y, Q_D = (_sym(n, nonnegative=True) for n in ("E_N", "y_t", "inv_y", "Q", "sqrt_y", "Q_D"))
F, resid, K, expT, exp_mT, sinhT = (_sym(n) for n in ("F", "resid", "K", "expT", "exp_mT", "sinhT"))
# Kinds 2 and 3 (K = g|F|): mu = 1/max(|F0|, 1) scales F0 into [-1, 1]; A = (1 - E)/|m| at time t, which is
# a g t (1 - E)/(lam t) (= a g t where lam t underflows), never a division by a tiny m.
mu, F0_mu, absF0_mu, sqrt_mu = (_sym(n) for n in ("mu", "F0_mu", "absF0_mu", "sqrt_mu"))
A_q = _sym("A_q", nonnegative=True)
X_lg, R_lg = (
    _sym("X_lg", nonnegative=True),
    _sym("R_lg", nonnegative=True),
)  # mu F0/F = mu e^{2T}, and mu E/X_lg = E F/F0
v, Kk, hv, sv, small_ratio, eu, ew = (_sym(n) for n in ("v", "Kk", "hv", "sv", "small_ratio", "eu", "ew"))
norm_u2, norm_w2, ntk_plain, cos_uw, rot_u, rot_w, loss_excess = (
    _sym(n) for n in ("norm_u2", "norm_w2", "ntk_plain", "cos_uw", "rot_u", "rot_w", "loss_excess")
)
gamma, gamma0, zeta, ntk_ratio, ntk_rel_change, imbalance, dominant_w = (
    _sym(n) for n in ("gamma", "gamma0", "zeta", "ntk_ratio", "ntk_rel_change", "imbalance", "dominant_w")
)

INPUTS = (kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)

DEGENERATE = sp.Eq(kind, 2)
LOGISTIC = sp.Eq(kind, 3)
LOGISTIC_OR_DEGENERATE = kind >= 2  # the y-form is not used
KC_ZERO = sp.Eq(Kc, 0)  # u0 parallel to w0 and C = 0, so neither layer rotates
#: Same signs with Kc below this times g min(|F0|, |m|): K = g|F| to (Kc/g|F|)^2 <= 1e-200 on the whole path
#: from F0 to m, so the logistic solution is exact in float64 (and y0, y+ > 1e100 might overflow in the y-form).
_LOGISTIC_KC = sp.Float(1e-100)
GENERAL_SAME_SIGN = sp.Eq(kind, 0)
#: Kind 1 (F crosses 0): |F0_h/m_h| above this is taken in logarithms (the ratio itself may overflow),
#: and E is measured in units of E* but of no less than e^-700 (so that the unit and its inverse are
#: normal numbers; a smaller E* only arises for a target below ~1e-300 |F0|).
_RATIO_MAX = sp.Float(1e300)
_TINY = sp.Float(2.2250738585072014e-308)  # the smallest normal float64
_HUGE = sp.Float(1e308)  # near the largest float64 (which prints as 1.79769313486232e+308, read back as inf)
_LOG_UNIT_MIN = -700


def _exp_asinh_m1(X, K_of_X):
    """e^{asinh(g|X|/Kc)} - 1 = (g|X| + K(X) - Kc)/Kc >= 0, without the cancellation (K(X)^2 = Kc^2 + g^2 X^2)."""
    return g * sp.Abs(X) * (1 + g * sp.Abs(X) / (K_of_X + Kc)) / Kc


def _exp_asinh(X, K_of_X):
    """e^{asinh(g X/Kc)} = (g X + K(X))/Kc, written as Kc/(K(X) - g X) when X < 0 (no cancellation); 1 in
    kinds 2 and 3, which do not use it, so that no cell constant divides by Kc = 0 or overflows."""
    return sp.Piecewise((1, LOGISTIC_OR_DEGENERATE), ((g * X + K_of_X) / Kc, X >= 0), (Kc / (K_of_X - g * X), True))


_Y_F0, _Y_M = _exp_asinh_m1(F0, K0), _exp_asinh_m1(m, Kinf_fwd)
#: The sign of m F0, from the signs (the product m F0 underflows to 0 for |m F0| < 5e-324, e.g. 1e-186 each)
_SIGNS = sp.sign(m) * sp.sign(F0)

CELL: list[tuple[sp.Symbol, sp.Expr]] = [
    (m, xy_cov / x_var),
    (s, sp.sqrt(lr_u * lr_w)),
    (g, 2 * kappa * s),
    (C, DiffOfProducts(lr_w, uu, lr_u, ww)),
    (Kc, kappa**2 * hypot(C, 2 * s * sp.sqrt(d2))),
    (F0, kappa * uw),
    (K0, hypot(Kc, g * F0)),
    (Kinf_fwd, hypot(Kc, g * m)),
    (
        kind,
        sp.Piecewise(
            (2, KC_ZERO & (_SIGNS <= 0)),
            (3, (_SIGNS > 0) & (Kc <= _LOGISTIC_KC * g * sp.Min(sp.Abs(F0), sp.Abs(m)))),
            (1, _SIGNS < 0),
            (0, True),
        ),
    ),
    (Kinf, sp.Piecewise((0, DEGENERATE), (Kinf_fwd, True))),
    (lam, x_var * Kinf_fwd),
    (y0, _exp_asinh(F0, K0)),
    (y_plus, _exp_asinh(m, Kinf_fwd)),
    (inv_y_plus, 1 / y_plus),
    (c0, sp.Piecewise((1, y0 >= 1), (y0, True))),
    (c1, sp.Piecewise((1 / y0, y0 >= 1), (1, True))),
    # e^{|psi0|} - 1 = max(y0, y+)/min(y0, y+) - 1 >= 0 without cancellation, psi0 = asinh(g F0/Kc) - asinh(g m/Kc).
    # Same signs: the ratio (g|F0| + K0)/(g|m| + K_inf), oriented to be >= 1 (K is increasing in |X|, so
    # the larger of |F0|, |m| has the larger of K0, K_inf), minus 1 as a product.
    # Opposite signs: the two asinh terms add, 1 + psi0_arg = e^{asinh(g|F0|/Kc)} e^{asinh(g|m|/Kc)}.
    (
        psi0_arg,
        sp.Piecewise(
            (0, LOGISTIC_OR_DEGENERATE),
            (
                g
                * (sp.Max(sp.Abs(F0), sp.Abs(m)) - sp.Min(sp.Abs(F0), sp.Abs(m)))
                * (1 + g * (sp.Abs(F0) + sp.Abs(m)) / (K0 + Kinf_fwd))
                / (g * sp.Min(sp.Abs(F0), sp.Abs(m)) + sp.Min(K0, Kinf_fwd)),
                GENERAL_SAME_SIGN,
            ),
            (_Y_F0 * (1 + _Y_M) + _Y_M, True),  # (1 + y_F0)(1 + y_m) - 1
        ),
    ),
    (
        psi0_sign,
        sp.Piecewise(
            (sp.sign(F0 + m), GENERAL_SAME_SIGN & (sp.Abs(F0) >= sp.Abs(m))),
            (-sp.sign(F0 + m), GENERAL_SAME_SIGN),
            (sp.sign(F0), True),
        ),
    ),
    # y0 - y+ = psi0_sign min(y0, y+) psi0_arg; once the ratio exceeds 2 the plain difference loses nothing
    # (and psi0_arg may have overflowed).
    (dy0, sp.Piecewise((psi0_sign * sp.Min(y0, y_plus) * psi0_arg, psi0_arg <= 1), (y0 - y_plus, True))),
    (dy0_c1, c1 * dy0),
]

#: The factors of the time program that do not depend on t, computed once per cell (the end of CELL).
HOISTED: list[tuple[sp.Symbol, sp.Expr]] = [
    (n_1, c0 * y_plus),
    (n_E, c0 * inv_y_plus),
    (n_O, c1),
    (d_1, c1 * inv_y_plus),
    (d_E, c1 * y_plus),
    (d_O, c0),
    (h_1, 1 / (n_1 + n_E) + 1 / (d_1 + d_E)),
    (h_0, 1 / (n_1 + n_O) + 1 / (d_1 + d_O)),
    (F0_h, F0 / h_1),
    (m_h, m / h_0),
    # E* = 1/(1 + |F0_h/m_h|); where the ratio would overflow (a target below ~1e-300 |F0|), ln E* is
    # -ln|F0_h/m_h| to rounding, from the two logarithms
    (
        log_estar,
        sp.Piecewise(
            (-log1p(sp.Abs(F0_h / m_h)), sp.Eq(kind, 1) & (sp.Abs(F0_h) <= _RATIO_MAX * sp.Abs(m_h))),
            (sp.log(sp.Abs(m_h)) - sp.log(sp.Abs(F0_h)), sp.Eq(kind, 1)),
            (0, True),
        ),
    ),
    (cross, sp.Piecewise((F0_h - m_h, sp.Eq(kind, 1)), (0, True))),
    (log_unit, sp.Max(log_estar, _LOG_UNIT_MIN)),
    (e_star, sp.exp(log_unit)),
    (inv_e_star, 1 / e_star),
    (n_Es, n_E * e_star),
    (d_Es, d_E * e_star),
    (F0_hs, F0_h * e_star),
    (resid_coef, Kinf_fwd / g * dy0_c1),
    (resid_coef_s, resid_coef * e_star),
    (half_Kc, Kc / 2),
    (sqrt_y0, sp.sqrt(y0)),
    (inv_sqrt_y0, 1 / sqrt_y0),
    (sinh_num, dy0_c1 * (y0 + inv_y_plus) / 2),  # a product that cannot overflow; then the sinh T coefficient
    (sinh_coef, sinh_num * inv_sqrt_y0),  # c1 (y0 - y+)(y0 + 1/y+)/(2 sqrt(y0))
    (root_u, sp.sqrt(lr_u) / sp.sqrt(lr_w)),  # sqrt(eta_u/eta_w)
    (root_w, sp.sqrt(lr_w) / sp.sqrt(lr_u)),
    # cosh T uu - r sinh T uw = e^T (uu - r uw)/2 + e^-T (uu + r uw)/2 (r = sqrt(eta_u/eta_w)), and likewise for w
    (du_half, AddRootProduct(uu, root_u, lr_u, lr_w, -uw) / 2),
    (su_half, AddRootProduct(uu, root_u, lr_u, lr_w, uw) / 2),
    (dw_half, AddRootProduct(ww, root_w, lr_w, lr_u, -uw) / 2),
    (sw_half, AddRootProduct(ww, root_w, lr_w, lr_u, uw) / 2),
    (root_d2, sp.sqrt(d2)),
    (inv_kappa, 1 / kappa),
    (inv_kappa2, 1 / kappa**2),
    (inv_lr_u, 1 / lr_u),
    (inv_lr_w, 1 / lr_w),
    (root_half_a, sp.sqrt(x_var / 2)),
    (kappa2_lr_u, kappa**2 * inv_lr_u),
    (kappa2_lr_w, kappa**2 * inv_lr_w),
    # 1/|F0| unless |m| <= |F0| <= 1 (then F0 |A| cannot underflow where it matters) or F0 is below the normal range
    (
        mu,
        sp.Piecewise(
            (1 / sp.Abs(F0), (sp.Abs(F0) >= _TINY) & ((sp.Abs(F0) > 1) | (sp.Abs(m) > sp.Abs(F0)))), (1, True)
        ),
    ),
    (F0_mu, F0 * mu),
    (absF0_mu, sp.Abs(F0_mu)),
    (sqrt_mu, sp.sqrt(mu)),
]
CELL += HOISTED
# 1 where float64 holds the cell's solution (see ``phasefl.solve.DOMAIN``; 0 for a nan too): every cell constant
# is finite; the NTK scales do not underflow unless they are exactly 0 (Kc only where its factors are, K0 only
# for F0 = 0), and outside kinds 2 and 3 (which need neither) the rate is normal; the weights (v = F/kappa,
# K/kappa^2) at t = 0 and t = infinity are finite.
CELL.append(
    (
        representable,
        sp.Piecewise(
            (
                1,
                sp.And(*(sp.Abs(sym) <= _HUGE for sym, _ in CELL if sym != psi0_arg))  # (which may overflow)
                & ((Kc >= _TINY) | (sp.Eq(C, 0) & sp.Eq(d2, 0)))
                & ((K0 >= _TINY) | sp.Eq(F0, 0))
                & (LOGISTIC_OR_DEGENERATE | (lam >= _TINY))
                & (sp.Max(sp.Abs(F0), sp.Abs(m)) * inv_kappa <= _HUGE)
                & (sp.Max(K0, Kinf_fwd) * inv_kappa2 <= _HUGE),
            ),
            (0, True),
        ),
    )
)


def unhoist(expr: sp.Expr) -> sp.Expr:
    """Write the hoisted cell constants (n_1, F0_h, ...) as their definitions."""
    for _ in range(3):
        expr = expr.subs(dict(HOISTED))
    return expr


#: Names of the cell constants, in the order of the tuple returned by the CELL kernel.
CONSTANTS = tuple(INPUTS) + tuple(sp.flatten(target for target, _ in CELL))


def _observe(F_, resid_, K_, expT_, exp_mT_, sinhT_) -> list[tuple[sp.Symbol, sp.Expr]]:
    """Observables of spec D.4/D.6 from the slope, residual, NTK, e^{+-T} and sinh T (at t = infinity,
    v = m/kappa)."""
    small = 2 * sv * small_ratio
    return [
        (F, F_),
        (resid, resid_),
        (K, K_),
        (expT, expT_),
        (exp_mT, exp_mT_),
        (sinhT, sinhT_),
        (v, F * inv_kappa),
        (Kk, K * inv_kappa2),
        # eta_w |u|^2 = (K/kappa^2 + C)/2, eta_u |w|^2 = (K/kappa^2 - C)/2; the smaller one through their
        # product s^2 (v^2 + D^2) so that it keeps its digits, as 2 sv (sv/(K/kappa^2 + |C|)) with
        # sv = s hypot(v, D), so that no square underflows (v^2 does once |v| < 1e-154, e.g. as F decays to 0).
        (hv, hypot(v, root_d2)),
        (sv, s * hv),
        (small_ratio, sv / (Kk + sp.Abs(C))),
        (eu, sp.Piecewise(((Kk + C) / 2, C >= 0), (small, True))),
        (ew, sp.Piecewise(((Kk - C) / 2, C <= 0), (small, True))),
        (norm_u2, eu * inv_lr_w),
        (norm_w2, ew * inv_lr_u),
        # kappa^2 (|u|^2 + |w|^2) through kappa^2/eta: a layer norm may overflow where kappa^2 times it does not
        (ntk_plain, eu * kappa2_lr_w + ew * kappa2_lr_u),
        # cos = v/sqrt(v^2 + D^2); when v and D are both 0, u and w are parallel (D = 0) and F keeps the sign
        # of F0 (v = 0 by underflow as F decays to 0), unless F0 = 0, where one of the layers is 0.
        (cos_uw, sp.Piecewise((v / hv, hv > 0), (sp.nan, sp.Eq(F0, 0)), (sp.sign(F0), True))),
        (
            rot_u,
            sp.Piecewise(
                (sp.nan, sp.Eq(uu, 0)),
                (0, KC_ZERO),  # u stays a positive multiple of u0
                (sp.atan2(root_d2 * root_u * sp.Abs(sinhT), expT * du_half + exp_mT * su_half), True),
            ),
        ),
        (
            rot_w,
            sp.Piecewise(
                (sp.nan, sp.Eq(ww, 0)),
                (0, KC_ZERO),
                (sp.atan2(root_d2 * root_w * sp.Abs(sinhT), expT * dw_half + exp_mT * sw_half), True),
            ),
        ),
        # a (F - m)^2/2 as (sqrt(a/2) (F - m))^2: the square of F - m alone may overflow
        (scaled_resid, root_half_a * resid),
        (loss_excess, scaled_resid**2),
    ]


OBSERVED = (F, K, ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w, loss_excess)

# In the degenerate branches E = exp(-a g |m| t) (lam = a sqrt(0 + g^2 m^2)) and e^{2T} = F0/F (spec D.3);
# they need no e^T: neither layer rotates.
#: The y-form with the per-cell factors hoisted into CELL; ``claims()`` checks it against ``solution``.
AT_Y: list[tuple[sp.Symbol, sp.Expr]] = [
    (N, n_1 + UnitProduct(E_s, n_Es, n_E, e_star) + omE * n_O),
    (D, d_1 + UnitProduct(E_s, d_Es, d_E, e_star) + omE * d_O),
    (inv_N, 1 / N),
    (inv_D, 1 / D),
    (hE, inv_N + inv_D),
    (E_N, E_s * inv_N),  # E_s/N <= 1/n_Es: a bounded factor of F - m (inv_y_plus inv_N alone may overflow)
    (y_t, N * inv_D),  # y(t)
    (inv_y, D * inv_N),
    (Q, sp.sqrt(inv_y)),  # 1/sqrt(y), so e^T = sqrt(y0) Q
    (sqrt_y, Q * y_t),
    (Q_D, Q * inv_D),  # 1/sqrt(N D)
]
_slope_same_sign = hE * (E_s * F0_hs + omE * m_h)
# (K_inf/g) c1 (y0 - y+) E (1/D + 1/(y+ N)), each term's coefficient times E before the division by D
# (E_s/D alone overflows for a huge y0 in a tiny unit)
_residual = (
    UnitProduct(E_s, resid_coef_s, resid_coef, e_star) * inv_D
    + UnitProduct(E_N, resid_coef_s, resid_coef, e_star) * inv_y_plus
)
_ntk = half_Kc * (y_t + inv_y)
_expT = sqrt_y0 * Q
_exp_mT = sqrt_y * inv_sqrt_y0
_sinhT = sinh_coef * omE * Q_D

#: Kinds 2 and 3: (1 - E)/|m| (lam = a g|m| there), exact where lam t is tiny or underflows.
A_TIME = sp.Piecewise(
    (omE / sp.Abs(m), lam * t >= 1),
    (x_var * g * t * (omE / (lam * t)), lam * t >= _TINY),
    (x_var * g * t, True),
)

AT: list[tuple[sp.Symbol | tuple[sp.Symbol, ...], sp.Expr]] = (
    [
        ((E_s, omE), ExpDecay(lam * t, -log_unit, e_star, inv_e_star)),
        (A_q, sp.Piecewise((0, kind < 2), (A_TIME, True))),
        (X_lg, absF0_mu * A_q + E_s * mu),
        (R_lg, sp.Piecewise((0, kind < 3), (E_s * mu / X_lg, True))),
    ]
    + AT_Y
    + _observe(
        sp.Piecewise(  # (kinds 2 and 3 have e_star = 1, so E_s = E)
            # m F0 E/(m - F0 (1 - E)) (and F0/(1 + a g|F0| t) for m = 0), both scaled by mu
            # (A written out, not the symbol A_q: the slope alone then computes it in these branches only)
            (F0_mu * E_s / (mu + absF0_mu * A_TIME), DEGENERATE),
            (F0_mu / (absF0_mu * A_TIME + E_s * mu), LOGISTIC),  # m F0/(F0 (1 - E) + m E), scaled by mu
            (_slope_same_sign, GENERAL_SAME_SIGN),
            # cross h (E - E*) = cross h e_star (E_s - E*/e_star); E*/e_star = 1 unless the unit is floored
            (cross * hE * e_star * (expm1(-lam * t - log_unit) - expm1(log_estar - log_unit)), True),
        ),
        sp.Piecewise(
            (F - m, DEGENERATE),  # F and m have opposite signs (or m = 0): no cancellation
            ((F0 - m) * R_lg, LOGISTIC),
            (_residual, True),
        ),
        sp.Piecewise(
            (g * sp.Abs(F), LOGISTIC_OR_DEGENERATE),
            (_ntk, True),
        ),
        # logistic: e^{2T} = F0/F = |F0| A + E, and e^{2T} - 1 = (|F0| - |m|) A (kind 2 never rotates)
        sp.Piecewise((sp.sqrt(X_lg) / sqrt_mu, LOGISTIC), (_expT, True)),
        sp.Piecewise((1 / expT, LOGISTIC), (_exp_mT, True)),
        sp.Piecewise(  # two orders of the same product, each free of intermediate overflow in its case
            ((F0 - m) * mu * sp.sign(m) * A_q / (2 * sqrt_mu * sp.sqrt(X_lg)), LOGISTIC & (sp.Abs(F0) >= sp.Abs(m))),
            ((F0 - m) * sp.sign(m) * A_q * sqrt_mu / (2 * sp.sqrt(X_lg)), LOGISTIC),
            (_sinhT, True),
        ),
    )
)


def _needed(program, outputs) -> list:
    """The assignments of ``program`` that ``outputs`` depend on, in order (a backward slice)."""
    needed, kept = set(outputs), []
    for target, expr in reversed(program):
        targets = target if isinstance(target, tuple) else (target,)
        if needed.intersection(targets):
            kept.append((target, expr))
            needed |= expr.free_symbols
    return kept[::-1]


#: The slope alone (the kernel-baseline distance needs F at many times, not the weights).
SLOPE = _needed(AT, (F,))

# t = infinity: E = 0, y = y+, so F = m, K = K_inf, e^T = sqrt(y0/y+). The degenerate branch
# collapses to the zero network (F = 0, K = 0), keeping cos = sign(F0) and no rotation.
_final_degenerate = {
    F: 0,
    K: 0,
    ntk_plain: 0,
    norm_u2: 0,
    norm_w2: 0,
    cos_uw: sp.sign(F0),
    resid: -m,
}
Q_inf, sqrt_y_plus = _sym("Q_inf", nonnegative=True), _sym("sqrt_y_plus", nonnegative=True)  # 1/sqrt(y+), sqrt(y+)
sinh_per_D = _sym("sinh_per_D")  # sinh_coef/(d_1 + d_O), before the factor Q_inf (their product first may overflow)
FINAL: list[tuple[sp.Symbol, sp.Expr]] = [
    (Q_inf, sp.sqrt(inv_y_plus)),
    (sqrt_y_plus, Q_inf * y_plus),
    (sinh_per_D, sinh_coef / (d_1 + d_O)),
] + [
    (
        target,
        sp.Piecewise((_final_degenerate[target], DEGENERATE), (expr, True)) if target in _final_degenerate else expr,
    )
    for target, expr in _observe(
        m,
        sp.Integer(0),
        Kinf,
        # logistic: e^{2T} = F0/m (same signs), each square root alone (the ratio may leave float64's range)
        sp.Piecewise((sp.sqrt(sp.Abs(F0)) / sp.sqrt(sp.Abs(m)), LOGISTIC), (sqrt_y0 * Q_inf, True)),
        sp.Piecewise((sp.sqrt(sp.Abs(m)) / sp.sqrt(sp.Abs(F0)), LOGISTIC), (sqrt_y_plus * inv_sqrt_y0, True)),
        # the time program's sinh T at E = 0 (N = n_1 + n_O, D = d_1 + d_O)
        sp.Piecewise(
            ((F0 - m) * sp.sign(m) / (2 * sp.sqrt(sp.Abs(m)) * sp.sqrt(sp.Abs(F0))), LOGISTIC),
            (sinh_per_D * Q_inf, True),
        ),
    )
]

#: The un-weighted NTK at t = infinity alone (what a sweep needs of FINAL; the rotations, which
#: need two atan2, are most of FINAL's cost).
NTK_PLAIN_FINAL = _needed(FINAL, (ntk_plain,))

ORDER: list[tuple[sp.Symbol, sp.Expr]] = [
    (gamma, g * sp.Abs(m) / K0),  # target strength Gamma (spec E.1)
    (gamma0, g * sp.Abs(F0) / K0),  # initial-output strength Gamma0
    (zeta, sp.Piecewise((1, sp.Eq(d2, 0)), (sp.Abs(C) / hypot(C, 2 * s * sp.sqrt(d2)), True))),
    (ntk_ratio, Kinf / K0),
    (ntk_rel_change, sp.Piecewise((-1, DEGENERATE), (solution.relative_ntk_change().subs(Kinf, Kinf_fwd), True))),
    (imbalance, lr_w * uu / (lr_u * ww)),  # r; inf when w0 = 0
    (dominant_w, sp.Piecewise((0, C >= 0), (1, True))),  # 0: u carries the NTK, 1: w
]
t_half = _sym("t_half")
k_r, q_r, p0_r, ph_r, n_0, n_h = (_sym(n) for n in ("k_r", "q_r", "p0_r", "ph_r", "n_0", "n_h"))


def _n_scaled(p_):
    """N(F)/K_inf^2 of ``solution.t_half`` with p_ = g F/K_inf (k_r = Kc/K_inf, q_r = g m/K_inf, so
    k_r^2 + q_r^2 = 1), summing terms of one sign: where m F < 0, N = Kc^2 g^2 (F - m)^2/(K_inf K - Kc^2 - g^2 m F)."""
    root = hypot(k_r, p_)
    return sp.Piecewise(
        (k_r**2 * (p_ - q_r) ** 2 / (root - k_r**2 - q_r * p_), q_r * p_ < 0), (k_r**2 + q_r * p_ + root, True)
    )


# t_1/2 (``solution.t_half``): the general form in scaled variables; in the collapse (F -> 0, Kc = 0,
# m F0 <= 0) F = m F0 E/(m - F0 (1 - E)) with E = e^(-a g|m| t) reaches F_half only if |m| < |F0|
# (at E = 1 + m/F0), or, for m = 0, F = F0/(1 + a g|F0| t) at a g|F0| t = 1.
ORDER += [
    (k_r, Kc / Kinf_fwd),
    (q_r, g * m / Kinf_fwd),
    (p0_r, g * F0 / Kinf_fwd),
    (ph_r, g * (F0 / 2 + m / 2) / Kinf_fwd),
    (n_0, _n_scaled(p0_r)),
    (n_h, _n_scaled(ph_r)),
    (
        t_half,
        sp.Piecewise(
            (1 / (x_var * g * sp.Abs(F0)), DEGENERATE & sp.Eq(m, 0)),
            (-log1p(m / F0) / (x_var * g * sp.Abs(m)), DEGENERATE & (sp.Abs(m) < sp.Abs(F0))),
            (sp.oo, DEGENERATE),
            ((sp.log(2) + sp.log(n_h) - sp.log(n_0)) / (x_var * Kinf_fwd), True),
        ),
    ),
]
ORDER_OUTPUTS = (gamma, gamma0, zeta, ntk_ratio, ntk_rel_change, imbalance, dominant_w, t_half)

#: The generated program's named interface: symbol -> (the name users, Datasets and stores see, long
#: name, units). The data x, y keep their own units; time is in the units of 1 / (eta E[x^2]).
INTERFACE: dict[sp.Symbol, tuple[str, str, str]] = {
    kappa: ("output_scale", "output scale kappa", "1"),
    lr_u: ("lr_u", "learning rate eta_u of u", "1/(time E[x^2])"),
    lr_w: ("lr_w", "learning rate eta_w of w", "1/(time E[x^2])"),
    x_var: ("x_var", "data second moment a = E[x^2]", "x^2"),
    xy_cov: ("xy_cov", "data cross moment b = E[xy]", "x y"),
    uu: ("uu", "|u0|^2 at init", "1"),
    ww: ("ww", "|w0|^2 at init", "1"),
    uw: ("uw", "u0.w0 at init", "1"),
    d2: ("d2", "area |u0|^2 |w0|^2 - (u0.w0)^2 at init", "1"),
    F: ("F", "network slope F = kappa u.w (f(x) = F x)", "y/x"),
    K: ("ntk", "learning-rate-weighted NTK K = kappa^2 (eta_u |w|^2 + eta_w |u|^2)", "1/(time E[x^2])"),
    ntk_plain: ("ntk_plain", "un-weighted NTK kappa^2 (|u|^2 + |w|^2)", "1"),
    norm_u2: ("norm_u2", "|u|^2", "1"),
    norm_w2: ("norm_w2", "|w|^2", "1"),
    cos_uw: ("cos_uw", "cosine of the angle between u and w", "1"),
    rot_u: ("rot_u", "angle between u(t) and u(0) (nan if u(0) = 0)", "rad"),
    rot_w: ("rot_w", "angle between w(t) and w(0) (nan if w(0) = 0)", "rad"),
    loss_excess: ("loss_excess", "excess loss L - L_min = a (F - m)^2 / 2", "y^2"),
    gamma: ("gamma", "target strength Gamma = g|m|/K0", "1"),
    gamma0: ("gamma0", "initial-output strength Gamma0 = g|F0|/K0", "1"),
    zeta: ("zeta", "imbalance fraction zeta", "1"),
    ntk_ratio: ("ntk_ratio", "K_inf/K0, learning-rate-weighted NTK", "1"),
    ntk_rel_change: ("ntk_rel_change", "K_inf/K0 - 1", "1"),
    imbalance: ("imbalance", "layer imbalance r = eta_w|u0|^2/(eta_u|w0|^2)", "1"),
    dominant_w: ("dominant_w", "dominant layer (0: u carries the NTK, 1: w)", "1"),
    t_half: ("t_half", "learning time t_1/2: F covers half the way from F0 to m", "time"),
}

F_kernel = _sym("F_kernel")
#: The kernel baseline (spec D.5): the NTK frozen at K0 gives F = m + (F0 - m) exp(-a K0 t).
BASELINE: list[tuple[sp.Symbol, sp.Expr]] = [(F_kernel, m + (F0 - m) * sp.exp(-x_var * K0 * t))]

EXPONENT_INPUTS = tuple(sp.Symbol(n, real=True) for n in asymptotics.EXPONENT_NAMES)
EXPONENTS = asymptotics.PROGRAM

#: name -> (inputs, program, outputs, docstring): what codegen writes.
KERNELS = {
    "cell_constants": (
        INPUTS,
        CELL,
        CONSTANTS,
        "Cell constants of spec D.1 and of the product form, as one tuple (names in CONSTANTS).",
    ),
    "observables_at": (
        (t,),
        AT,
        OBSERVED,
        "Observables at time t: F, ntk, ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w, loss_excess.",
    ),
    "observables_final": (
        (),
        FINAL,
        OBSERVED,
        "Observables at t = infinity, in the order of observables_at.",
    ),
    "order_parameters": (
        (),
        ORDER,
        ORDER_OUTPUTS,
        "Order parameters of spec E.1 (gamma, gamma0, zeta, K_inf/K0, K_inf/K0 - 1, r, dominant: 0 u, 1 w) and t_1/2.",
    ),
    "slope_at": ((t,), SLOPE, (F,), "The slope F at time t (the first observable of observables_at)."),
    "ntk_plain_final": (
        (),
        NTK_PLAIN_FINAL,
        (ntk_plain,),
        "The un-weighted NTK at t = infinity (as in observables_final).",
    ),
    "kernel_baseline_at": ((t,), BASELINE, (F_kernel,), "Slope of the network with its NTK frozen at K0, at time t."),
    "exponents": (
        EXPONENT_INPUTS,
        EXPONENTS,
        tuple(target for target, _ in EXPONENTS),
        "Width -> infinity exponents of spec E.3: x, rho, gamma, gamma0, phi0, k0, ntk_change, label code.",
    ),
}


def claims() -> dict[str, sp.Expr]:
    """The stable rewrites used above equal the plain formulas (each must simplify to 0)."""
    K0_ = sp.sqrt(Kc**2 + g**2 * F0**2)
    Kinf_ = sp.sqrt(Kc**2 + g**2 * m**2)
    f_abs, m_abs, k_pos = sp.symbols("f_abs m_abs k_pos", positive=True)
    # same signs with |F0| >= |m| (the other orientation swaps F0 and m): F0 = m + d, and K0 >= K_inf
    m_pos, d_pos = sp.symbols("m_pos d_pos", positive=True)
    same = {F0: m_pos + d_pos, m: m_pos}
    cell = dict(CELL)
    arg = cell[psi0_arg].args[1].expr.subs(sp.Min(K0, Kinf_fwd), Kinf_fwd)
    arg = arg.subs(same).subs({K0: K0_.subs(same), Kinf_fwd: Kinf_.subs(same)})
    hoisted = dict(HOISTED)
    e_star_ = hoisted[m_h] / (hoisted[m_h] - hoisted[F0_h])  # the root of F in E
    return {
        "psi0 (same signs, |F0| >= |m|): 1 + psi0_arg = (g F0 + K0)/(g m + K_inf)": sp.radsimp(
            ((1 + arg) * (g * m + Kinf_) - (g * F0 + K0_)).subs(same)
        ),
        "psi0 (opposite signs): e^{asinh(g|X|/Kc)} - 1 as a product, X = F0 or m": sp.radsimp(
            (1 + _exp_asinh_m1(f_abs, K0_.subs(F0, f_abs))) - sp.exp(sp.asinh(g * f_abs / Kc).rewrite(sp.log))
        ).subs(Kc, k_pos),  # Kc > 0 whenever this branch runs (kind 1)
        "y0 = e^{asinh(g F0/Kc)} without cancellation, F0 >= 0 and F0 < 0": sum(
            sp.radsimp(
                cell[y0].args[i].expr.subs({F0: sign * f_abs, K0: K0_.subs(F0, f_abs)})
                - sp.exp(sp.asinh(sign * g * f_abs / Kc).rewrite(sp.log))
            ).subs(Kc, k_pos)
            for i, sign in ((1, 1), (2, -1))
        ),
        "y+ = e^{asinh(g m/Kc)} is the same function of m": cell[y_plus] - cell[y0].subs({F0: m, K0: Kinf_fwd}),
        "y0 - y+ = psi0_sign min(y0, y+) psi0_arg, either sign of psi0": _dy0_claim(),
        "crossing form (F0/h(1) - m/h(0)) h (E - E*) equals the same-sign form": (hoisted[F0_h] - hoisted[m_h])
        * (E - e_star_)
        - (hoisted[m_h] * (1 - E) + hoisted[F0_h] * E),
        "E* = exp(log_estar) when m F0 < 0 (here m > 0 > F0)": e_star_.subs({F0: -f_abs, m: m_abs})
        - 1 / (1 + sp.Abs(hoisted[F0_h] / hoisted[m_h]).subs({F0: -f_abs, m: m_abs})),
        "ln E* = -ln|F0_h/m_h| (to 1e-300) from two logarithms where the ratio would overflow": sp.expand_log(
            hoisted[log_estar].args[1].expr.subs({F0_h: -f_abs, m_h: m_abs}) + sp.log(f_abs / m_abs), force=True
        ),
        "crossing branch: F = cross h (E - E*) in units e_star = e^log_unit of E, whatever the unit": (
            dict(AT)[F].args[-1].expr.subs(e_star, sp.exp(log_unit)).replace(expm1, lambda x: sp.exp(x) - 1)
            - cross * hE * (sp.exp(-lam * t) - sp.exp(log_estar))
        ),
        **_time_program_claims(),
    }


def _dy0_claim() -> sp.Expr:
    """y0 - y+ = psi0_sign min(y0, y+) psi0_arg for psi0 = +-log1p(p), p > 0, e^psi0 = y0/y+."""
    p, yp = sp.symbols("p y_p", positive=True)
    stable = dict(CELL)[dy0].args[0].expr
    out = sp.Integer(0)
    for sign, y0_, smaller in ((1, yp * (1 + p), yp), (-1, yp / (1 + p), yp / (1 + p))):
        at = {psi0_sign: sign, psi0_arg: p, sp.Min(y0, y_plus): smaller}
        out += sp.Abs(stable.subs(at) - (y0_ - yp))
    return out


def _time_program_claims() -> dict[str, sp.Expr]:
    """The time program (hoisted factors, scaled sums N and D, 1/N and 1/D separately) equals the
    Riccati solution and the product form of ``solution``, in both scalings (y0 >= 1 and y0 < 1);
    then the logistic branch, the rotation and the small layer norm."""
    return {**_riccati_program_claims(), **_logistic_claims(), **_rotation_and_norm_claims()}


def _riccati_program_claims() -> dict[str, sp.Expr]:
    """The y-form time program equals the Riccati solution and the product form, at t and at t = infinity,
    in both scalings (y0 >= 1 and y0 < 1)."""
    at = dict(AT)
    yp = y_plus
    # Riccati y(E) with y+- = (g m +- K_inf)/Kc written through y+: g m = Kc (y+ - 1/y+)/2, K_inf = Kc (y+ + 1/y+)/2
    on_y = {m: Kc * (yp - 1 / yp) / (2 * g), Kinf: Kc * (yp + 1 / yp) / 2, Kinf_fwd: Kc * (yp + 1 / yp) / 2}
    y_riccati = solution.y_of_t.subs(sp.exp(-x_var * Kinf * t), E).subs(on_y).subs(solution.y0, y0)
    F_of_y = solution.F_riccati.subs(sp.exp(-x_var * Kinf * t), E).subs(on_y).subs(solution.y0, y0)
    K_of_y = solution.K_riccati.subs(sp.exp(-x_var * Kinf * t), E).subs(on_y).subs(solution.y0, y0)
    # the product form with alpha/beta = y+^2, alpha + beta = 1 and P/M = e^{psi0} = y0/y+
    product = {
        solution.alpha: yp**2 / (1 + yp**2),
        solution.beta: 1 / (1 + yp**2),
        solution.P: y0,
        solution.M: yp,
    }
    n_ratio = (yp * solution.PRODUCT_FORM[solution.n_minus] / solution.PRODUCT_FORM[solution.n_plus]).subs(product)
    # the hoisted factors, with e_star = E/E_s kept as a symbol: any positive e_star gives the same program
    defs = {target: expr for target, expr in HOISTED if target not in (log_estar, cross, e_star, inv_e_star)}
    final = {target: expr for target, expr in FINAL[:3]}  # Q_inf, sqrt_y_plus, sinh_per_D
    final[sqrt_y_plus] = final[sqrt_y_plus].subs(final)
    hoisted_num = dy0_c1 * (y0 + inv_y_plus) / 2
    out: dict[str, sp.Expr] = {}
    for name, scale in (("y0 >= 1", {c0: 1, c1: 1 / y0}), ("y0 < 1", {c0: y0, c1: 1})):
        cell = {
            F0: Kc * (y0 - 1 / y0) / (2 * g),  # g F0 = Kc sinh(asinh(g F0/Kc))
            dy0: y0 - yp,
            inv_y_plus: 1 / yp,
            inv_sqrt_y0: 1 / sp.sqrt(y0),
            sqrt_y0: sp.sqrt(y0),
            half_Kc: Kc / 2,
            **on_y,
        }

        def expand(expr, cell=cell, scale=scale, hoisted_num=hoisted_num):  # program, then the cell's values
            for _ in range(8):
                expr = expr.subs(dict(AT_Y)).subs(defs).subs({dy0_c1: c1 * dy0, sinh_num: hoisted_num})
            expr = expr.replace(UnitProduct, lambda es, xs, x, unit: es * xs)
            return expr.subs(E_s, E / e_star).subs(cell).subs(scale).subs(omE, 1 - E)

        y_prog = expand(N / D)
        expT_, exp_mT_ = expand(at[expT].args[-1].expr), expand(at[exp_mT].args[-1].expr)  # the y-form branch
        out[f"time program ({name}): N/D = y(t) of the Riccati solution"] = y_prog - y_riccati
        out[f"time program ({name}): N/D = y+ n-/n+ of the product form"] = y_prog - n_ratio.subs(solution.omE, 1 - E)
        out[f"time program ({name}): F (same signs) = Kc (y - 1/y)/(2g)"] = expand(_slope_same_sign) - F_of_y
        out[f"time program ({name}): F - m"] = expand(_residual) - (F_of_y - on_y[m])
        out[f"time program ({name}): K = Kc (y + 1/y)/2"] = expand(_ntk) - K_of_y
        out[f"time program ({name}): e^{{2T}} = y0/y"] = expT_**2 - y0 / y_riccati
        out[f"time program ({name}): e^T e^-T = 1"] = expT_ * exp_mT_ - 1
        out[f"time program ({name}): sinh T = (e^T - e^-T)/2"] = (expand(_sinhT) - (expT_ - exp_mT_) / 2) * expT_
        fin = {
            target: expand(expr.args[-1].expr.subs(final)) for target, expr in FINAL if target in (expT, exp_mT, sinhT)
        }
        out[f"t = infinity ({name}): D/N = 1/y+, e^{{2T}} = y0/y+, e^T e^-T = 1, sinh T as at E = 0"] = (
            (expand((d_1 + d_O) / (n_1 + n_O)) - 1 / yp) ** 2
            + (fin[expT] ** 2 - y0 / yp) ** 2
            + (fin[expT] * fin[exp_mT] - 1) ** 2
            + (fin[sinhT] - expand(_sinhT).subs(E, 0)) ** 2
        )
    return out


def _logistic_claims() -> dict[str, sp.Expr]:
    """Kinds 2 and 3 (K = g|F|): the scaled forms equal the logistic solution of ``solution`` (kind 3, m F0 > 0)
    and the collapse (kind 2, m F0 < 0, and m = 0) for any scale mu > 0; A = (1 - E)/|m| in each of its forms;
    then e^{2T} = F0/F, e^T e^-T = 1, sinh T = (e^{2T} - 1)/(2 e^T) (both orders), at t and t = inf."""
    out: dict[str, sp.Expr] = {}
    f_pos, m_pos, mu_pos = sp.symbols("f_pos m_pos mu_pos", positive=True)
    E_t = sp.exp(-x_var * g * m_pos * t)  # lam = a g|m| in these kinds
    at = dict(AT)

    def scaled(expr):
        expr = expr.subs(A_TIME, A_q).subs(R_lg, at[R_lg].args[-1].expr).subs(X_lg, at[X_lg])
        return expr.subs({mu: mu_pos, F0_mu: F0 * mu_pos, absF0_mu: sp.Abs(F0) * mu_pos, sqrt_mu: sp.sqrt(mu_pos)})

    out["A = (1 - E)/|m| (lam = a g|m|): for lam t >= 1, and as a g t (1 - E)/(lam t) below"] = sum(
        sp.simplify(A_TIME.args[i].expr.subs({lam: x_var * g * m_pos, m: m_pos, omE: 1 - E_t}) - (1 - E_t) / m_pos)
        for i in (0, 1)
    )
    logistic = {F0: f_pos, m: m_pos, A_q: (1 - E_t) / m_pos, E_s: E_t}
    F_log = scaled(at[F].args[1].expr).subs(logistic)
    out["logistic branch (kind 3): F = m F0/(F0 + (m - F0) E) of solution, and F - m"] = sp.simplify(
        F_log - solution.F_logistic.subs({F0: f_pos, m: m_pos})
    ) + sp.simplify(scaled(at[resid].args[1].expr).subs(logistic) - (F_log - m_pos))
    collapse = {F0: f_pos, m: -m_pos, A_q: (1 - E_t) / m_pos, E_s: E_t}
    F_deg = scaled(at[F].args[0].expr)
    out["collapse (kind 2): F = m F0 E/(m - F0 (1 - E)) for m F0 < 0, and F0/(1 + a g F0 t) for m = 0"] = sp.simplify(
        F_deg.subs(collapse) - (-m_pos * f_pos * E_t / (-m_pos - f_pos * (1 - E_t)))
    ) + sp.simplify(
        F_deg.subs({F0: f_pos, A_q: A_TIME.args[-1].expr, E_s: 1}) - solution.F_logistic_zero_target.subs(F0, f_pos)
    )
    e_T = scaled(at[expT].args[0].expr)
    sinh_forms = [scaled(at[sinhT].args[i].expr) for i in (0, 1)]
    fin = {sym: dict(FINAL)[sym].args[0].expr for sym in (expT, exp_mT, sinhT)}
    out["logistic branch: e^{2T} = F0/F, e^T e^-T = 1, sinh T = (e^{2T} - 1)/(2 e^T), at t and t = inf"] = sp.simplify(
        (
            (e_T**2 - F0 / F_log) ** 2
            + (at[exp_mT].args[0].expr.subs(expT, e_T) * e_T - 1) ** 2
            + sum((form * 2 * e_T - (e_T**2 - 1)) ** 2 for form in sinh_forms)
            + (fin[expT] ** 2 - F0 / m) ** 2
            + (fin[exp_mT] * fin[expT] - 1) ** 2
            + (fin[sinhT].subs(expT, fin[expT]) * 2 * fin[expT] - (fin[expT] ** 2 - 1)) ** 2
        ).subs(logistic)
    )
    return out


def _rotation_and_norm_claims() -> dict[str, sp.Expr]:
    """The rotation's and the small layer norm's stable forms equal the plain formulas."""
    out: dict[str, sp.Expr] = {}
    eT, emT, r_ = sp.symbols("eT emT r", positive=True)
    hoisted = dict(HOISTED)
    halves = {sym: hoisted[sym].doit().subs(root_u, r_) for sym in (du_half, su_half)}
    x_u = (eT * du_half + emT * su_half).subs(halves)
    out["rotation: e^T (uu - r uw)/2 + e^-T (uu + r uw)/2 = cosh T uu - r sinh T uw"] = x_u - (
        (eT + emT) / 2 * uu - r_ * (eT - emT) / 2 * uw
    )
    pq = sp.symbols("p q", positive=True)
    out["a + sqrt(p/q) b with r = sqrt(p)/sqrt(q)"] = AddRootProduct(
        uu, sp.sqrt(pq[0]) / sp.sqrt(pq[1]), *pq, uw
    ).doit() - AddRootProduct(uu, sp.sqrt(pq[0]) / sp.sqrt(pq[1]), *pq, uw).rewrite(sp.Add)
    hv_ = sp.sqrt(v**2 + d2)
    out["small layer norm: 2 sv (sv/(Kk + |C|)) = 2 s^2 (v^2 + D^2)/(Kk + |C|), at t and at t = infinity"] = sum(
        (
            dict(program)[eu].args[1].expr.subs(small_ratio, sv / (Kk + sp.Abs(C))).subs(sv, s * hv_)
            - 2 * s**2 * (v**2 + d2) / (Kk + sp.Abs(C))
        )
        ** 2
        for program in (AT, FINAL)
    )
    return out
