"""The exact solution (spec section D): Riccati form, a cancellation-free product form,
the degenerate case Kc = 0, the weights, and the t -> infinity limits.

The product form is what the kernels evaluate, scaled per cell (``lowering``: y = y+ n-/n+ = N/D with every
factor written through y0 and y+, and 1/n+, 1/n- taken separately). With

    alpha = (K_inf + g m)/(2 K_inf),  beta = (K_inf - g m)/(2 K_inf)   (alpha + beta = 1, 4 K_inf^2 alpha beta = Kc^2)
    P/M = exp(psi0),  psi0 = asinh(g F0/Kc) - asinh(g m/Kc),  tau = (P - M)/2,  S = alpha P + beta M
    E = exp(-lambda t),  omE = 1 - E,  lambda = a K_inf
    n+ = alpha P omE + alpha M E + beta M,   n- = alpha P + beta P E + beta M omE

the slope, the NTK and the hyperbolic angle of the weights are

    F - m  = (2 K_inf/g) tau S E / (n+ n-)
    K      = K_inf (alpha n-^2 + beta n+^2) / (n+ n-)
    F      = m omE h(E)/h(0) + F0 E h(E)/h(1),   h(E) = (sqrt(alpha) n- + sqrt(beta) n+)/(n+ n-)
    e^{2T} = P n+ / (M n-),   e^{2T} - 1 = 2 omE tau S / (M n-)

Every term of every sum is non-negative (P, M, E, omE, alpha, beta >= 0), except the two
terms of F when m and F0 have opposite signs; there F = (F0/h(1) - m/h(0)) h(E) (E - E*) with
E - E* = E* expm1(-lambda t - ln E*). So no digit is lost to cancellation in any regime,
including the deep kernel regime where the Riccati form of the spec loses all of them.
(P, M) enter only through their ratio, so they are scaled to max(P, M) = 1.
"""

from __future__ import annotations

import sympy as sp

from .symbols import (
    F0,
    K0,
    E,
    F,
    Kc,
    Kinf,
    M,
    P,
    S,
    T,
    alpha,
    beta,
    g,
    h_end,
    h_start,
    lr_u,
    lr_w,
    m,
    n_minus,
    n_plus,
    omE,
    t,
    tau,
    x_var,
)

# ---------------------------------------------------------------------------------------------
# Riccati form of spec D.3: y = exp(asinh(g F / Kc)) obeys dy/dt = (a Kc/2)(1 - y^2) + a g m y.
y0 = sp.Symbol("y0", positive=True)
lam_ = x_var * Kinf
y_plus = (g * m + Kinf) / Kc
y_minus = (g * m - Kinf) / Kc
R = (y0 - y_plus) / (y0 - y_minus)
y_of_t = (y_plus - y_minus * R * sp.exp(-lam_ * t)) / (1 - R * sp.exp(-lam_ * t))
F_riccati = Kc * (y_of_t - 1 / y_of_t) / (2 * g)
K_riccati = Kc * (y_of_t + 1 / y_of_t) / 2

#: Implicit solution t(F) = G(F) - G(F0) (spec D.3).
G_implicit = sp.log((Kc**2 + g**2 * m * F + Kinf * sp.sqrt(Kc**2 + g**2 * F**2)) / (F - m)) / (x_var * Kinf)

#: The learning time t_1/2: F has covered half the way from F0 to m, F - m = (F0 - m)/2. From the implicit
#: solution, t_1/2 = G(F_half) - G(F0) = (ln 2 + ln(N(F_half)/N(F0)))/(a K_inf), N(F) = Kc^2 + g^2 m F +
#: K_inf K(F) (the log of (F - m) contributes ln 2).
F_half = (F0 + m) / 2
N_implicit = Kc**2 + g**2 * m * F + Kinf * sp.sqrt(Kc**2 + g**2 * F**2)
t_half = (sp.log(2) + sp.log(N_implicit.subs(F, F_half) / N_implicit.subs(F, F0))) / (x_var * Kinf)

#: Degenerate case Kc = 0: K = g|F|, logistic flow (spec D.3), written for F0 > 0 (F0 < 0 is the mirror image).
F_logistic = m * F0 / (F0 + (m - F0) * sp.exp(-x_var * g * m * t))
F_logistic_zero_target = F0 / (1 + x_var * g * F0 * t)

