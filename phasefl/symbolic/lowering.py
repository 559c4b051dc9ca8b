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

The expressions are those of ``solution.py`` (product form), plus the numerically careful
choices named in the spec: stable roots for alpha/beta (D.3), psi0 as one log1p of a
cancellation-free ratio or product, C as an error-free difference of
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


class ExpDecay(sp.Function):
    """The pair (e^-z, 1 - e^-z) for z >= 0 at the cost of one transcendental: the kernels take
    e = exp(-z) and 1 - e when e <= 1/2, else om = -expm1(-z) and 1 - om, so both keep their
    relative accuracy. Assigned to the pair of symbols (E, omE)."""

    nargs = 1


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, real=True, **assumptions)


# Lowering-only intermediates (not spec quantities).
kind = _sym("kind")
Kinf_fwd = _sym("Kinf_fwd", nonnegative=True)  # sqrt(Kc^2 + g^2 m^2): the rate of E in every branch
q = _sym("q", positive=True)
one_minus_q = _sym("one_minus_q", nonnegative=True)  # 1 - q, with its relative accuracy
psi0_arg, psi0_sign = _sym("psi0_arg", nonnegative=True), _sym("psi0_sign")  # psi0 = psi0_sign log1p(psi0_arg)
log_estar = _sym("log_estar")  # ln E*, E* = exp(-lambda t*) at the zero crossing of F
cross = _sym("cross")  # F0/h(1) - m/h(0), the slope coefficient of the crossing branch
hE = _sym("h", positive=True)
# Per-cell constants that the time loop would otherwise recompute (a square root, a division or
# an exp per time), and per-time reciprocals shared by several observables.
sqrt_alpha, sqrt_beta, P_alpha, P_beta, M_alpha, M_beta = (
    _sym(n, nonnegative=True) for n in ("sqrt_alpha", "sqrt_beta", "P_alpha", "P_beta", "M_alpha", "M_beta")
)
F0_h, m_h = _sym("F0_h"), _sym("m_h")  # F0/h(1), m/h(0): the slope coefficients of E and 1 - E
resid_coef, two_tau_S = _sym("resid_coef"), _sym("two_tau_S")  # 2 K_inf tau S/g, 2 tau S
e_star = _sym("e_star", nonnegative=True)  # exp(log_estar)
root_u, root_w, root_d2 = (_sym(n, nonnegative=True) for n in ("root_u", "root_w", "root_d2"))
inv_nn, inv_Mn, half_root = (_sym(n, positive=True) for n in ("inv_nn", "inv_Mn", "half_root"))
inv_kappa, inv_kappa2, inv_lr_u, inv_lr_w = (
    _sym(n, positive=True) for n in ("inv_kappa", "inv_kappa2", "inv_lr_u", "inv_lr_w")
)  # multiply by these instead of dividing by kappa, kappa^2, eta_u, eta_w at every time
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


#: Above this psi0_arg may have overflowed (Kc or g|m| + K_inf below ~1e-300 of g|F0|).
_ARG_MAX = sp.Float(1e300)
#: |psi0| from the logs of the terms of 1 + psi0_arg (for psi0_arg > _ARG_MAX only).
_PSI0_ABS_SPLIT = sp.Piecewise(
    (sp.Abs(sp.log(g * sp.Abs(F0) + K0) - sp.log(g * sp.Abs(m) + Kinf_fwd)), GENERAL_SAME_SIGN),
    (sp.log(g * sp.Abs(F0) + K0) + sp.log(g * sp.Abs(m) + Kinf_fwd) - 2 * sp.log(Kc), True),
)


def _exp_asinh_m1(X, K_of_X):
    """e^{asinh(g|X|/Kc)} - 1 = (g|X| + K(X) - Kc)/Kc >= 0, without the cancellation (K(X)^2 = Kc^2 + g^2 X^2)."""
    return g * sp.Abs(X) * (1 + g * sp.Abs(X) / (K_of_X + Kc)) / Kc


