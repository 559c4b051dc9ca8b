"""Independent arbitrary-precision reference of the closed-form solution (spec D.1 + D.3).

This is a test oracle, deliberately written as the *straightforward* Riccati y-form of the
spec, in plain Python + mpmath: no numpy in the math, nothing imported from phasefl, and no
"stable" rewrite (no special root formulas, no expm1/log1p).  Arbitrary precision makes the
rewrite unnecessary: every cancellation of the naive form is paid for with extra digits, and
the result is then verified by recomputing it with 30 more digits.

Closed form (spec D.1, D.3), for inputs kappa, eta_u, eta_w, a, b and the Gram numbers
uu = |u0|^2, ww = |w0|^2, uw = u0.w0, d2 = uu ww - uw^2 (d2 is an input, never recomputed):

    s = sqrt(eta_u eta_w),  g = 2 kappa s,  C = eta_w uu - eta_u ww,
    Kc = kappa^2 sqrt(C^2 + 4 s^2 d2),  F0 = kappa uw,  m = b / a,
    Kinf = sqrt(Kc^2 + g^2 m^2),  lam = a Kinf,  K0 = sqrt(Kc^2 + g^2 F0^2)  (NTK at F0).

Kc > 0:  y0 = exp(asinh(g F0 / Kc)),  y+- = (g m +- Kinf) / Kc,  R = (y0 - y+) / (y0 - y-),
         y(t) = (y+ - y- R e^{-lam t}) / (1 - R e^{-lam t}),
         F = Kc (y - 1/y) / (2 g),  K = Kc (y + 1/y) / 2.

Kc = 0 (degenerate: C = 0 and d2 = 0, so K = g |F| and the flow is logistic):
         m F0 > 0 or m F0 < 0:  F = m F0 / (F0 + (m - F0) exp(-a g sgn(F0) m t)),
         m = 0:                 F = F0 / (1 + a g |F0| t),
         F0 = 0:                F = 0 for all t (the formula above gives this too),
         K = g |F|.
  NOTE (departure from the spec): for m F0 < 0 the flow is stuck at the saddle F = 0: F -> 0,
  not m, because the NTK g|F| vanishes there, and K -> 0.  The spec's Kinf = sqrt(Kc^2 + g^2 m^2)
  = g|m| is then *not* the limit of K(t), so this module returns Kinf = 0 (and Finf = 0) for
  m F0 < 0, and likewise for F0 = 0 with m != 0 (nothing ever moves).  For m = 0, Kinf = 0 = g|m|.
  'Kinf' is always lim_{t->inf} K(t) and 'Finf' = lim_{t->inf} F(t).

Precision (dps=None).  Working digits = 50 + 10 guard + the digits the naive form can lose:
  * 2 |log10(g|F0|/Kc)| and 2 |log10(g|m|/Kc)|: y ~ 1 + x in the kernel regime (x << 1), so
    y - 1/y and y0 - y+ cancel (~log10(1/x) digits each); for x >> 1 the roots
    y+- = (g m +- Kinf)/Kc with g m < 0 (resp. > 0) and 1 - R e^{-lam t} (R -> 1 when
    F0 >> m) cancel, costing up to 2 log10(x) digits (Kinf - g|m| ~ Kc^2 / (2 g |m|));
  * residual F - m -> (F0 - m) e^{-lam t}: computing it by subtraction costs
    lam t_max log10(e) + log10(M / |F0 - m|) digits (M = max(|m|, |F0|)); this is capped at
    `floor_digits` (default 100), i.e. the residual is guaranteed relative to itself only
    while |F - m| >= 10^-floor_digits M (below that: absolute accuracy 1e-20 10^-floor_digits M);
    the same cap applies when F0 = m or F0 = 0 (exact values the naive form only reproduces
    up to rounding noise, which must then lie below the floor);
  * degenerate case: log10(|F0|/|m|) (F0 + (m - F0) e^{...} cancels at small t when |F0| >> |m|)
    plus the same residual term with rate a g |m|.
The estimate is generous on purpose; correctness does not rest on it: the whole evaluation
is repeated with 30 more digits and F, K and F - m must agree to 1e-20 relative (F and F - m
relative to max(|value|, 10^-floor_digits M)), otherwise ReferencePrecisionError is raised.
An explicit `dps` skips the estimate but not the verification.
"""