# ---------------------------------------------------------------------------------------------
# Product form (the closed form the kernels evaluate).
#: Definitions of the auxiliary symbols of the product form.
PRODUCT_FORM = {
    n_plus: alpha * P * omE + alpha * M * E + beta * M,
    n_minus: alpha * P + beta * P * E + beta * M * omE,
    h_start: (sp.sqrt(alpha) * P + sp.sqrt(beta) * M) / (P * M),
    h_end: (sp.sqrt(alpha) + sp.sqrt(beta)) / S,
}
residual = 2 * Kinf / g * tau * S * E / (n_plus * n_minus)
ntk = Kinf * (alpha * n_minus**2 + beta * n_plus**2) / (n_plus * n_minus)
h = (sp.sqrt(alpha) * n_minus + sp.sqrt(beta) * n_plus) / (n_plus * n_minus)
slope_same_sign = m * omE * h / h_end + F0 * E * h / h_start
exp2T = P * n_plus / (M * n_minus)
exp2T_minus_1 = 2 * omE * tau * S / (M * n_minus)

#: Relations that tie the auxiliary symbols to the physical ones, used by the checks.
RELATIONS = {
    beta: 1 - alpha,
    m: Kinf * (2 * alpha - 1) / g,
    tau: (P - M) / 2,
    S: alpha * P + (1 - alpha) * M,
    omE: 1 - E,
}


def on_shell(expr: sp.Expr) -> sp.Expr:
    """Substitute the product-form definitions, then RELATIONS (twice: S contains beta)."""
    return expr.subs(PRODUCT_FORM).subs(RELATIONS).subs(RELATIONS)


def time_derivative_via_E(expr: sp.Expr) -> sp.Expr:
    """d/dt of an expression in E = exp(-lambda t): dE/dt = -a K_inf E."""
    return sp.diff(on_shell(expr), E) * (-x_var * Kinf * E)


# ---------------------------------------------------------------------------------------------
# Weights (spec D.4): u(t) = cosh T u0 - sqrt(eta_u/eta_w) sinh T w0, w likewise, with dT/dt = s kappa (aF - b).
u0_, w0_ = sp.symbols("u0 w0", real=True)
u_of_T = sp.cosh(T) * u0_ - sp.sqrt(lr_u / lr_w) * sp.sinh(T) * w0_
w_of_T = sp.cosh(T) * w0_ - sp.sqrt(lr_w / lr_u) * sp.sinh(T) * u0_


