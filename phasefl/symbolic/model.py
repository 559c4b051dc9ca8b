"""The model, its gradient flow and the conserved quantities (spec sections A-C, D.2).

The network is f(x) = kappa sum_i u_i w_i x. Every neuron pair (u_i, w_i) obeys the same
linear flow driven by one collective scalar, so the claims below are proved for a generic
pair (i, j) of neurons and hold at any width.
"""

from __future__ import annotations

import sympy as sp

from .symbols import C, F, K, Kc, d2, g, kappa, lr_u, lr_w, m, s, uu, uw, ww, x_var, xy_cov

#: Weights of two generic neurons i and j.
u_i, w_i, u_j, w_j = sp.symbols("u_i w_i u_j w_j", real=True)

#: The collective scalar kappa (a F - b) that drives every neuron (spec B).
drive = kappa * (x_var * F - xy_cov)


def flow(u: sp.Expr, w: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """Gradient flow of one neuron: du/dt = -eta_u kappa (aF - b) w, dw/dt = -eta_w kappa (aF - b) u."""
    return -lr_u * drive * w, -lr_w * drive * u


def time_derivative(expr: sp.Expr) -> sp.Expr:
    """d/dt of a polynomial in the weights of neurons i and j under the gradient flow."""
    dui, dwi = flow(u_i, w_i)
    duj, dwj = flow(u_j, w_j)
    return sum(sp.diff(expr, v) * dv for v, dv in ((u_i, dui), (w_i, dwi), (u_j, duj), (w_j, dwj)))


#: Conserved quantities of spec section C, per neuron or per pair of neurons.
CONSERVED = {
    "layer balance c_i = eta_w u_i^2 - eta_u w_i^2": lr_w * u_i**2 - lr_u * w_i**2,
    "Lorentz matrix entry u~_i u~_j - w~_i w~_j": u_i * u_j / lr_u - w_i * w_j / lr_w,
    "bivector entry u~_i w~_j - w~_i u~_j": (u_i * w_j - w_i * u_j) / sp.sqrt(lr_u * lr_w),
    "area term (u_i w_j - u_j w_i)^2 of D^2": (u_i * w_j - u_j * w_i) ** 2,
}


def loss(x2: sp.Expr = x_var, xy: sp.Expr = xy_cov) -> sp.Expr:
    """L(F) = (a/2)(F - m)^2 + const, as a function of the slope (spec A)."""
    return x2 / 2 * (F - xy / x2) ** 2


#: NTK scale as a function of the Gram numbers, K = kappa^2 (eta_u |w|^2 + eta_w |u|^2) (spec D.6).
ntk_from_gram = kappa**2 * (lr_u * ww + lr_w * uu)

#: The same NTK through the conserved C, D^2 and the slope (spec D.2): K = sqrt(Kc^2 + g^2 F^2).
ntk_of_slope = sp.sqrt(Kc**2 + g**2 * F**2)

#: Derived constants in terms of the inputs (spec D.1).
DEFINITIONS = {
    m: xy_cov / x_var,
    s: sp.sqrt(lr_u * lr_w),
    g: 2 * kappa * sp.sqrt(lr_u * lr_w),
    C: lr_w * uu - lr_u * ww,
    Kc: kappa**2 * sp.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4 * lr_u * lr_w * d2),
}

#: The reduced one-dimensional dynamics dF/dt = -a (F - m) K(F) (spec D.2).
reduced_rhs = -x_var * (F - m) * K


def claims() -> dict[str, sp.Expr]:
    """Each claim of spec sections B-C and D.2 as an expression that must simplify to 0."""
    out = {f"d/dt[{name}] = 0": time_derivative(q) for name, q in CONSERVED.items()}
    # dF/dt = kappa (du.w + u.dw) summed over neurons; per neuron the summand is
    # -kappa^2 (aF - b)(eta_u w_i^2 + eta_w u_i^2), so dF/dt = -a (F - m) K with K from the Gram numbers.
    du, dw = flow(u_i, w_i)
    per_neuron = kappa * (du * w_i + u_i * dw)
    out["dF/dt per neuron = -(aF-b) kappa^2 (eta_u w_i^2 + eta_w u_i^2)"] = per_neuron + drive * kappa * (
        lr_u * w_i**2 + lr_w * u_i**2
    )
    out["-(aF - b) = -a (F - m)"] = (x_var * F - xy_cov) - x_var * (F - DEFINITIONS[m])
    # dL/du_i = kappa (aF - b) w_i: the flow is gradient flow with rates eta_u, eta_w.
    out["gradient of the loss"] = sp.diff(loss(), F) * kappa * w_i - drive * w_i
    # K^2 = Kc^2 + g^2 F^2 with F = kappa u.w and D^2 = |u|^2|w|^2 - (u.w)^2 (spec D.2).
    k2 = ntk_from_gram**2
    rhs = (DEFINITIONS[Kc] ** 2 + DEFINITIONS[g] ** 2 * (kappa * uw) ** 2).subs(d2, uu * ww - uw**2)
    out["K^2 = Kc^2 + g^2 F^2"] = k2 - rhs
    return out