from __future__ import annotations

import math

import mpmath

BASE_DPS = 50  #: digits wanted in the results before any cancellation
GUARD_DPS = 10  #: slack on top of the estimated loss
CHECK_EXTRA_DPS = 30  #: the verification run uses this many more digits
CHECK_RTOL = "1e-20"  #: required agreement between the two runs
LOG10_E = math.log10(math.e)


class ReferencePrecisionError(ArithmeticError):
    """The two evaluations (dps and dps + 30) did not agree to 1e-20: precision was too low."""


def _mpf_inputs(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2):
    vals = {}
    for name, v in (
        ("kappa", kappa),
        ("lr_u", lr_u),
        ("lr_w", lr_w),
        ("a", a),
        ("b", b),
        ("uu", uu),
        ("ww", ww),
        ("uw", uw),
        ("d2", d2),
    ):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v!r}")
        vals[name] = v
    for name in ("kappa", "lr_u", "lr_w", "a"):
        if vals[name] <= 0:
            raise ValueError(f"{name} must be > 0, got {vals[name]!r}")
    for name in ("uu", "ww", "d2"):
        if vals[name] < 0:
            raise ValueError(f"{name} must be >= 0, got {vals[name]!r}")
    # mpf(float) is exact whenever the precision is >= 53 bits (always the case here).
    with mpmath.workprec(64):
        return {k: mpmath.mpf(v) for k, v in vals.items()}


def _constants(p):
    """Spec D.1 at the current working precision."""
    kappa, lu, lw, a, b = p["kappa"], p["lr_u"], p["lr_w"], p["a"], p["b"]
    uu, ww, uw, d2 = p["uu"], p["ww"], p["uw"], p["d2"]
    s = mpmath.sqrt(lu * lw)
    g = 2 * kappa * s
    C = lw * uu - lu * ww
    Kc = kappa**2 * mpmath.sqrt(C**2 + 4 * s**2 * d2)
    F0 = kappa * uw
    m = b / a
    Kinf = mpmath.sqrt(Kc**2 + g**2 * m**2)
    K0 = mpmath.sqrt(Kc**2 + g**2 * F0**2)
    return dict(g=g, C=C, Kc=Kc, F0=F0, m=m, Kinf=Kinf, K0=K0, a=a)


def _riccati(c):
    """(lam, y0, y+, y-, R) of the Kc > 0 solution y(t) = (y+ - y- R e^(-lam t)) / (1 - R e^(-lam t)),
    y = e^asinh(g F / Kc) (spec D.3), from the constants of ``_constants``."""
    g, Kc, F0, m, a, Kinf = c["g"], c["Kc"], c["F0"], c["m"], c["a"], c["Kinf"]
    y0 = mpmath.exp(mpmath.asinh(g * F0 / Kc))
    yp = (g * m + Kinf) / Kc
    ym = (g * m - Kinf) / Kc
    return a * Kinf, y0, yp, ym, (y0 - yp) / (y0 - ym)


def _log10_abs(x) -> float:
    return float(mpmath.log10(abs(x)))


def _digits_needed(p, times, floor_digits) -> int:
    """Digits the naive y-form / logistic form can lose for these inputs (see module doc)."""
    with mpmath.workdps(40):
        c = _constants(p)
        g, Kc, F0, m, a = c["g"], c["Kc"], c["F0"], c["m"], c["a"]
        M = max(abs(m), abs(F0))
        t_max = max([mpmath.mpf(t) for t in times] + [mpmath.mpf(0)])
        loss = 0.0
        if Kc > 0:
            for v in (F0, m):
                if v != 0:
                    loss += 2 * abs(_log10_abs(g * v / Kc))
            rate = a * c["Kinf"]
        else:
            if F0 != 0 and m != 0:
                loss += max(0.0, _log10_abs(F0 / m))
            rate = a * g * abs(m)
        if M == 0 or F0 == m or F0 == 0:
            # F(t) = F0 = m forever, or F(0) = 0: values the naive form only returns as
            # rounding noise, so they are computed down to the absolute floor.
            res_loss = floor_digits
        else:
            res_loss = float(rate * t_max) * LOG10_E + _log10_abs(M / (F0 - m))
        loss += min(float(floor_digits), max(0.0, res_loss))
    return BASE_DPS + GUARD_DPS + int(math.ceil(loss))


