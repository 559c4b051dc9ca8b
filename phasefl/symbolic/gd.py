"""Gradient descent with a finite step h: the exact, width-independent map (issue 16).

One step of full-batch gradient descent is u' = u - h eta_u kappa (aF - b) w, w' = w - h eta_w kappa
(aF - b) u: every neuron pair is multiplied by the same 2x2 matrix. In the rescaled weights
u~ = u/sqrt(eta_u), w~ = w/sqrt(eta_w) it is [[1, -alpha], [-alpha, 1]] with

    alpha = h s kappa (aF - b) = (h a g / 2)(F - m),

so p = u~ + w~ and q = u~ - w~ are multiplied by 1 - alpha and 1 + alpha. Consequences (``claims``):

- the reduced map F' = (1 + alpha^2) F - 2 alpha K/g, K' = (1 + alpha^2) K - 2 alpha g F closes on (F, K);
  F - m =: R follows R' = R (1 - h a (K - alpha kappa s F)), a product (no cancellation near m);
- C' = (1 - alpha^2) C and D^2' = (1 - alpha^2)^2 D^2 (the flow's conserved quantities are not conserved),
  so K^2 - g^2 F^2 = Kc^2 is multiplied by (1 - alpha^2)^2;
- after n steps u_n = sigma u0 + delta r w0, w_n = delta u0/r + sigma w0 (r = sqrt(eta_u/eta_w)), where
  sigma + delta = A = prod(1 - alpha) and sigma - delta = B = prod(1 + alpha): every observable is a
  quadratic form in (sigma, delta) or (A, B) with the Gram numbers as coefficients;
- fixed points: alpha = 0, i.e. F = m, with any K >= g|m|; linearized, R' = (1 - h a K) R and K' = K - h a g^2 m R,
  eigenvalues 1 - h a K and 1: the fixed point is stable iff 0 < h a K < 2 (and none is when h a g|m| > 2);
- period-2 orbits: the product of the two steps' factors must be +-1 on p and on q;
- as h -> 0 the map is the gradient flow to first order.

The end of the module holds the programs that ``phasefl.codegen`` lowers to the numba step and
observation functions (``KERNELS``), in the style of ``phasefl.symbolic.lowering``.
"""

from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import hypot

from . import lowering
from .lowering import (
    AddRootProduct,
    DiffOfProducts,
    cos_uw,
    du_half,
    dw_half,
    inv_lr_u,
    inv_lr_w,
    loss_excess,
    norm_u2,
    norm_w2,
    ntk_plain,
    root_d2,
    root_u,
    root_w,
    rot_u,
    rot_w,
    su_half,
    sw_half,
)
from .model import drive
from .symbols import C, F, F0, K, d2, g, kappa, lr_u, lr_w, m, s, uu, uw, ww, x_var, xy_cov

h = sp.Symbol("h", positive=True)  # the step
alpha_n = sp.Symbol("alpha_n", real=True)  # h s kappa (aF - b) at step n
R = sp.Symbol("R", real=True)  # the residual F - m
sigma, delta = sp.symbols("sigma delta", real=True)  # u_n = sigma u0 + delta r w0
A, B = sp.symbols("A B", real=True)  # prod(1 - alpha), prod(1 + alpha): sigma + delta, sigma - delta
r = sp.sqrt(lr_u / lr_w)