_Y_F0, _Y_M = _exp_asinh_m1(F0, K0), _exp_asinh_m1(m, Kinf_fwd)

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
    # psi0 = asinh(g F0/Kc) - asinh(g m/Kc) = psi0_sign log1p(psi0_arg), psi0_arg >= 0: one log1p in every
    # branch (a data-dependent choice of function is a branch the CPU mispredicts when psi0 = O(1)).
    # Same signs: psi0 = sign(F0 + m) ln((g|F0| + K0)/(g|m| + K_inf)); the ratio, oriented to be >= 1 (K is
    # increasing in |X|, so the larger of |F0|, |m| has the larger of K0, K_inf), minus 1 as a product.
    # Opposite signs: the two asinh terms add, 1 + psi0_arg = e^{asinh(g|F0|/Kc)} e^{asinh(g|m|/Kc)}.
    (
        psi0_arg,
        sp.Piecewise(
            (0, DEGENERATE),
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
    (
        psi0,
        sp.Piecewise(
            (psi0_sign * log1p(psi0_arg), psi0_arg <= _ARG_MAX),
            (psi0_sign * _PSI0_ABS_SPLIT, True),
        ),
    ),
    # (P, M) proportional to (e^{psi0}, 1), scaled so that the larger is 1: the smaller is
    # q = e^{-|psi0|} = 1/(1 + psi0_arg), and 1 - q = psi0_arg q, with no exp or log at all
    # (the kernels need psi0 only through these, so LLVM drops its log1p).
    (q, sp.Piecewise((1 / (1 + psi0_arg), psi0_arg <= _ARG_MAX), (sp.exp(-_PSI0_ABS_SPLIT), True))),
    (one_minus_q, sp.Piecewise((psi0_arg * q, psi0_arg <= _ARG_MAX), (1 - q, True))),
    (P, sp.Piecewise((1, psi0_sign >= 0), (q, True))),
    (M, sp.Piecewise((q, psi0_sign >= 0), (1, True))),
    (solution.tau, psi0_sign * one_minus_q / 2),
    (S, alpha * P + beta * M),
    (h_end, solution.PRODUCT_FORM[h_end]),
    (h_start, solution.PRODUCT_FORM[h_start]),
    (log_estar, sp.Piecewise((-log1p(sp.Abs(F0) * h_end / (sp.Abs(m) * h_start)), sp.Eq(kind, 1)), (0, True))),
    (cross, sp.Piecewise((F0 / h_start - m / h_end, sp.Eq(kind, 1)), (0, True))),
]

#: The factors of the time program that do not depend on t, computed once per cell (the end of CELL).
HOISTED: list[tuple[sp.Symbol, sp.Expr]] = [
    (e_star, sp.exp(log_estar)),
    (sqrt_alpha, sp.sqrt(alpha)),
    (sqrt_beta, sp.sqrt(beta)),
    (P_alpha, P * alpha),
    (P_beta, P * beta),
    (M_alpha, M * alpha),
    (M_beta, M * beta),
    (F0_h, F0 / h_start),
    (m_h, m / h_end),
    (resid_coef, 2 * Kinf * solution.tau * S / g),
    (two_tau_S, 2 * solution.tau * S),
    (root_u, sp.sqrt(lr_u) / sp.sqrt(lr_w)),  # sqrt(eta_u/eta_w)
    (root_w, sp.sqrt(lr_w) / sp.sqrt(lr_u)),
    (root_d2, sp.sqrt(d2)),
    (inv_kappa, 1 / kappa),
    (inv_kappa2, 1 / kappa**2),
    (inv_lr_u, 1 / lr_u),
    (inv_lr_w, 1 / lr_w),
]
CELL += HOISTED


def unhoist(expr: sp.Expr) -> sp.Expr:
    """Write the hoisted cell constants (sqrt_alpha, F0_h, ...) as their definitions."""
    return expr.subs(dict(HOISTED))


#: Names of the cell constants, in the order of the tuple returned by the CELL kernel.
CONSTANTS = tuple(INPUTS) + tuple(sp.flatten(target for target, _ in CELL))


def _observe(F_, resid_, K_, X2_, X2m1_) -> list[tuple[sp.Symbol, sp.Expr]]:
    """Observables of spec D.4/D.6 from the slope, residual, NTK and e^{2T} (and e^{2T} - 1)."""
    Bu = root_u * sinhT  # u(t) = cosh T u0 - Bu w0
    Bw = root_w * sinhT  # w(t) = cosh T w0 - Bw u0
    return [
        (F, F_),
        (resid, resid_),
        (K, K_),
        (X2, X2_),
        (X2m1, X2m1_),
        (half_root, 1 / (2 * sp.sqrt(X2))),
        (sinhT, X2m1 * half_root),
        (coshT, (X2 + 1) * half_root),
        (v, F * inv_kappa),
        (Kk, K * inv_kappa2),
        # eta_w |u|^2 = (K/kappa^2 + C)/2, eta_u |w|^2 = (K/kappa^2 - C)/2; the smaller one through
        # their product s^2 (v^2 + D^2) so that it keeps its digits.
        (eu, sp.Piecewise(((Kk + C) / 2, C >= 0), (2 * s**2 * (v**2 + d2) / (Kk - C), True))),
        (ew, sp.Piecewise((2 * s**2 * (v**2 + d2) / (Kk + C), C >= 0), ((Kk - C) / 2, True))),
        (norm_u2, eu * inv_lr_w),
        (norm_w2, ew * inv_lr_u),
        (ntk_plain, kappa**2 * (norm_u2 + norm_w2)),
        (cos_uw, v / sp.sqrt(v**2 + d2)),
        (
            rot_u,
            sp.Piecewise(
                (sp.nan, sp.Eq(uu, 0)),
                (0, DEGENERATE),  # u stays a positive multiple of u0
                (sp.atan2(sp.Abs(Bu) * root_d2, coshT * uu - Bu * uw), True),
            ),
        ),
        (
            rot_w,
            sp.Piecewise(
                (sp.nan, sp.Eq(ww, 0)),
                (0, DEGENERATE),
                (sp.atan2(sp.Abs(Bw) * root_d2, coshT * ww - Bw * uw), True),
            ),
        ),
        (loss_excess, x_var * resid**2 / 2),
    ]


OBSERVED = (F, K, ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w, loss_excess)

_collapse = DEGENERATE & sp.Ne(m, 0)
_collapse_zero_target = DEGENERATE
# In the degenerate branch E = exp(-a g |m| t) (lam = a sqrt(0 + g^2 m^2)) and e^{2T} = F0/F (spec D.3).
#: The product form with the per-cell factors hoisted into CELL and one reciprocal per
#: denominator; ``claims()`` checks that it equals ``solution``'s formulas.
AT_PRODUCT: list[tuple[sp.Symbol, sp.Expr]] = [
    (n_plus, E * M_alpha + M_beta + omE * P_alpha),
    (n_minus, P_alpha + E * P_beta + omE * M_beta),
    (inv_nn, 1 / (n_plus * n_minus)),
    (hE, (sqrt_alpha * n_minus + sqrt_beta * n_plus) * inv_nn),
    (inv_Mn, 1 / (M * n_minus)),
]
_slope_same_sign = hE * (E * F0_h + omE * m_h)
_residual = E * resid_coef * inv_nn
_ntk = Kinf * (alpha * n_minus**2 + beta * n_plus**2) * inv_nn
_exp2T = P * n_plus * inv_Mn
_exp2T_minus_1 = two_tau_S * omE * inv_Mn

AT: list[tuple[sp.Symbol | tuple[sp.Symbol, ...], sp.Expr]] = (
    [((E, omE), ExpDecay(lam * t))]
    + AT_PRODUCT
    + _observe(
        sp.Piecewise(
            (m * F0 * E / (m - F0 * omE), _collapse),
            (F0 / (1 + x_var * g * sp.Abs(F0) * t), _collapse_zero_target),
            (_slope_same_sign, GENERAL_SAME_SIGN),
            (cross * hE * e_star * expm1(-lam * t - log_estar), True),
        ),
        sp.Piecewise(
            (-m * (m - F0) / (m - F0 * omE), _collapse),
            (F0 / (1 + x_var * g * sp.Abs(F0) * t), _collapse_zero_target),
            (_residual, True),
        ),
        sp.Piecewise(
            (g * sp.Abs(F), DEGENERATE),
            (_ntk, True),
        ),
        sp.Piecewise(
            ((m - F0 * omE) / (m * E), _collapse),
            (1 + x_var * g * sp.Abs(F0) * t, _collapse_zero_target),
            (_exp2T, True),
        ),
        sp.Piecewise(
            (omE * (m - F0) / (m * E), _collapse),
            (x_var * g * sp.Abs(F0) * t, _collapse_zero_target),
            (_exp2T_minus_1, True),
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

#: The un-weighted NTK at t = infinity alone (what a sweep needs of FINAL; the rotations, which
#: need psi0 and two atan2, are about 80 % of FINAL's cost).
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
    e_star = (m / h_end) / (m / h_end - F0 / h_start)  # the root of F in E
    # same signs with |F0| >= |m| (the other orientation swaps F0 and m): F0 = m + d, and K0 >= K_inf
    m_pos, d_pos = sp.symbols("m_pos d_pos", positive=True)
    same = {F0: m_pos + d_pos, m: m_pos}
    arg = dict(CELL)[psi0_arg].args[1].expr.subs(sp.Min(K0, Kinf_fwd), Kinf_fwd)
    arg = arg.subs(same).subs({K0: K0_.subs(same), Kinf_fwd: Kinf_.subs(same)})
    return {
        "psi0 (same signs, |F0| >= |m|): 1 + psi0_arg = (g F0 + K0)/(g m + K_inf)": sp.radsimp(
            ((1 + arg) * (g * m + Kinf_) - (g * F0 + K0_)).subs(same)
        ),
        "psi0 (opposite signs): e^{asinh(g|X|/Kc)} - 1 as a product, X = F0 or m": sp.radsimp(
            (1 + _exp_asinh_m1(f_abs, K0_.subs(F0, f_abs))) - sp.exp(sp.asinh(g * f_abs / Kc).rewrite(sp.log))
        ).subs(Kc, k_pos),  # Kc > 0 whenever this branch runs (kind 1)
        "alpha beta = (Kc/(2 K_inf))^2": ((Kinf_ + g * m) / (2 * Kinf_)) * ((Kinf_ - g * m) / (2 * Kinf_))
        - (Kc / (2 * Kinf_)) ** 2,
        "q = e^{-|psi0|} = 1/(1 + psi0_arg), P/M = e^{psi0}, tau = (P - M)/2, either sign of psi0": _tau_claim(),
        "crossing form (F0/h1 - m/h0) h (E - E*) equals the same-sign form": (F0 / h_start - m / h_end) * (E - e_star)
        - (m * (1 - E) / h_end + F0 * E / h_start),
        "E* = exp(log_estar) when m F0 < 0 (here m > 0 > F0)": e_star.subs({F0: -f_abs, m: m_abs})
        - 1 / (1 + f_abs * h_end / (m_abs * h_start)),
        **_hoisting_claims(),
    }


def _tau_claim() -> sp.Expr:
    """q = e^{-|psi0|}, P/M = e^{psi0} and tau = (P - M)/2, for psi0 = +-log1p(p), p > 0."""
    cell = dict(CELL)
    p = sp.Symbol("p", positive=True)
    out = sp.Integer(0)
    for sign in (1, -1):
        psi = sign * sp.log(1 + p)
        at = {psi0_sign: sign, psi0_arg: p}
        q_ = cell[q].args[0].expr.subs(at)
        at[q] = q_
        at[one_minus_q] = cell[one_minus_q].args[0].expr.subs(at)
        P_, M_ = cell[P].subs(at), cell[M].subs(at)
        out += sp.Abs(q_ - sp.exp(-sp.Abs(psi))) + sp.Abs(P_ / M_ - sp.exp(psi))
        out += sp.Abs(cell[solution.tau].subs(at) - (P_ - M_) / 2)
    return out


def _hoisting_claims() -> dict[str, sp.Expr]:
    """The time program (hoisted factors, shared reciprocals) equals solution's product form."""
    local = dict(AT_PRODUCT)
    at = dict(AT)
    half = {half_root: at[half_root]}  # the program's own definition, so the sinh T claim can fail

    def expand(expr):  # substitute program definitions until only the solution's symbols are left
        for _ in range(4):
            expr = unhoist(expr.subs(local).subs(half).subs(solution.PRODUCT_FORM))
        return expr

    return {
        f"time program: {name} equals the product form": expand(ours) - expand(theirs)
        for name, ours, theirs in (
            ("n+", n_plus, solution.PRODUCT_FORM[n_plus]),
            ("n-", n_minus, solution.PRODUCT_FORM[n_minus]),
            ("h", hE, solution.h),
            ("F (same signs)", _slope_same_sign, solution.slope_same_sign),
            ("F - m", _residual, solution.residual),
            ("K", _ntk, solution.ntk),
            ("e^{2T}", _exp2T, solution.exp2T),
            ("e^{2T} - 1", _exp2T_minus_1, solution.exp2T_minus_1),
            ("sinh T", at[sinhT], X2m1 / (2 * sp.sqrt(X2))),
            ("cosh T", at[coshT], (X2 + 1) / (2 * sp.sqrt(X2))),
        )
    }