def _evaluate(p, times, dps):
    """The closed form at `dps` digits: constants plus lists F, K, residual (mpf)."""
    with mpmath.workdps(dps):
        c = _constants(p)
        g, Kc, F0, m, a, Kinf = c["g"], c["Kc"], c["F0"], c["m"], c["a"], c["Kinf"]
        ts = [mpmath.mpf(t) for t in times]
        Fs, Ks = [], []
        if Kc > 0:
            lam, y0, yp, ym, R = _riccati(c)
            for t in ts:
                E = mpmath.exp(-lam * t)
                y = (yp - ym * R * E) / (1 - R * E)
                Fs.append(Kc * (y - 1 / y) / (2 * g))
                Ks.append(Kc * (y + 1 / y) / 2)
            Finf = m
            case = "Kc>0"
        else:
            lam = a * g * abs(m)
            sgn = mpmath.sign(F0)
            for t in ts:
                if m == 0:
                    F = F0 / (1 + a * g * abs(F0) * t)
                else:
                    F = m * F0 / (F0 + (m - F0) * mpmath.exp(-a * g * sgn * m * t))
                Fs.append(F)
                Ks.append(g * abs(F))
            if m * F0 > 0:
                case, Finf, Kinf = "Kc=0, m F0 > 0 (logistic to m)", m, g * abs(m)
            elif m == 0:
                case, Finf, Kinf = "Kc=0, m = 0 (algebraic decay to 0)", m, mpmath.mpf(0)
            elif F0 == 0:
                case, Finf, Kinf = "Kc=0, F0 = 0 (never moves)", mpmath.mpf(0), mpmath.mpf(0)
            else:
                case, Finf, Kinf = "Kc=0, m F0 < 0 (stuck at the saddle F = 0)", mpmath.mpf(0), mpmath.mpf(0)
        res = [F - m for F in Fs]
        out = dict(c)
        del out["a"]
        out.update(F=Fs, ntk=Ks, residual=res, Kinf=Kinf, Finf=Finf, lam=lam, case=case, degenerate=not Kc > 0)
        return out


