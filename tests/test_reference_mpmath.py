"""Validation of the mpmath reference (tests/reference_mpmath.py) against itself and independently.

Independent oracles used here (none of them shares code with the reference):
  * scipy integration of the reduced ODE dF/dt = -a (F - m) sqrt(Kc^2 + g^2 F^2) (spec D.2),
    with Kc and g recomputed in this file from spec D.1;
  * scipy integration of the gradient flow of the actual width-d network (spec B), with F and
    the NTK K = kappa^2 (eta_u |w|^2 + eta_w |u|^2) read off the weights;
  * high-order finite differences of the reference's own F(t) in high precision (ODE residual);
  * the spec's implicit form t = G(F) - G(F0) (spec D.3).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from reference_mpmath import ReferencePrecisionError, observables, reference
from scipy.integrate import solve_ivp

# (kappa, lr_u, lr_w, a, b, uu, ww, uw): moderate parameters covering every qualitative regime.
MODERATE = {
    "small-init alignment": (0.1, 1.0, 1.0, 1.0, 1.0, 0.01, 0.012, 0.003),
    "opposite signs (NTK dips to Kc)": (0.1, 0.5, 2.0, 2.0, -3.0, 0.5, 0.012, 0.03),
    "large init (disalignment)": (0.1, 1.0, 1.0, 1.0, 0.5, 100.0, 100.0, 60.0),
    "imbalanced rates (rescaling)": (0.3, 0.01, 10.0, 1.0, 2.0, 1.0, 0.5, -0.2),
    "zero target": (0.2, 1.0, 3.0, 0.5, 0.0, 2.0, 1.0, 1.1),
    "kernel regime": (1.0, 1.0, 1.0, 1.0, 0.3, 50.0, 60.0, 0.5),
    "orthogonal init": (0.5, 2.0, 1.0, 1.0, 1.5, 0.2, 0.3, 0.0),
}


def _d2(uu, ww, uw):
    return uu * ww - uw * uw


def _spec_constants(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2):
    """Spec D.1 in plain floats, written independently of the reference."""
    g = 2.0 * kappa * math.sqrt(lr_u * lr_w)
    C = lr_w * uu - lr_u * ww
    Kc = kappa**2 * math.sqrt(C * C + 4.0 * lr_u * lr_w * d2)
    return g, Kc, kappa * uw, b / a


def _times(lam_scale, n=25):
    return [0.0] + list(np.geomspace(1e-3, 60.0, n) * lam_scale)


def _f(x):
    return [float(v) for v in x]


@pytest.mark.parametrize("name", sorted(MODERATE))
def test_matches_reduced_ode(name):
    kappa, lr_u, lr_w, a, b, uu, ww, uw = MODERATE[name]
    d2 = _d2(uu, ww, uw)
    g, Kc, F0, m = _spec_constants(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2)
    # the slowest scale: the small-init learning time or 1/(a Kinf), whichever is longer
    Kinf = math.hypot(Kc, g * m)
    scale = max(1.0 / (a * Kinf), (math.log(max(g * abs(m) / Kc, 1.0)) + 1.0) / (a * max(g * abs(m), Kc)))
    times = _times(scale)
    ref = reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times)
    sol = solve_ivp(
        lambda t, F: -a * (F - m) * np.sqrt(Kc**2 + g**2 * F**2),
        (0.0, times[-1]),
        [F0],
        method="DOP853",
        t_eval=times,
        rtol=1e-13,
        atol=1e-16 * max(abs(m), abs(F0)),
    )
    assert sol.success
    M = max(abs(m), abs(F0))
    F_ode = sol.y[0]
    K_ode = np.sqrt(Kc**2 + g**2 * F_ode**2)
    err_F = np.max(np.abs(np.array(_f(ref["F"])) - F_ode)) / M
    err_K = np.max(np.abs(np.array(_f(ref["ntk"])) / K_ode - 1.0))
    assert err_F < 1e-9 and err_K < 1e-9, (name, err_F, err_K)
    # the run must actually traverse the dynamics: converged at the end
    assert abs(float(ref["residual"][-1])) < 1e-12 * M


def _random_weights(name, width, seed):
    """Weights u0, w0 of the given width drawn (from ``seed``) with the scales of ``MODERATE[name]``, and the
    arguments of ``reference`` for them: (kappa, lr_u, lr_w, a, b, uu, ww, uw, d2) with their Gram numbers."""
    kappa, lr_u, lr_w, a, b, uu, ww, _ = MODERATE[name]
    rng = np.random.default_rng(seed)
    u0 = rng.standard_normal(width) * math.sqrt(uu / width)
    w0 = rng.standard_normal(width) * math.sqrt(ww / width)
    uu, ww, uw = float(u0 @ u0), float(w0 @ w0), float(u0 @ w0)
    w_perp = w0 - (uw / uu) * u0
    d2 = uu * float(w_perp @ w_perp)
    return (kappa, lr_u, lr_w, a, b, uu, ww, uw, d2), u0, w0


def _network_flow(args, u0, w0, times):
    """The weights u(t), w(t) (width x times) of the width-d network's gradient flow from u0, w0 (spec B)."""
    kappa, lr_u, lr_w, a, b = args[:5]
    width = u0.size

    def rhs(t, z):
        u, w = z[:width], z[width:]
        err = a * kappa * (u @ w) - b
        return np.concatenate([-lr_u * kappa * err * w, -lr_w * kappa * err * u])

    sol = solve_ivp(
        rhs, (0.0, times[-1]), np.concatenate([u0, w0]), method="DOP853", t_eval=times, rtol=1e-13, atol=1e-15
    )
    assert sol.success
    return sol.y[:width], sol.y[width:]