def claims() -> dict[str, sp.Expr]:
    """Each claim about the solution as an expression that must simplify to 0."""
    out: dict[str, sp.Expr] = {}
    K_of = sp.sqrt(Kc**2 + g**2 * F**2)
    # Riccati form solves dF/dt = -a(F - m) K(F), with K(F) = Kc cosh(asinh(gF/Kc)) = Kc (y + 1/y)/2.
    on = {Kinf: sp.sqrt(Kc**2 + g**2 * m**2)}
    out["Riccati y(t) solves dy/dt = (a Kc/2)(1 - y^2) + a g m y"] = (
        sp.diff(y_of_t, t) - (x_var * Kc / 2 * (1 - y_of_t**2) + x_var * g * m * y_of_t)
    ).subs(on)
    # F = Kc (y - 1/y)/(2g), so dF/dt = Kc (1 + 1/y^2)/(2g) dy/dt; check in the variable y (fast).
    yv = sp.Symbol("y", positive=True)
    Fy, Ky = Kc * (yv - 1 / yv) / (2 * g), Kc * (yv + 1 / yv) / 2
    dy = x_var * Kc / 2 * (1 - yv**2) + x_var * g * m * yv
    out["Riccati F solves dF/dt = -a (F - m) K"] = (Kc * (1 + 1 / yv**2) / (2 * g) * dy + x_var * (Fy - m) * Ky).subs(
        on
    )
    out["Riccati K^2 = Kc^2 + g^2 F^2"] = K_riccati**2 - Kc**2 - g**2 * F_riccati**2
    # Implicit form: dt/dF = 1 / (-a (F - m) K(F)).
    out["implicit t(F): dG/dF = -1/(a (F - m) K(F))"] = (sp.diff(G_implicit, F) + 1 / (x_var * (F - m) * K_of)).subs(on)
    out["t_1/2 = G(F_half) - G(F0), with F_half - m = (F0 - m)/2"] = sp.expand_log(
        t_half - (G_implicit.subs(F, F_half) - G_implicit.subs(F, F0)), force=True
    )
    out["N(F) (K_inf K(F) - Kc^2 - g^2 m F) = Kc^2 g^2 (F - m)^2: N without cancellation where m F < 0"] = sp.expand(
        ((Kinf * K_of) ** 2 - (Kc**2 + g**2 * m * F) ** 2).subs(on) - Kc**2 * g**2 * (F - m) ** 2
    )
    # Degenerate case: K = g|F| (F > 0 here).
    out["logistic solves dF/dt = -a (F - m) g F"] = sp.diff(F_logistic, t) + x_var * (F_logistic - m) * g * F_logistic
    out["zero-target logistic solves dF/dt = -a F g F"] = (
        sp.diff(F_logistic_zero_target, t) + x_var * F_logistic_zero_target * g * F_logistic_zero_target
    )
    # Product form.
    F_prod = m + residual
    out["product form: K^2 = Kc^2 + g^2 F^2 (Kc^2 = 4 K_inf^2 alpha beta)"] = on_shell(
        ntk**2 - 4 * Kinf**2 * alpha * beta - g**2 * F_prod**2
    )
    out["product form solves dF/dt = -a (F - m) K"] = time_derivative_via_E(F_prod) + on_shell(x_var * residual * ntk)
    out["product form: F(0) = F0 with g F0 = K_inf sinh psi0 + g m cosh psi0, e^psi0 = P/M"] = on_shell(
        g * F_prod.subs(PRODUCT_FORM).subs({E: 1, omE: 0}) - (Kinf * (P / M - M / P) / 2 + g * m * (P / M + M / P) / 2)
    )
    out["product form: F -> m as t -> infinity"] = on_shell(residual.subs(PRODUCT_FORM).subs({E: 0, omE: 1}))
    out["product form: K -> K_inf as t -> infinity"] = on_shell(ntk.subs(PRODUCT_FORM).subs({E: 0, omE: 1}) - Kinf)
    F0_prod = on_shell(F_prod.subs(PRODUCT_FORM).subs({E: 1, omE: 0}))
    out["slope form m omE h/h(0) + F0 E h/h(1) equals m + residual"] = on_shell(
        slope_same_sign.subs(F0, F0_prod) - F_prod
    )
    out["e^{2T} - 1 written without cancellation"] = on_shell(exp2T - 1 - exp2T_minus_1)
    # T = (psi0 - psi(t))/2 with e^{psi(t)} = n-/n+: dT/dt = s kappa (aF - b) = (g/2) a (F - m).
    T_of = (sp.log(P / M) - sp.log(n_minus / n_plus)) / 2
    out["T = (psi0 - psi)/2 obeys dT/dt = (a g/2)(F - m)"] = time_derivative_via_E(T_of) - on_shell(
        x_var * g / 2 * residual
    )
    # Weights: the vector solution solves the flow given dT/dt = s kappa (aF - b).
    Tt = sp.Function("T")(t)
    ut, wt = u_of_T.subs(T, Tt), w_of_T.subs(T, Tt)
    drive_ = sp.Symbol("drive", real=True)  # kappa (aF - b)
    dT = sp.sqrt(lr_u * lr_w) * drive_
    out["u(t) solves du/dt = -eta_u kappa (aF - b) w"] = (sp.diff(ut, t) + lr_u * drive_ * wt).subs(
        sp.Derivative(Tt, t), dT
    )
    out["w(t) solves dw/dt = -eta_w kappa (aF - b) u"] = (sp.diff(wt, t) + lr_w * drive_ * ut).subs(
        sp.Derivative(Tt, t), dT
    )
    # NTK identities (spec D.6).
    Kinf_ = sp.sqrt(Kc**2 + g**2 * m**2)
    K0_ = sp.sqrt(Kc**2 + g**2 * F0**2)
    out["K_inf^2 - K0^2 = g^2 (m^2 - F0^2)"] = Kinf_**2 - K0_**2 - g**2 * (m**2 - F0**2)
    gamma, gamma0 = g * sp.Abs(m) / K0_, g * sp.Abs(F0) / K0_
    out["K_inf/K0 = sqrt(1 + Gamma^2 - Gamma0^2)"] = (Kinf_ / K0_) ** 2 - (1 + gamma**2 - gamma0**2)
    out["K_inf/K0 - 1 = g^2 (m^2 - F0^2) / (K0 (K_inf + K0))"] = (
        Kinf_ / K0_ - 1 - g**2 * (m - F0) * (m + F0) / (K0_ * (Kinf_ + K0_))
    )
    return out


def relative_ntk_change() -> sp.Expr:
    """K_inf/K0 - 1 without cancellation (spec K)."""
    return g**2 * (m - F0) * (m + F0) / (K0 * (Kinf + K0))
