"""The closed form as straight-line programs with explicit branches, ready to be lowered.

Each program is an ordered list of assignments ``(symbol, expression)``; an expression may be
a ``Piecewise``, which the code generator prints as an if/elif/else block. Four programs:

- ``CELL``:   inputs (kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2) -> the cell constants;
- ``AT``:     (t, cell constants) -> the observables at time t;
- ``FINAL``:  cell constants -> the observables at t = infinity;
- ``ORDER``:  cell constants -> the order parameters of spec E.1.

The expressions are those of ``solution.py`` (product form), plus the numerically careful
choices named in the spec: stable roots for alpha/beta (D.3), psi0 as a log1p of a
cancellation-free ratio or a sum of same-signed asinh terms, C as an error-free difference of
products, the relative NTK change without cancellation (K), and the degenerate case Kc = 0.

Branch kinds of a cell (the constant ``kind``):
  0  general, m F0 >= 0: F never crosses 0;
  1  general, m F0 < 0: F crosses 0 once (needs Kc > 0);
  2  degenerate, Kc = 0 and m F0 <= 0: K = g|F| vanishes at F = 0, so F decays to 0, not to m.
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
    M,
    P,
    S,
    alpha,
    beta,
    d2,
    g,
    h_end,
    h_start,
    kappa,
    lam,
    lr_u,
    lr_w,
    m,
    n_minus,
    n_plus,
    omE,
    psi0,
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


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, real=True, **assumptions)


# Lowering-only intermediates (not spec quantities).
kind = _sym("kind")
Kinf_fwd = _sym("Kinf_fwd", nonnegative=True)  # sqrt(Kc^2 + g^2 m^2): the rate of E in every branch
q = _sym("q", positive=True)
ratio_m1 = _sym("ratio_m1")  # (g|F0| + K0)/(g|m| + K_inf) - 1 for m F0 >= 0
log_estar = _sym("log_estar")  # ln E*, E* = exp(-lambda t*) at the zero crossing of F
cross = _sym("cross")  # F0/h(1) - m/h(0), the slope coefficient of the crossing branch
hE = _sym("h", positive=True)
F, resid, K, X2, X2m1 = (_sym(n) for n in ("F", "resid", "K", "X2", "X2m1"))
sinhT, coshT, v, Kk, eu, ew = (_sym(n) for n in ("sinhT", "coshT", "v", "Kk", "eu", "ew"))
norm_u2, norm_w2, ntk_plain, cos_uw, rot_u, rot_w, loss_excess = (
    _sym(n) for n in ("norm_u2", "norm_w2", "ntk_plain", "cos_uw", "rot_u", "rot_w", "loss_excess")
)
gamma, gamma0, zeta, ntk_ratio, ntk_rel_change, imbalance, dominant_w = (
    _sym(n) for n in ("gamma", "gamma0", "zeta", "ntk_ratio", "ntk_rel_change", "imbalance", "dominant_w")
)

INPUTS = (kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, uw, d2)

DEGENERATE = sp.Eq(kind, 2)
GENERAL_SAME_SIGN = sp.Eq(kind, 0)


def _asinh_abs(X, K_of_X):
    """asinh(g|X|/Kc) >= 0, in log form when the argument is large (Kc may be tiny)."""
    return sp.Piecewise(
        (sp.asinh(g * sp.Abs(X) / Kc), g * sp.Abs(X) <= Kc),
        (sp.log(g * sp.Abs(X) + K_of_X) - sp.log(Kc), True),
    )


CELL: list[tuple[sp.Symbol, sp.Expr]] = [
    (m, xy_cov / x_var),
    (s, sp.sqrt(lr_u * lr_w)),
    (g, 2 * kappa * s),
    (C, DiffOfProducts(lr_w, uu, lr_u, ww)),
    (Kc, kappa**2 * hypot(C, 2 * s * sp.sqrt(d2))),
    (F0, kappa * uw),
    (K0, hypot(Kc, g * F0)),
    (Kinf_fwd, hypot(Kc, g * m)),
    (kind, sp.Piecewise((2, sp.Eq(Kc, 0) & (m * F0 <= 0)), (1, m * F0 < 0), (0, True))),
    (Kinf, sp.Piecewise((0, DEGENERATE), (Kinf_fwd, True))),
    (lam, x_var * Kinf_fwd),
    # alpha = (K_inf + g m)/(2 K_inf), beta = 1 - alpha; the smaller one from alpha beta = (Kc/2K_inf)^2.
    (
        alpha,
        sp.Piecewise(
            (sp.Rational(1, 2), sp.Eq(Kinf_fwd, 0)),
            ((1 + g * m / Kinf_fwd) / 2, m >= 0),
            ((Kc / (2 * Kinf_fwd)) ** 2 / ((1 - g * m / Kinf_fwd) / 2), True),
        ),
    ),
    (
        beta,
        sp.Piecewise(
            (sp.Rational(1, 2), sp.Eq(Kinf_fwd, 0)),
            ((Kc / (2 * Kinf_fwd)) ** 2 / alpha, m >= 0),
            ((1 - g * m / Kinf_fwd) / 2, True),
        ),
    ),
    # psi0 = asinh(g F0/Kc) - asinh(g m/Kc). Same signs (flipped to >= 0): psi0 = ln((g|F0| + K0)/(g|m| + K_inf));
    # near ratio 1 as log1p of ratio - 1 written as a product (the kernel regime), else the log of the ratio.
    # Opposite signs: the two asinh terms add.
    (
        ratio_m1,
        g
        * (sp.Abs(F0) - sp.Abs(m))
        * (1 + g * (sp.Abs(F0) + sp.Abs(m)) / (K0 + Kinf_fwd))
        / (g * sp.Abs(m) + Kinf_fwd),
    ),
    (
        psi0,
        sp.Piecewise(
            (0, DEGENERATE),
            (sp.sign(F0 + m) * log1p(ratio_m1), GENERAL_SAME_SIGN & (sp.Abs(ratio_m1) <= sp.Rational(1, 2))),
            (
                sp.sign(F0 + m) * sp.log((g * sp.Abs(F0) + K0) / (g * sp.Abs(m) + Kinf_fwd)),
                GENERAL_SAME_SIGN,
            ),
            (sp.sign(F0) * (_asinh_abs(F0, K0) + _asinh_abs(m, Kinf_fwd)), True),
        ),
    ),
    # (P, M) proportional to (e^{psi0}, 1), scaled so that the larger is 1.
    (q, sp.exp(-sp.Abs(psi0))),
    (P, sp.Piecewise((1, psi0 >= 0), (q, True))),
    (M, sp.Piecewise((q, psi0 >= 0), (1, True))),
    (solution.tau, sp.sign(psi0) * (-expm1(-sp.Abs(psi0))) / 2),
    (S, alpha * P + beta * M),
    (h_end, solution.PRODUCT_FORM[h_end]),
    (h_start, solution.PRODUCT_FORM[h_start]),
    (log_estar, sp.Piecewise((-log1p(sp.Abs(F0) * h_end / (sp.Abs(m) * h_start)), sp.Eq(kind, 1)), (0, True))),
    (cross, sp.Piecewise((F0 / h_start - m / h_end, sp.Eq(kind, 1)), (0, True))),
]

#: Names of the cell constants, in the order of the tuple returned by the CELL kernel.
CONSTANTS = tuple(INPUTS) + tuple(target for target, _ in CELL)


def _observe(F_, resid_, K_, X2_, X2m1_) -> list[tuple[sp.Symbol, sp.Expr]]:
    """Observables of spec D.4/D.6 from the slope, residual, NTK and e^{2T} (and e^{2T} - 1)."""
    Bu = sp.sqrt(lr_u / lr_w) * sinhT  # u(t) = cosh T u0 - Bu w0
    Bw = sp.sqrt(lr_w / lr_u) * sinhT  # w(t) = cosh T w0 - Bw u0
    return [
        (F, F_),
        (resid, resid_),
        (K, K_),
        (X2, X2_),
        (X2m1, X2m1_),
        (sinhT, X2m1 / (2 * sp.sqrt(X2))),
        (coshT, (X2 + 1) / (2 * sp.sqrt(X2))),
        (v, F / kappa),
        (Kk, K / kappa**2),
        # eta_w |u|^2 = (K/kappa^2 + C)/2, eta_u |w|^2 = (K/kappa^2 - C)/2; the smaller one through
        # their product s^2 (v^2 + D^2) so that it keeps its digits.
        (eu, sp.Piecewise(((Kk + C) / 2, C >= 0), (2 * s**2 * (v**2 + d2) / (Kk - C), True))),
        (ew, sp.Piecewise((2 * s**2 * (v**2 + d2) / (Kk + C), C >= 0), ((Kk - C) / 2, True))),
        (norm_u2, eu / lr_w),
        (norm_w2, ew / lr_u),
        (ntk_plain, kappa**2 * (norm_u2 + norm_w2)),
        (cos_uw, v / sp.sqrt(v**2 + d2)),
        (
            rot_u,
            sp.Piecewise(
                (sp.nan, sp.Eq(uu, 0)),
                (0, DEGENERATE),  # u stays a positive multiple of u0
                (sp.atan2(sp.Abs(Bu) * sp.sqrt(d2), coshT * uu - Bu * uw), True),
            ),
        ),
        (
            rot_w,
            sp.Piecewise(
                (sp.nan, sp.Eq(ww, 0)),
                (0, DEGENERATE),
                (sp.atan2(sp.Abs(Bw) * sp.sqrt(d2), coshT * ww - Bw * uw), True),
            ),
        ),
        (loss_excess, x_var * resid**2 / 2),
    ]


OBSERVED = (F, K, ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w, loss_excess)

_collapse = DEGENERATE & sp.Ne(m, 0)
_collapse_zero_target = DEGENERATE
# In the degenerate branch E = exp(-a g |m| t) (lam = a sqrt(0 + g^2 m^2)) and e^{2T} = F0/F (spec D.3).
AT: list[tuple[sp.Symbol, sp.Expr]] = [
    (E, sp.exp(-lam * t)),
    (omE, -expm1(-lam * t)),
    (n_plus, solution.PRODUCT_FORM[n_plus]),
    (n_minus, solution.PRODUCT_FORM[n_minus]),
    (hE, solution.h),
] + _observe(
    sp.Piecewise(
        (m * F0 * E / (m - F0 * omE), _collapse),
        (F0 / (1 + x_var * g * sp.Abs(F0) * t), _collapse_zero_target),
        (solution.slope_same_sign.subs(solution.h, hE), GENERAL_SAME_SIGN),
        (cross * hE * sp.exp(log_estar) * expm1(-lam * t - log_estar), True),
    ),
    sp.Piecewise(
        (-m * (m - F0) / (m - F0 * omE), _collapse),
        (F0 / (1 + x_var * g * sp.Abs(F0) * t), _collapse_zero_target),
        (solution.residual, True),
    ),
    sp.Piecewise(
        (g * sp.Abs(F), DEGENERATE),
        (solution.ntk, True),
    ),
    sp.Piecewise(
        ((m - F0 * omE) / (m * E), _collapse),
        (1 + x_var * g * sp.Abs(F0) * t, _collapse_zero_target),
        (solution.exp2T, True),
    ),
    sp.Piecewise(
        (omE * (m - F0) / (m * E), _collapse),
        (x_var * g * sp.Abs(F0) * t, _collapse_zero_target),
        (solution.exp2T_minus_1, True),
    ),
)

# t = infinity: E = 0, n+ = n- = S, so F = m, K = K_inf, e^{2T} = P/M. The degenerate branch
# collapses to the zero network (F = 0, K = 0), keeping cos = sign(F0) and no rotation.
_final_degenerate = {
    F: 0,
    K: 0,
    ntk_plain: 0,
    norm_u2: 0,
    norm_w2: 0,
    cos_uw: sp.sign(F0),
    loss_excess: x_var * m**2 / 2,
}
FINAL: list[tuple[sp.Symbol, sp.Expr]] = [
    (
        target,
        sp.Piecewise((_final_degenerate[target], DEGENERATE), (expr, True)) if target in _final_degenerate else expr,
    )
    for target, expr in _observe(m, sp.Integer(0), Kinf, P / M, 2 * solution.tau / M)
]

ORDER: list[tuple[sp.Symbol, sp.Expr]] = [
    (gamma, g * sp.Abs(m) / K0),  # target strength Gamma (spec E.1)
    (gamma0, g * sp.Abs(F0) / K0),  # initial-output strength Gamma0
    (zeta, sp.Piecewise((1, sp.Eq(d2, 0)), (sp.Abs(C) / hypot(C, 2 * s * sp.sqrt(d2)), True))),
    (ntk_ratio, Kinf / K0),
    (ntk_rel_change, sp.Piecewise((-1, DEGENERATE), (solution.relative_ntk_change().subs(Kinf, Kinf_fwd), True))),
    (imbalance, lr_w * uu / (lr_u * ww)),  # r; inf when w0 = 0
    (dominant_w, sp.Piecewise((0, C >= 0), (1, True))),  # 0: u carries the NTK, 1: w
]
ORDER_OUTPUTS = (gamma, gamma0, zeta, ntk_ratio, ntk_rel_change, imbalance, dominant_w)

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
        "Order parameters of spec E.1: gamma, gamma0, zeta, K_inf/K0, K_inf/K0 - 1, r, dominant (0 u, 1 w).",
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
    f_abs, m_abs = sp.symbols("f_abs m_abs", positive=True)
    e_star = (m / h_end) / (m / h_end - F0 / h_start)  # the root of F in E
    ratio = 1 + g * (F0 - m) * (1 + g * (F0 + m) / (K0_ + Kinf_)) / (g * m + Kinf_)
    return {
        "psi0 (same signs): 1 + log1p argument = (g F0 + K0)/(g m + K_inf)": sp.radsimp(
            ratio * (g * m + Kinf_) - (g * F0 + K0_)
        ),
        "alpha beta = (Kc/(2 K_inf))^2": ((Kinf_ + g * m) / (2 * Kinf_)) * ((Kinf_ - g * m) / (2 * Kinf_))
        - (Kc / (2 * Kinf_)) ** 2,
        "tau = (P - M)/2 for psi0 >= 0": -expm1(-psi0).rewrite(sp.exp) / 2 - (1 - sp.exp(-psi0)) / 2,
        "crossing form (F0/h1 - m/h0) h (E - E*) equals the same-sign form": (F0 / h_start - m / h_end) * (E - e_star)
        - (m * (1 - E) / h_end + F0 * E / h_start),
        "E* = exp(log_estar) when m F0 < 0 (here m > 0 > F0)": e_star.subs({F0: -f_abs, m: m_abs})
        - 1 / (1 + f_abs * h_end / (m_abs * h_start)),
    }