@pytest.mark.parametrize(
    "name, width, seed",
    [
        ("small-init alignment", 4, 1),
        ("opposite signs (NTK dips to Kc)", 3, 2),
        ("imbalanced rates (rescaling)", 5, 3),
        ("large init (disalignment)", 2, 4),
    ],
)
def test_matches_network_gradient_flow(name, width, seed):
    """Reference fed with the Gram numbers of actual weights vs. the d-dimensional gradient flow."""
    args, u0, w0 = _random_weights(name, width, seed)
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = args
    g, Kc, F0, m = _spec_constants(*args)
    scale = max(
        1.0 / (a * math.hypot(Kc, g * m)), (math.log(max(g * abs(m) / Kc, 1.0)) + 1.0) / (a * max(g * abs(m), Kc))
    )
    times = _times(scale, n=15)
    u, w = _network_flow(args, u0, w0, times)
    F_net = kappa * np.einsum("it,it->t", u, w)
    K_net = kappa**2 * (lr_u * np.einsum("it,it->t", w, w) + lr_w * np.einsum("it,it->t", u, u))
    ref = reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times)
    M = max(abs(m), abs(F0))
    assert np.max(np.abs(np.array(_f(ref["F"])) - F_net)) < 1e-9 * M
    assert np.max(np.abs(np.array(_f(ref["ntk"])) / K_net - 1.0)) < 1e-9
    assert float(ref["K0"]) == pytest.approx(K_net[0], rel=1e-13)


def _angle(x, y):
    """Angle between the columns of x and y, accurate near 0 and pi: 2 atan2(|x^ - y^|, |x^ + y^|)."""
    xh, yh = x / np.linalg.norm(x, axis=0), y / np.linalg.norm(y, axis=0)
    return 2 * np.arctan2(np.linalg.norm(xh - yh, axis=0), np.linalg.norm(xh + yh, axis=0))