def step(u: sp.Matrix, w: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """One gradient-descent step of the weight vectors, driven by their own slope F = kappa u.w."""
    chi = drive.subs(F, kappa * u.dot(w))
    return u - h * lr_u * chi * w, w - h * lr_w * chi * u


#: alpha as a function of the slope.
alpha_of_slope = h * s * kappa * (x_var * F - xy_cov)

#: The map of (F, K, C, D^2) at a given alpha (spec symbols; alpha = alpha_of_slope).
REDUCED = {
    F: (1 + alpha_n**2) * F - 2 * alpha_n * K / g,
    K: (1 + alpha_n**2) * K - 2 * alpha_n * g * F,
    C: (1 - alpha_n**2) * C,
    d2: (1 - alpha_n**2) ** 2 * d2,
}
#: The residual's map, with alpha = h a kappa s R.
RESIDUAL_FACTOR = 1 - h * x_var * (K - alpha_n * kappa * s * F)

#: One step of the multipliers (sigma, delta) and (A, B).
MULTIPLIERS = {
    sigma: sigma - alpha_n * delta,
    delta: delta - alpha_n * sigma,
    A: A * (1 - alpha_n),
    B: B * (1 + alpha_n),
}

#: The Gram numbers after the multipliers (sigma, delta) (u_n = sigma u0 + delta r w0, w_n = delta u0/r + sigma w0).
GRAM_AFTER = {
    "uu": sigma**2 * uu + 2 * sigma * delta * r * uw + delta**2 * r**2 * ww,
    "ww": delta**2 * uu / r**2 + 2 * sigma * delta * uw / r + sigma**2 * ww,
    "uw": sigma * delta * (uu / r + r * ww) + (sigma**2 + delta**2) * uw,
}

#: |u~0 + w~0|^2 and |u~0 - w~0|^2 from the Gram numbers, and their product (no cancellation):
#: P0 Q0 = X^2 - Y^2 = (C/s^2)^2 + 4 D^2/s^2 with X = uu/eta_u + ww/eta_w, Y = 2 uw/s.
X_SUM = uu / lr_u + ww / lr_w
Y_CROSS = 2 * uw / s
PQ_PRODUCT = (C / s**2) ** 2 + 4 * d2 / s**2

#: The linearization of (R, K) -> (R', K') at the fixed point R = 0 (alpha = h a kappa s R).
STABILITY_FACTOR = 1 - h * x_var * K

#: alpha over two steps of a period-2 orbit where P and Q are both non-zero: the products of the factors on p and
#: on q are +-1. (+1, +1) is only the fixed point; the others are listed as (alpha_1, alpha_2).
PERIOD_TWO = {
    "p and q both flip (-1, -1)": (sp.sqrt(2), -sp.sqrt(2)),
    "q flips (+1, -1)": ((sp.sqrt(5) - 1) / 2, -(sp.sqrt(5) + 1) / 2),
    "p flips (-1, +1)": ((sp.sqrt(5) + 1) / 2, -(sp.sqrt(5) - 1) / 2),
}


def _explicit(expr: sp.Expr) -> sp.Expr:
    """g and s written through the learning rates."""
    return expr.subs(g, 2 * kappa * s).subs(s, sp.sqrt(lr_u * lr_w))


def _vectors(d: int) -> tuple[sp.Matrix, sp.Matrix]:
    return sp.Matrix(sp.symbols(f"u1:{d + 1}", real=True)), sp.Matrix(sp.symbols(f"w1:{d + 1}", real=True))


def _map_claims() -> dict[str, sp.Expr]:
    """The step on the vectors gives the reduced map, the residual map and the multiplier form."""
    u, w = _vectors(2)
    u1, w1 = step(u, w)
    alpha_w = _explicit(alpha_of_slope.subs(F, kappa * u.dot(w)))
    p, q = u / sp.sqrt(lr_u) + w / sp.sqrt(lr_w), u / sp.sqrt(lr_u) - w / sp.sqrt(lr_w)
    p1, q1 = u1 / sp.sqrt(lr_u) + w1 / sp.sqrt(lr_w), u1 / sp.sqrt(lr_u) - w1 / sp.sqrt(lr_w)
    on_w = {F: kappa * u.dot(w), K: kappa**2 * (lr_u * w.dot(w) + lr_w * u.dot(u))}
    on_w[C] = lr_w * u.dot(u) - lr_u * w.dot(w)
    on_w[d2] = u.dot(u) * w.dot(w) - u.dot(w) ** 2
    after = {F: kappa * u1.dot(w1), K: kappa**2 * (lr_u * w1.dot(w1) + lr_w * u1.dot(u1))}
    after[C] = lr_w * u1.dot(u1) - lr_u * w1.dot(w1)
    after[d2] = u1.dot(u1) * w1.dot(w1) - u1.dot(w1) ** 2
    out = {
        "gd: p' = (1 - alpha) p, q' = (1 + alpha) q": sum(
            ((p1 - (1 - alpha_w) * p).T * (p1 - (1 - alpha_w) * p))[0]
            + ((q1 - (1 + alpha_w) * q).T * (q1 - (1 + alpha_w) * q))[0]
            for _ in (0,)
        ),
        "gd: alpha = (h a g/2)(F - m)": _explicit(alpha_of_slope - h * x_var * g / 2 * (F - xy_cov / x_var)),
    }
    for sym, name in ((F, "F"), (K, "K"), (C, "C"), (d2, "D^2")):
        mapped = REDUCED[sym].subs(on_w, simultaneous=True).subs(alpha_n, alpha_w).subs(g, 2 * kappa * s)
        out[f"gd: reduced map of {name}"] = (after[sym] - mapped).subs(s, sp.sqrt(lr_u * lr_w))
    resid = (F - m).subs(on_w).subs(m, xy_cov / x_var)
    factor = RESIDUAL_FACTOR.subs(on_w, simultaneous=True).subs(alpha_n, alpha_w).subs(s, sp.sqrt(lr_u * lr_w))
    out["gd: residual map R' = R (1 - h a (K - alpha kappa s F))"] = after[F] - xy_cov / x_var - resid * factor
    # the multiplier form: one step of (sigma, delta) is one step of the weights
    u0, w0 = _vectors(2)
    un, wn = sigma * u0 + delta * r * w0, delta * u0 / r + sigma * w0
    alpha_n_w = _explicit(alpha_of_slope.subs(F, kappa * un.dot(wn)))
    stepped = step(un, wn)
    nxt = {k: v.subs(alpha_n, alpha_n_w) for k, v in MULTIPLIERS.items()}
    out["gd: one step of (sigma, delta) is one step of the weights"] = sum(
        (stepped[0] - (nxt[sigma] * u0 + nxt[delta] * r * w0)).applyfunc(lambda e: e**2)
    ) + sum((stepped[1] - (nxt[delta] * u0 / r + nxt[sigma] * w0)).applyfunc(lambda e: e**2))
    gram0 = {uu: u0.dot(u0), ww: w0.dot(w0), uw: u0.dot(w0)}
    out["gd: Gram numbers after n steps are quadratic forms in (sigma, delta)"] = (
        (GRAM_AFTER["uu"].subs(gram0) - un.dot(un)) ** 2
        + (GRAM_AFTER["ww"].subs(gram0) - wn.dot(wn)) ** 2
        + (GRAM_AFTER["uw"].subs(gram0) - un.dot(wn)) ** 2
    )
    out["gd: A = sigma + delta and B = sigma - delta follow the same step"] = (
        nxt[sigma] + nxt[delta] - (sigma + delta) * (1 - alpha_n_w)
    ) ** 2 + (nxt[sigma] - nxt[delta] - (sigma - delta) * (1 + alpha_n_w)) ** 2
    return out


def _fixed_point_claims() -> dict[str, sp.Expr]:
    """Fixed points, their stability, period-2 orbits and the flow limit."""
    out: dict[str, sp.Expr] = {}
    alpha_r = h * x_var * kappa * s * R
    r_next = R * RESIDUAL_FACTOR.subs(alpha_n, alpha_r)
    k_next = REDUCED[K].subs(alpha_n, alpha_r).subs({F: m + R, g: 2 * kappa * s})
    jac = sp.Matrix([r_next, k_next]).jacobian([R, K]).subs(R, 0)
    lam_ = sp.Symbol("lambda")
    out["gd: linearization at F = m has eigenvalues 1 - h a K and 1"] = (jac - lam_ * sp.eye(2)).det() - (lam_ - 1) * (
        lam_ - STABILITY_FACTOR
    )
    out["gd: at F = m a step in R moves K by -h a g^2 m R"] = jac[1, 0] + h * x_var * (2 * kappa * s) ** 2 * m
    for name, (a1, a2) in PERIOD_TWO.items():
        p_prod, q_prod = (1 - a1) * (1 - a2), (1 + a1) * (1 + a2)
        out[f"gd: period 2, {name}: the factors multiply to +-1"] = (p_prod**2 - 1) ** 2 + (q_prod**2 - 1) ** 2
    # gradient-flow limit: (F' - F)/h -> -a K (F - m), (K' - K)/h -> -a g^2 F (F - m), both to first order in h
    at_f = {alpha_n: alpha_of_slope.subs(g, 2 * kappa * s)}
    for sym, rate in ((F, -x_var * K * (F - m)), (K, -x_var * g**2 * F * (F - m))):
        diff_quot = ((REDUCED[sym] - sym).subs(at_f) / h).subs(g, 2 * kappa * s)
        out[f"gd: flow limit of {sym}"] = (
            sp.expand(diff_quot).subs(h, 0) - rate.subs({g: 2 * kappa * s, m: xy_cov / x_var})
        ).expand()
    return out


def claims() -> dict[str, sp.Expr]:
    """The gradient-descent identities, each an expression that must simplify to 0."""
    return {**_map_claims(), **_fixed_point_claims(), **_program_claims()}


# ---- the programs that phasefl.codegen lowers ----


class Ldexp(sp.Function):
    """Ldexp(x, k) = x 2^k for an integer k: the kernels call math.ldexp (exact, no overflow on the way)."""

    nargs = 2

    def doit(self, **hints):
        x, k = (arg.doit(**hints) for arg in self.args)
        return x * 2**k


def _sym(name: str, **assumptions) -> sp.Symbol:
    return sp.Symbol(name, real=True, **assumptions)


e2 = sp.Symbol("e2", integer=True)  # the multipliers are A 2^e, B 2^e, delta 2^e; e2 = 2e
dl = _sym("dl")  # delta, scaled like A and B
x_sum, y_cross, pq_product = _sym("x_sum"), _sym("y_cross"), _sym("pq_product")
P0, Q0, c_uw, R0, ha, hak_s = (_sym(n) for n in ("P0", "Q0", "c_uw", "R0", "ha", "hak_s"))
sig, p_term, q_term, v_ab, v_sd, v_s, kk_s, alpha, factor = (
    _sym(n) for n in ("sig", "p_term", "q_term", "v_ab", "v_sd", "v_s", "kk_s", "alpha", "factor")
)
ab, cn_s, rd_s, hv_s, sv_s, small_s, eu_s, ew_s = (
    _sym(n) for n in ("ab", "cn_s", "rd_s", "hv_s", "sv_s", "small_s", "eu_s", "ew_s")
)
A_next, B_next, dl_next, R_next = (_sym(n) for n in ("A_next", "B_next", "dl_next", "R_next"))

INPUTS = (*lowering.INPUTS, h)

CELL: list[tuple[sp.Symbol, sp.Expr]] = [
    (m, xy_cov / x_var),
    (s, sp.sqrt(lr_u * lr_w)),
    (C, DiffOfProducts(lr_w, uu, lr_u, ww)),
    (root_u, sp.sqrt(lr_u) / sp.sqrt(lr_w)),
    (root_w, sp.sqrt(lr_w) / sp.sqrt(lr_u)),
    (root_d2, sp.sqrt(d2)),
    (c_uw, uu * root_w + root_u * ww),  # uu/r + r ww: the coefficient of sigma delta in u.w
    (x_sum, uu / lr_u + ww / lr_w),
    (y_cross, 2 * uw / s),
    (pq_product, (C / s**2) ** 2 + 4 * d2 / s**2),
    # P0 = X + Y and Q0 = X - Y; the one that cancels is the product over the other
    (P0, sp.Piecewise((x_sum + y_cross, y_cross >= 0), (pq_product / (x_sum - y_cross), True))),
    (Q0, sp.Piecewise((x_sum - y_cross, y_cross <= 0), (pq_product / (x_sum + y_cross), True))),
    (F0, kappa * uw),
    (R0, F0 - m),
    (ha, h * x_var),
    (hak_s, h * x_var * kappa * s),  # alpha = hak_s R
    (du_half, AddRootProduct(uu, root_u, lr_u, lr_w, -uw) / 2),
    (su_half, AddRootProduct(uu, root_u, lr_u, lr_w, uw) / 2),
    (dw_half, AddRootProduct(ww, root_w, lr_w, lr_u, -uw) / 2),
    (sw_half, AddRootProduct(ww, root_w, lr_w, lr_u, uw) / 2),
    (inv_lr_u, 1 / lr_u),
    (inv_lr_w, 1 / lr_w),
]
CONSTANTS = tuple(INPUTS) + tuple(target for target, _ in CELL)

#: u.w and K/kappa^2 in units of 2^e2: u.w from (A, B) where A^2 P0 and B^2 Q0 do not cancel, else from
#: (sigma, delta), whose terms cancel only as much as u.w itself does relative to |u||w|.
_SLOPE_AND_NTK: list[tuple[sp.Symbol, sp.Expr]] = [
    (sig, (A + B) / 2),
    (p_term, A**2 * P0),
    (q_term, B**2 * Q0),
    (v_ab, s * (p_term - q_term) / 4),
    (v_sd, sig * dl * c_uw + (sig**2 + dl**2) * uw),
    (v_s, sp.Piecewise((v_ab, 2 * sp.Abs(p_term - q_term) >= p_term + q_term), (v_sd, True))),
    (kk_s, s**2 * (p_term + q_term) / 2),
    (F, kappa * Ldexp(v_s, e2)),
    (K, kappa**2 * Ldexp(kk_s, e2)),
]

STEP: list[tuple[sp.Symbol, sp.Expr]] = _SLOPE_AND_NTK + [
    (alpha, hak_s * R),
    (factor, 1 - ha * (K - alpha * kappa * s * F)),
    (A_next, A * (1 - alpha)),
    (B_next, B * (1 + alpha)),
    (dl_next, dl - alpha * sig),
    (R_next, R * factor),
]
STEP_OUTPUTS = (A_next, B_next, dl_next, R_next, factor)

OBSERVE: list[tuple[sp.Symbol, sp.Expr]] = _SLOPE_AND_NTK + [
    (ab, A * B),
    (cn_s, C * ab),  # C_n = C A B
    (rd_s, root_d2 * sp.Abs(ab)),  # D_n = D |A B|
    # the smaller layer norm through the product eta_u eta_w |u|^2 |w|^2 = s^2 (v^2 + D_n^2), as for the flow
    (hv_s, hypot(v_s, rd_s)),
    (sv_s, s * hv_s),
    (small_s, 2 * sv_s * (sv_s / (kk_s + sp.Abs(cn_s)))),
    (lowering.eu, sp.Piecewise(((kk_s + cn_s) / 2, cn_s >= 0), (small_s, True))),
    (lowering.ew, sp.Piecewise(((kk_s - cn_s) / 2, cn_s <= 0), (small_s, True))),
    (norm_u2, Ldexp(lowering.eu, e2) * inv_lr_w),
    (norm_w2, Ldexp(lowering.ew, e2) * inv_lr_u),
    (ntk_plain, kappa**2 * (norm_u2 + norm_w2)),
    (cos_uw, sp.Piecewise((v_s / hv_s, hv_s > 0), (sp.nan, True))),
    # u_n.u0 = A (uu + r uw)/2 + B (uu - r uw)/2 and |u_n x u0| = |delta| r D (and likewise for w)
    (
        rot_u,
        sp.Piecewise(
            (sp.nan, sp.Eq(uu, 0)), (sp.atan2(root_d2 * root_u * sp.Abs(dl), B * du_half + A * su_half), True)
        ),
    ),
    (
        rot_w,
        sp.Piecewise(
            (sp.nan, sp.Eq(ww, 0)), (sp.atan2(root_d2 * root_w * sp.Abs(dl), B * dw_half + A * sw_half), True)
        ),
    ),
    (loss_excess, x_var * R**2 / 2),
]

STATE = (A, B, dl, R, e2)

#: name -> (inputs, program, outputs, docstring, unpacks the constants): what codegen writes.
KERNELS = {
    "gd_cell_constants": (INPUTS, CELL, CONSTANTS, "Gradient-descent cell constants (names in GD_CONSTANTS).", False),
    "gd_step": (
        STATE,
        STEP,
        STEP_OUTPUTS,
        "One gradient-descent step of the state (A, B, delta in units of 2^(e2/2), R = F - m): the next A, B, "
        "delta, R and R'/R.",
        True,
    ),
    "gd_observables": (
        STATE,
        OBSERVE,
        lowering.OBSERVED,
        "Observables of the gradient-descent state, in the order of observables_at.",
        True,
    ),
}


def _program_claims() -> dict[str, sp.Expr]:
    """The step and observation programs equal the derivation (at e2 = 0: the scaling by 2^e2 is exact).
    P0 and Q0 are checked in both branches; D^2 is the Gram numbers' own uu ww - uw^2."""
    cell = {target: expr.doit() for target, expr in CELL if target not in (P0, Q0)}
    gram_n = {name: form.subs({sigma: (A + B) / 2, delta: dl}) for name, form in GRAM_AFTER.items()}
    slope = dict(_SLOPE_AND_NTK)

    def resolve(expr, branch):
        pick = {P0: CELL[[t for t, _ in CELL].index(P0)][1].args[branch].expr}
        pick[Q0] = CELL[[t for t, _ in CELL].index(Q0)][1].args[branch].expr
        for _ in range(6):
            expr = expr.subs(slope).subs(pick).subs(cell)
        expr = expr.doit().subs(e2, 0).subs({dl: (A - B) / 2, d2: uu * ww - uw**2})
        return _explicit(expr)

    out = {
        "gd program: P0 Q0 = X^2 - Y^2": _explicit(
            sp.expand(
                (X_SUM + Y_CROSS) * (X_SUM - Y_CROSS) - PQ_PRODUCT.subs({C: lr_w * uu - lr_u * ww, d2: uu * ww - uw**2})
            )
        ),
    }
    for branch in (0, 1):
        want_uw = _explicit(gram_n["uw"].subs(dl, (A - B) / 2))
        want_k = _explicit(kappa**2 * (lr_u * gram_n["ww"] + lr_w * gram_n["uu"]).subs(dl, (A - B) / 2))
        out[f"gd program: u.w from (A, B), P0/Q0 branch {branch}"] = resolve(v_ab, branch) - want_uw
        out[f"gd program: K, P0/Q0 branch {branch}"] = resolve(K, branch) - want_k
    out["gd program: u.w from (sigma, delta)"] = slope[v_sd].subs(sig, (A + B) / 2).subs(cell) - gram_n["uw"]
    nxt = dict(STEP)
    out["gd program: the step is MULTIPLIERS and the residual map"] = (
        (nxt[A_next] - MULTIPLIERS[A].subs(alpha_n, alpha)) ** 2
        + (nxt[B_next] - MULTIPLIERS[B].subs(alpha_n, alpha)) ** 2
        + (nxt[dl_next] - MULTIPLIERS[delta].subs({alpha_n: alpha, sigma: sig, delta: dl})) ** 2
        + (nxt[factor] - RESIDUAL_FACTOR.subs(alpha_n, alpha).subs(h * x_var, ha)) ** 2
        + (cell[hak_s] - (alpha_of_slope / (x_var * F - xy_cov) * x_var)) ** 2
    )
    return out