def reference(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times, dps=None, floor_digits=100) -> dict:
    """Closed-form trajectory (spec D.1 + D.3, naive y-form) in verified arbitrary precision.

    Parameters
    ----------
    kappa, lr_u, lr_w, a : float > 0
        Output scale, learning rates eta_u, eta_w, and a = E[x^2].
    b : float
        E[x y]; the target slope is m = b / a (computed in high precision).
    uu, ww, uw, d2 : float
        Initial Gram numbers |u0|^2, |w0|^2, u0.w0 and d2 = |u0|^2|w0|^2 - (u0.w0)^2 (taken as
        given, not recomputed).
    times : sequence of float >= 0
    dps : int or None
        Working digits; None chooses them from the estimated cancellation (module doc).
    floor_digits : int
        F and F - m are guaranteed to 1e-20 relative to max(|value|, 10^-floor_digits M),
        M = max(|m|, |F0|) (or Kc/g when M = 0).

    Returns
    -------
    dict with lists of mpf 'F', 'ntk' (K(t)), 'residual' (F(t) - m), the mpf constants 'm',
    'F0', 'K0', 'Kc', 'Kinf' (= lim K(t), see module doc for Kc = 0), 'Finf', 'g', 'C', 'lam',
    and 'dps' (digits used), 'case' (str), 'degenerate' (Kc == 0).
    """
    times = [float(t) for t in times]
    for t in times:
        if not (math.isfinite(t) and t >= 0):
            raise ValueError(f"times must be finite and >= 0, got {t!r}")
    p = _mpf_inputs(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2)
    if dps is None:
        dps = _digits_needed(p, times, floor_digits)
    lo = _evaluate(p, times, dps)
    hi = _evaluate(p, times, dps + CHECK_EXTRA_DPS)
    with mpmath.workdps(dps + CHECK_EXTRA_DPS):
        rtol = mpmath.mpf(CHECK_RTOL)
        M = max(abs(hi["m"]), abs(hi["F0"]))
        if M == 0:
            M = hi["Kc"] / hi["g"] if hi["Kc"] > 0 else mpmath.mpf(1)
        floor = M * mpmath.mpf(10) ** (-floor_digits)
        checks = (("F", floor), ("residual", floor), ("ntk", hi["g"] * floor))
        for key, fl in checks:
            for i, (x, y) in enumerate(zip(lo[key], hi[key], strict=True)):
                if abs(x - y) > rtol * max(abs(y), fl):
                    raise ReferencePrecisionError(
                        f"{key}(t={times[i]!r}) differs between {dps} and {dps + CHECK_EXTRA_DPS} digits: "
                        f"{mpmath.nstr(x, 25)} vs {mpmath.nstr(y, 25)}; inputs kappa={kappa!r}, lr_u={lr_u!r}, "
                        f"lr_w={lr_w!r}, a={a!r}, b={b!r}, uu={uu!r}, ww={ww!r}, uw={uw!r}, d2={d2!r}"
                    )
    hi["dps"] = dps
    return hi


# ---------------------------------------------------------------------------------------------
# Every observable of the solver (the weights' norms, cosine and rotations too), and t = infinity.