@pytest.mark.parametrize(
    "name, width, seed",
    [("small-init alignment", 4, 1), ("opposite signs (NTK dips to Kc)", 3, 2), ("imbalanced rates (rescaling)", 5, 3)],
)
def test_observables_match_network_gradient_flow(name, width, seed):
    """reference_mpmath.observables (norms, cosine, rotations, excess loss) vs. the same quantities read off
    the integrated d-dimensional weights; and its F and NTK are reference()'s."""
    args, u0, w0 = _random_weights(name, width, seed)
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = args
    g, Kc, F0, m = _spec_constants(*args)
    times = _times(1.0 / (a * math.hypot(Kc, g * m)), n=12)
    u, w = _network_flow(args, u0, w0, times)
    nu, nw = (u * u).sum(0), (w * w).sum(0)
    net = {
        "norm_u2": nu,
        "norm_w2": nw,
        "ntk_plain": kappa**2 * (nu + nw),
        "cos_uw": (u * w).sum(0) / np.sqrt(nu * nw),
        "rot_u": _angle(u, np.broadcast_to(u0[:, None], u.shape)),
        "rot_w": _angle(w, np.broadcast_to(w0[:, None], w.shape)),
        "loss_excess": a / 2 * (kappa * (u * w).sum(0) - b / a) ** 2,
    }
    obs = observables(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times)
    for key, value in net.items():
        ref = np.array(_f(obs[key]))
        scale = np.abs(ref) if key.startswith(("norm", "ntk")) else 1.0
        assert np.max(np.abs(ref - value) / scale) < 1e-9, key
    ref = reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times)
    for key in ("F", "ntk"):
        assert all(abs(x - y) <= 1e-25 * max(abs(y), 1) for x, y in zip(obs[key], ref[key], strict=True)), key
    with mpmath.workdps(obs["dps"]):
        assert abs(obs["final"]["F"] - ref["Finf"]) <= 1e-30 and abs(obs["final"]["ntk"] - ref["Kinf"]) <= 1e-30


# Extreme inputs: deep kernel regime (g|F|/Kc ~ 1e-40), huge g|m|/Kc with a negative target,
# large init F0 >> m with tiny Kc, and opposite signs with tiny Kc.
EXTREME = {
    "deep kernel": (1e8, 1e-8, 1e8, 1.0, 1e-3, 1e28, 1e-4, 1e-10, 1e24),
    "tiny Kc, negative target": (1e-4, 1e4, 1e4, 1.0, -7.0, 1e-30, 1e-30, 1e-30, 1e-90),
    "large init, tiny Kc": (1.0, 1.0, 1.0, 1.0, 1e-3, 1e20, 1e20, 1e20, 1e10),
    "opposite signs, tiny Kc": (1e-2, 1.0, 4.0, 3.0, 5.0, 1e-20, 2.5e-21, -5e-21, 1e-70),
}


@pytest.mark.parametrize("name", sorted(MODERATE) + sorted(EXTREME))
def test_identities(name):
    """K^2 = Kc^2 + g^2 F^2 at every time, F(0) = F0, F -> m, K -> Kinf, and dF/dt = -a(F - m)K."""
    if name in MODERATE:
        args = MODERATE[name]
        args = args + (_d2(*args[5:8]),)
    else:
        args = EXTREME[name]
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = args
    ref0 = reference(*args, [0.0])
    lam = ref0["lam"]
    slow = max(1 / lam, 1 / (a * ref0["g"] * abs(ref0["m"])) if ref0["m"] != 0 else 0)
    slow *= 1 + abs(mpmath.log(ref0["Kinf"] / ref0["Kc"])) + abs(mpmath.log(ref0["K0"] / ref0["Kc"]))
    times = [0.0] + [float(slow * x) for x in (1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 10.0)]
    t_inf = float(slow * 1e4)
    ref = reference(*args, times + [t_inf])
    with mpmath.workdps(ref["dps"] + 10):
        Kc, g, m, F0 = ref["Kc"], ref["g"], ref["m"], ref["F0"]
        M = max(abs(m), abs(F0))
        for F, K in zip(ref["F"], ref["ntk"], strict=True):
            assert abs(K**2 - Kc**2 - g**2 * F**2) <= mpmath.mpf("1e-40") * K**2
        assert abs(ref["F"][0] - F0) <= mpmath.mpf("1e-40") * M
        assert abs(ref["ntk"][0] - ref["K0"]) <= mpmath.mpf("1e-40") * ref["K0"]
        assert abs(ref["residual"][-1]) <= mpmath.mpf("1e-60") * M
        assert abs(ref["ntk"][-1] - ref["Kinf"]) <= mpmath.mpf("1e-40") * ref["Kinf"]
        assert ref["Finf"] == m and not ref["degenerate"]
    # ODE residual by a 4th-order central difference; t and h dyadic so t +- k h are exact floats
    for t in (float(slow) * 0.01, 0.5 / float(lam), 5.0 / float(lam), min(float(slow), 40.0 / float(lam))):
        t = 2.0 ** math.floor(math.log2(t))
        h = 2.0**-30 * min(t, 2.0 ** math.floor(math.log2(1.0 / float(lam))))
        st = [t - 2 * h, t - h, t, t + h, t + 2 * h]
        r = reference(*args, st, dps=ref["dps"] + 40)
        with mpmath.workdps(r["dps"]):
            Fs = r["F"]
            dF = (-Fs[4] + 8 * Fs[3] - 8 * Fs[1] + Fs[0]) / (12 * h)
            rhs = -a * (Fs[2] - r["m"]) * r["ntk"][2]
            # truncation error ~ (h lam)^4 |rhs| <= 1e-36 |rhs|; rounding ~ 10^-dps M / h
            noise = mpmath.mpf(10) ** (20 - r["dps"]) * M / h
            assert abs(dF - rhs) <= mpmath.mpf("1e-25") * abs(rhs) + noise, (t, dF, rhs)


DEGENERATE = {
    # (kappa, lr_u, lr_w, a, b, uu, ww, uw): C = 0 and u0 parallel to w0, d2 = 0, so Kc = 0
    "same sign, growth (small init)": (0.5, 1.0, 1.0, 1.0, 2.0, 1e-3, 1e-3, 1e-3),
    "same sign, negative": (0.5, 1.0, 1.0, 2.0, -4.0, 1e-2, 1e-2, -1e-2),
    "same sign, decay (large init)": (0.5, 1.0, 1.0, 1.0, 0.5, 10.0, 10.0, 10.0),
    "unequal rates, C = 0": (0.25, 4.0, 1.0, 1.0, 3.0, 4.0, 1.0, 2.0),
    "zero target": (0.5, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, -1.0),
    "opposite signs (stuck at F = 0)": (0.5, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0),
    "opposite signs, F0 < 0": (0.5, 1.0, 1.0, 0.5, 3.0, 0.1, 0.1, -0.1),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_degenerate_solves_ode(name):
    """Kc = 0: the logistic / algebraic formulas solve dF/dt = -a (F - m) g |F| (finite differences)."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw = DEGENERATE[name]
    g, Kc, F0, m = _spec_constants(kappa, lr_u, lr_w, a, b, uu, ww, uw, 0.0)
    assert Kc == 0.0
    rate = a * g * max(abs(m), abs(F0))
    for t in (0.25, 1.0, 4.0, 16.0):
        t = t / rate
        t = 2.0 ** math.floor(math.log2(t))
        h = t * 2.0**-24
        st = [t - 2 * h, t - h, t, t + h, t + 2 * h]
        r = reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, 0.0, st, dps=80)
        assert r["degenerate"]
        with mpmath.workdps(80):
            Fs = r["F"]
            dF = (-Fs[4] + 8 * Fs[3] - 8 * Fs[1] + Fs[0]) / (12 * h)
            rhs = -a * (Fs[2] - r["m"]) * r["g"] * abs(Fs[2])
            scale = a * r["g"] * max(abs(r["m"]), abs(r["F0"])) ** 2
            assert abs(dF - rhs) <= mpmath.mpf("1e-25") * scale, (name, t, dF, rhs)
            assert all(abs(K - r["g"] * abs(F)) <= mpmath.mpf("1e-70") * K for F, K in zip(Fs, r["ntk"], strict=True))
    ref = reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, 0.0, [0.0, 1e6 / rate])
    assert abs(ref["F"][0] - ref["F0"]) <= 1e-40 * max(abs(m), abs(F0))
    if m * F0 > 0:
        assert ref["Finf"] == ref["m"] and ref["Kinf"] == ref["g"] * abs(ref["m"])
    else:  # m = 0, or opposite signs: F -> 0 and K -> 0 (the spec's Kinf = g|m| does not apply)
        assert ref["Finf"] == 0 and ref["Kinf"] == 0
    assert abs(ref["F"][-1] - ref["Finf"]) <= 1e-5 * max(abs(m), abs(F0))


def test_degenerate_is_the_limit_of_vanishing_kc():
    """The Kc > 0 y-form with a tiny d2 tends to the logistic formula at fixed t, including the
    m F0 < 0 case, where the limit is singular: for Kc > 0 the flow eventually leaves F ~ 0 for m
    (after a time that diverges like ln(1/Kc)), for Kc = 0 it never does."""
    kappa, lr_u, lr_w, a = 0.5, 1.0, 1.0, 1.0
    for b, uw in ((2.0, 0.1), (-1.0, 0.1), (0.0, 0.1), (3.0, -0.1)):
        times = [0.0, 0.5, 2.0, 8.0, 30.0]
        deg = reference(kappa, lr_u, lr_w, a, b, 0.1, 0.1, uw, 0.0, times)
        near = reference(kappa, lr_u, lr_w, a, b, 0.1, 0.1, uw, 1e-80, times)
        assert near["Kc"] > 0 and near["Kc"] < 1e-39
        for x, y in zip(deg["F"], near["F"], strict=True):
            assert abs(x - y) <= 1e-30
    # m F0 < 0 with Kc = 1e-40: at t = 400/(a g|m|) the y-form has reached m, the logistic is still at 0
    t_late = [400.0]
    deg = reference(kappa, lr_u, lr_w, a, -1.0, 0.1, 0.1, 0.1, 0.0, t_late)
    near = reference(kappa, lr_u, lr_w, a, -1.0, 0.1, 0.1, 0.1, 1e-80, t_late)
    assert abs(deg["F"][0]) < 1e-100 and abs(near["F"][0] + 1) < 1e-10


@pytest.mark.parametrize("name", sorted(MODERATE) + sorted(EXTREME))
def test_implicit_form(name):
    """Spec D.3: t = G(F(t)) - G(F0), G(F) = ln|(Kc^2 + g^2 m F + Kinf K(F)) / (F - m)| / (a Kinf)."""
    if name in MODERATE:
        args = MODERATE[name] + (_d2(*MODERATE[name][5:8]),)
    else:
        args = EXTREME[name]
    a = args[3]
    ref0 = reference(*args, [0.0])
    times = [float(x / ref0["lam"]) for x in (0.01, 0.3, 1.0, 3.0, 10.0)]
    ref = reference(*args, times, dps=ref0["dps"] + 60)
    with mpmath.workdps(ref["dps"]):
        Kc, g, m, Ki = ref["Kc"], ref["g"], ref["m"], ref["Kinf"]

        def G(F):
            return mpmath.log(abs((Kc**2 + g**2 * m * F + Ki * mpmath.sqrt(Kc**2 + g**2 * F**2)) / (F - m))) / (a * Ki)

        for t, F in zip(times, ref["F"], strict=True):
            assert abs(G(F) - G(ref["F0"]) - t) <= mpmath.mpf("1e-15") * t


def test_precision_is_verified():
    """Too few digits are detected (the dps + 30 rerun disagrees), adaptive digits grow with the
    cancellation, and the adaptive choice passes its own check on a cancellation-heavy input."""
    args = EXTREME["deep kernel"]
    with pytest.raises(ReferencePrecisionError):
        reference(*args, [0.0, 1e-45, 1e-30], dps=40)
    moderate = reference(*(MODERATE["small-init alignment"] + (_d2(0.01, 0.012, 0.003),)), [0.0, 1.0])
    deep = reference(*args, [0.0, 1e-45, 1e-30])
    assert deep["dps"] > moderate["dps"] + 150
    # exact inputs: mpf(float) is exact, so F0 = kappa*uw with no rounding of the inputs
    with mpmath.workprec(200):
        assert deep["F0"] == mpmath.mpf(1e8) * mpmath.mpf(1e-10)
        assert deep["F0"] != mpmath.mpf("1e-2")