OBSERVABLE_NAMES = ("F", "ntk", "ntk_plain", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w", "loss_excess")


def _observables_at(p, c, F, K, X):
    """The observables from the slope F, the NTK K and X = e^{2T} (spec D.4, D.6), naively:
    eta_w |u|^2 = (K/kappa^2 + C)/2 and eta_u |w|^2 = (K/kappa^2 - C)/2 (K and C are exact
    functions of the weights), cos = u.w/(|u||w|) with u.w = F/kappa, and the rotation of u from
    u0 from u(t) = cosh T u0 - sqrt(eta_u/eta_w) sinh T w0: its component along u0 is
    u(t).u0 = cosh T uu - r sinh T uw, the rest |r sinh T| sqrt(d2) (d2 = |u0 ^ w0|^2)."""
    kappa, lu, lw, uu, ww, uw, d2 = (p[k] for k in ("kappa", "lr_u", "lr_w", "uu", "ww", "uw", "d2"))
    Kk = K / kappa**2
    nu = (Kk + c["C"]) / 2 / lw
    nw = (Kk - c["C"]) / 2 / lu
    v = F / kappa
    prod = nu * nw
    cos = v / mpmath.sqrt(prod) if prod > 0 else mpmath.sign(v)
    rootX = mpmath.sqrt(X)
    ch, sh = (X + 1) / (2 * rootX), (X - 1) / (2 * rootX)
    r = mpmath.sqrt(lu / lw)
    # The rotations atan2(y, x), and (for error analysis) their arguments divided by the size
    # (|A| + |B|) of the two terms of x = A + B = e^T (uu - r uw)/2 + e^-T (uu + r uw)/2, the scale of
    # the rounding error of x in any evaluation from T.
    y_u, x_u = abs(r * sh) * mpmath.sqrt(d2), ch * uu - r * sh * uw
    y_w, x_w = abs(sh / r) * mpmath.sqrt(d2), ch * ww - sh / r * uw
    scale_u = (abs(rootX * (uu - r * uw)) + abs((uu + r * uw) / rootX)) / 2
    scale_w = (abs(rootX * (ww - uw / r)) + abs((ww + uw / r) / rootX)) / 2
    rot_u = mpmath.atan2(y_u, x_u) if uu > 0 else mpmath.nan
    rot_w = mpmath.atan2(y_w, x_w) if ww > 0 else mpmath.nan
    return dict(
        rot_u_args=(y_u / scale_u, x_u / scale_u) if uu > 0 else (mpmath.nan, mpmath.nan),
        rot_w_args=(y_w / scale_w, x_w / scale_w) if ww > 0 else (mpmath.nan, mpmath.nan),
        F=F,
        ntk=K,
        ntk_plain=kappa**2 * (nu + nw),
        norm_u2=nu,
        norm_w2=nw,
        cos_uw=cos,
        rot_u=rot_u,
        rot_w=rot_w,
        loss_excess=p["a"] * (F - c["m"]) ** 2 / 2,
    )


def _no_rotation(p, obs):
    """Kc = 0 means C = 0 and D = 0: u0 and w0 parallel with eta_w |u0|^2 = eta_u |w0|^2, so u(t) and w(t) stay
    positive multiples (e^{-+T}) of u0 and w0 (notebook 5) and neither rotates. The formula atan2(|B| D, A uu + B uw)
    agrees, except that it sees the last bit of the given uw, which need not equal +-sqrt(uu ww) exactly; the
    e^T of the collapse to F = 0 amplifies that bit without bound, so it is not used here."""
    obs.update(
        rot_u=mpmath.mpf(0) if p["uu"] > 0 else mpmath.nan,
        rot_w=mpmath.mpf(0) if p["ww"] > 0 else mpmath.nan,
        rot_u_args=(mpmath.mpf(0), mpmath.mpf(1)),
        rot_w_args=(mpmath.mpf(0), mpmath.mpf(1)),
    )
    return obs


def _evaluate_observables(p, times, dps):
    """All observables at `times` and at t = infinity, at `dps` digits (the y-form of spec D.3,
    e^{2T} = y0/y(t) with y = e^{asinh(g F/Kc)}, T = (psi0 - psi(t))/2; Kc = 0: e^{2T} = F0/F)."""
    with mpmath.workdps(dps):
        c = _constants(p)
        g, Kc, F0, m, a, Kinf = c["g"], c["Kc"], c["F0"], c["m"], c["a"], c["Kinf"]
        at, final = [], None
        if Kc > 0:
            lam, y0, yp, ym, R = _riccati(c)
            for t in times:
                E = mpmath.exp(-lam * mpmath.mpf(t))
                y = (yp - ym * R * E) / (1 - R * E)
                at.append(_observables_at(p, c, Kc * (y - 1 / y) / (2 * g), Kc * (y + 1 / y) / 2, y0 / y))
            final = _observables_at(p, c, m, Kinf, y0 / yp)
        else:
            sgn = mpmath.sign(F0)
            for t in times:
                t = mpmath.mpf(t)
                if F0 == 0:
                    F = mpmath.mpf(0)
                elif m == 0:
                    F = F0 / (1 + a * g * abs(F0) * t)
                else:
                    F = m * F0 / (F0 + (m - F0) * mpmath.exp(-a * g * sgn * m * t))
                at.append(_no_rotation(p, _observables_at(p, c, F, g * abs(F), F0 / F if F0 != 0 else mpmath.mpf(1))))
            if m * F0 > 0:
                final = _no_rotation(p, _observables_at(p, c, m, g * abs(m), F0 / m))
            else:  # F -> 0 and K = g|F| -> 0: the weights collapse to 0 along u0 and w0 (no rotation)
                final = dict(
                    rot_u_args=(mpmath.mpf(0), mpmath.mpf(1)),
                    rot_w_args=(mpmath.mpf(0), mpmath.mpf(1)),
                    F=mpmath.mpf(0),
                    ntk=mpmath.mpf(0),
                    ntk_plain=mpmath.mpf(0),
                    norm_u2=mpmath.mpf(0),
                    norm_w2=mpmath.mpf(0),
                    cos_uw=sgn,
                    rot_u=mpmath.mpf(0) if p["uu"] > 0 else mpmath.nan,
                    rot_w=mpmath.mpf(0) if p["ww"] > 0 else mpmath.nan,
                    loss_excess=a * m**2 / 2,
                )
        return {name: [o[name] for o in at] for name in OBSERVABLE_NAMES + ("rot_u_args", "rot_w_args")}, final


def _agree(x, y, bound) -> bool:
    """|x - y| <= bound, or both NaN."""
    if mpmath.isnan(x) or mpmath.isnan(y):
        return bool(mpmath.isnan(x) and mpmath.isnan(y))
    return bool(abs(x - y) <= bound)


def observables(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2, times, dps=None, floor_digits=100) -> dict:
    """Every observable of ``phasefl.solve_batch`` (F, ntk, ntk_plain, norm_u2, norm_w2, cos_uw,
    rot_u, rot_w, loss_excess) at ``times`` and at t = infinity, in verified arbitrary precision.

    The same naive y-form as ``reference`` (whose F and NTK it reproduces), plus the weights of
    spec D.4 through T; no stable rewrite. Precision: ``reference``'s estimate plus the digits
    that cosh T uu - r sinh T uw can lose (up to log10 e^{2T}); the result
    is verified by a rerun with 30 more digits (1e-20 relative, or absolute below the floor
    10^-floor_digits of the observable's scale: max(|m|, |F0|) for F, a max(|m|, |F0|)^2 for
    the loss, the final value for the NTK and norms, 1 for the angles). If the two runs disagree the
    digits are doubled, up to 4000, then ReferencePrecisionError.

    Returns a dict: a list of mpf per observable name, 'final' (a dict of mpf at t = infinity)
    and 'dps'.
    """
    times = [float(t) for t in times]
    for t in times:
        if not (math.isfinite(t) and t >= 0):
            raise ValueError(f"times must be finite and >= 0, got {t!r}")
    p = _mpf_inputs(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2)
    if dps is None:
        dps = _digits_needed(p, times, floor_digits)
        with mpmath.workdps(40):
            c = _constants(p)
            if c["Kc"] > 0:  # log10 of e^{2T} at t = infinity, and of the cancellation in K/kappa^2 + C
                y0 = mpmath.exp(mpmath.asinh(c["g"] * c["F0"] / c["Kc"]))
                gm = c["g"] * c["m"]
                yp = (gm + c["Kinf"]) / c["Kc"] if gm >= 0 else c["Kc"] / (c["Kinf"] - gm)
                dps += int(math.ceil(abs(_log10_abs(y0 / yp))))
    while True:
        lo, lo_final = _evaluate_observables(p, times, dps)
        hi, hi_final = _evaluate_observables(p, times, dps + CHECK_EXTRA_DPS)
        with mpmath.workdps(dps + CHECK_EXTRA_DPS):
            rtol = mpmath.mpf(CHECK_RTOL)
            c = _constants(p)
            M = max(abs(c["m"]), abs(c["F0"]))
            if M == 0:
                M = c["Kc"] / c["g"] if c["Kc"] > 0 else mpmath.mpf(1)
            tiny = mpmath.mpf(10) ** (-floor_digits)
            scale = dict(
                F=M,
                loss_excess=p["a"] * M**2,
                ntk=c["g"] * M,
                ntk_plain=c["g"] * M,
                norm_u2=c["g"] * M / p["kappa"] ** 2 / p["lr_w"],
                norm_w2=c["g"] * M / p["kappa"] ** 2 / p["lr_u"],
                cos_uw=1,
                rot_u=1,
                rot_w=1,
            )

            ok = all(
                _agree(x, y, rtol * max(abs(y), tiny * scale[name]))
                for name in OBSERVABLE_NAMES
                for x, y in zip(lo[name] + [lo_final[name]], hi[name] + [hi_final[name]], strict=True)
            )
        if ok:
            break
        if dps > 4000:
            raise ReferencePrecisionError(
                f"observables differ between {dps} and {dps + CHECK_EXTRA_DPS} digits; inputs kappa={kappa!r}, "
                f"lr_u={lr_u!r}, lr_w={lr_w!r}, a={a!r}, b={b!r}, uu={uu!r}, ww={ww!r}, uw={uw!r}, d2={d2!r}"
            )
        dps *= 2
    hi["final"] = hi_final
    hi["dps"] = dps
    return hi
