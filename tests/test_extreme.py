"""Randomized extreme configurations of the closed form against the verified mpmath reference.

Requirement (issue, verbatim): "with output scale, both init scales and both rates anywhere in
[1e-8, 1e8], widths from 1 to 1e12 and targets of either sign or zero, there is no NaN or inf,
and F (relative to max(|m|, |F0|)) and the NTK agree with a 50-digit mpmath evaluation of the
same closed form to 1e-9 at every time."

The reference is tests/reference_mpmath.py: the naive Riccati y-form of spec D.3 evaluated with
at least 50 significant digits *after* the cancellations it suffers (adaptive precision, checked
by a rerun with 30 more digits).  Each configuration gets its own time grid: t = 0, ~40
log-spaced times from 1e-4/(a max(K0, Kinf)) to 1e3 x the slowest time scale, the times at which
F has covered 1%, 10%, 50%, 90% and 99% of the way from F0 to its limit (from the exact inverse
t(F), so the plateau, the transition and the convergence are all sampled even when the
transition is a narrow sigmoid after a long plateau), and a few multiples of 1/(a Kinf).
"""

from __future__ import annotations

import functools
import math
import re
from typing import NamedTuple

import mpmath
import numpy as np
import pytest
from reference_mpmath import reference

SEED = 20240113
N_RANDOM = 300
RTOL = 1e-9
TINY = np.finfo(float).tiny  # below this a float64 result can only be 0 or subnormal


class Config(NamedTuple):
    label: str
    kappa: float
    lr_u: float
    lr_w: float
    a: float
    b: float
    uu: float
    ww: float
    uw: float
    d2: float
    width: float = float("nan")  # provenance only (nan: Gram numbers set by hand)
    init_scale_u: float = float("nan")
    init_scale_w: float = float("nan")

    def args(self):
        return (self.kappa, self.lr_u, self.lr_w, self.a, self.b, self.uu, self.ww, self.uw, self.d2)

    def describe(self) -> str:
        return (
            f"{self.label}: output_scale={self.kappa!r}, lr_u={self.lr_u!r}, lr_w={self.lr_w!r}, "
            f"x_var={self.a!r}, xy_cov={self.b!r} (m={self.b / self.a!r}), uu={self.uu!r}, ww={self.ww!r}, "
            f"uw={self.uw!r}, d2={self.d2!r}, width={self.width!r}, init_scale_u={self.init_scale_u!r}, "
            f"init_scale_w={self.init_scale_w!r}"
        )


def _api():
    # Imported here, not at module level, so that a missing solver fails the tests (not collection).
    from phasefl import sample_gram, solve_batch

    return solve_batch, sample_gram


@functools.cache
def random_configs() -> tuple[Config, ...]:
    _, sample_gram = _api()
    rng = np.random.default_rng(SEED)
    n = N_RANDOM

    def logu(lo, hi, size=n):
        return 10.0 ** rng.uniform(lo, hi, size)

    kappa, s_u, s_w, lr_u, lr_w = logu(-8, 8, (5, n))
    width = np.rint(logu(0, 12))
    width[:8] = 1.0
    width[8:16] = 1e12
    a = np.where(rng.random(n) < 0.3, logu(-3, 3), 1.0)
    kind = rng.integers(0, 5, n)  # 0: zero target, 1-2: positive, 3-4: negative
    m = np.where(kind == 0, 0.0, np.where(kind <= 2, 1.0, -1.0) * logu(-3, 3))
    gram = sample_gram(width, s_u, s_w, seed=SEED)
    out = []
    for i in range(n):
        out.append(
            Config(
                f"random[{i}]",
                float(kappa[i]),
                float(lr_u[i]),
                float(lr_w[i]),
                float(a[i]),
                float(a[i] * m[i]),
                float(gram.uu[i]),
                float(gram.ww[i]),
                float(gram.uw[i]),
                float(gram.d2[i]),
                float(width[i]),
                float(s_u[i]),
                float(s_w[i]),
            )
        )
    return tuple(out)


def _sampled(label, kappa, lr_u, lr_w, a, m, width, s_u, s_w, seed):
    _, sample_gram = _api()
    g = sample_gram(width, s_u, s_w, seed=seed)
    return Config(
        label, kappa, lr_u, lr_w, a, a * m, float(g.uu), float(g.ww), float(g.uw), float(g.d2), float(width), s_u, s_w
    )


@functools.cache
def edge_configs() -> tuple[Config, ...]:
    c = []
    # width 1: d2 = 0, Kc = kappa^2 |C| > 0
    for i, (kappa, s, m) in enumerate([(1.0, 1e-3, 1.0), (1e-8, 1e8, -1e3), (1e8, 1e-8, 1e-3), (1e-3, 1.0, 0.0)]):
        c.append(_sampled(f"width 1 #{i}", kappa, 1.0, 3.0, 1.0, m, 1.0, s, 2 * s, seed=i))
    # aligned, balanced init: d2 = 0 and C = 0, so Kc = 0 (degenerate, K = g|F|, logistic)
    for sign_uw in (1.0, -1.0):
        for m in (2.0, -2.0, 0.0):
            for x, kappa, lr in ((1e-4, 1.0, 1.0), (1e4, 1.0, 1.0), (1e-16, 1e-8, 1e8), (1e16, 1e8, 1e-8)):
                c.append(
                    Config(
                        f"aligned balanced Kc=0 (uw {'+' if sign_uw > 0 else '-'}, m={m}, x={x})",
                        kappa,
                        lr,
                        lr,
                        1.0,
                        m,
                        x,
                        x,
                        sign_uw * x,
                        0.0,
                    )
                )
    # C = 0 with unequal rates (lr_u uu ... eta_w uu = eta_u ww), still parallel: Kc = 0
    c.append(Config("aligned, unequal rates, C=0", 0.25, 4.0, 1.0, 2.0, 6.0, 4.0, 1.0, 2.0, 0.0))
    c.append(Config("aligned, unequal rates, C=0, opposite", 0.25, 4.0, 1.0, 2.0, -6.0, 4.0, 1.0, 2.0, 0.0))
    # zero output layer (uu = uw = d2 = 0) and zero hidden layer: F0 = 0
    for m in (1.0, -1e3, 0.0):
        c.append(Config(f"zero output layer, m={m}", 1e-3, 1.0, 1.0, 1.0, m, 0.0, 1e3, 0.0, 0.0))
        c.append(Config(f"zero output layer, tiny, m={m}", 1e-8, 1e8, 1e-8, 1.0, m, 0.0, 1e-4, 0.0, 0.0))
        c.append(Config(f"zero hidden layer, m={m}", 1e4, 1e-8, 1e8, 1.0, m, 1e12, 0.0, 0.0, 0.0))
    # orthogonal init: uw = 0, d2 = uu ww
    for m, lr_w in ((1.0, 1.0), (-3.0, 1e6), (0.0, 1e-6)):
        c.append(Config(f"orthogonal init, m={m}, lr_w={lr_w}", 1e-2, 1.0, lr_w, 1.0, m, 2.0, 3.0, 0.0, 6.0))
    # large init, F0 >> m (disalignment; NTK decreases), same and opposite signs, and F0 = m exactly
    c.append(_sampled("large init F0 >> m", 1.0, 1.0, 1.0, 1.0, 1e-3, 10.0, 1e4, 1e4, seed=11))
    c.append(_sampled("large init F0 >> -m", 1.0, 1.0, 1.0, 1.0, -1e-3, 10.0, 1e4, 1e4, seed=11))
    c.append(_sampled("huge init F0 >> m, extreme", 1e8, 1e8, 1e8, 1.0, 1e-3, 3.0, 1e8, 1e8, seed=12))
    c.append(Config("F0 = m exactly (fixed point)", 1.0, 1.0, 1.0, 1.0, 0.5, 2.0, 3.0, 0.5, 5.75))
    # deep kernel regime: g|F|/Kc < 1e-20 (strong imbalance, huge output scale)
    for m in (1e3, -1e-3):
        c.append(_sampled(f"deep kernel g|F|/Kc < 1e-20, m={m}", 1e8, 1e-8, 1e8, 1.0, m, 1e12, 1e8, 1e-8, seed=13))
    c.append(
        _sampled("deep kernel, balanced NTK param, width 1e12", 1e-6, 1.0, 1.0, 1.0, 1e-3, 1e12, 1e4, 1e4, seed=14)
    )
    # small init, Kc << g|m|: long plateau, then a sharp sigmoid
    c.append(_sampled("small init, Kc << g|m|", 1e-8, 1e8, 1e8, 1.0, 1e3, 1.0, 1e-8, 1e-8, seed=15))
    c.append(_sampled("small init, opposite signs", 1.0, 1.0, 1.0, 1.0, -1.0, 10.0, 1e-8, 1e-8, seed=16))
    c.append(_sampled("mean field width 1e8", 1e-8, 1.0, 1.0, 1.0, 1.0, 1e8, 1.0, 1.0, seed=17))
    c.append(_sampled("muP width 1e8", 1.0, 1e-8, 1e8, 1.0, -1.0, 1e8, 1e-8, 1.0, seed=18))
    # nearly parallel, balanced (C = 0, tiny d2): Kc = 2 sqrt(d2) far below g|F0| = 2
    c.append(Config("nearly parallel, Kc 2e-75, opposite signs", 1.0, 1.0, 1.0, 1.0, -2.0, 1.0, 1.0, 1.0, 1e-150))
    c.append(Config("nearly parallel, Kc 2e-150, same signs", 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1e-300))
    return tuple(c)


def _transition_times(cfg: Config) -> list[float]:
    """Exact times at which F has covered 1%...99% of the way from F0 to its limit (spec D.3 t(F))."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = [mpmath.mpf(v) for v in cfg.args()]
    out = []
    with mpmath.workdps(400):
        g = 2 * kappa * mpmath.sqrt(lr_u * lr_w)
        Kc = kappa**2 * mpmath.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4 * lr_u * lr_w * d2)
        F0, m = kappa * uw, b / a
        Kinf = mpmath.sqrt(Kc**2 + g**2 * m**2)
        if Kc > 0:

            def t_of(F):
                def G(F):
                    K = mpmath.sqrt(Kc**2 + g**2 * F**2)
                    return mpmath.log(abs((Kc**2 + g**2 * m * F + Kinf * K) / (F - m))) / (a * Kinf)

                return G(F) - G(F0)

            target = m
        elif m == 0:

            def t_of(F):
                return (F0 / F - 1) / (a * g * abs(F0))

            target = mpmath.mpf(0)
        else:

            def t_of(F):
                E = (m * F0 / F - F0) / (m - F0)
                return -mpmath.log(E) / (a * g * mpmath.sign(F0) * m)

            target = m if m * F0 > 0 else mpmath.mpf(0)
        if (F0 == 0 and Kc == 0) or F0 == target:
            return []
        for frac in ("0.01", "0.1", "0.5", "0.9", "0.99"):
            F = F0 + mpmath.mpf(frac) * (target - F0)
            try:
                t = t_of(F)
            except (ZeroDivisionError, ValueError):
                continue
            if mpmath.isfinite(t) and t > 0:
                out.append(float(t))
    return out


def time_grid(cfg: Config) -> np.ndarray:
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = cfg.args()
    g = 2.0 * kappa * math.sqrt(lr_u * lr_w)
    Kc = kappa**2 * math.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4.0 * lr_u * lr_w * d2)
    F0, m = kappa * uw, b / a
    K0, Kinf = math.hypot(Kc, g * F0), math.hypot(Kc, g * m)
    slow = [1.0 / (a * Kinf)] if Kinf > 0 else []
    # (for Kc = 0 these use the spec's Kinf = g|m|, which is the rate a g|m| of the logistic
    # even in the m F0 < 0 case, where K itself tends to 0)
    if m != 0 and Kc > 0 and g * abs(m) > Kc:  # small-init learning time (spec D.5)
        slow.append((math.log(g * abs(m) / Kc) + 1.0) / (a * g * abs(m)))
    if m != 0 and Kc == 0 and F0 != 0:  # logistic: ln(|m|/|F0|) e-folds at rate a g|m|
        slow.append((abs(math.log(abs(m) / abs(F0))) + 1.0) / (a * g * abs(m)))
    if Kc == 0 and F0 != 0:  # algebraic decay F0 / (1 + a g|F0| t) when m = 0
        slow.append(1.0 / (a * g * abs(F0)))
    trans = _transition_times(cfg)
    t_slow = max(slow + trans)
    t_fast = 1e-4 / (a * max(K0, Kinf))
    times = [0.0, *np.geomspace(t_fast, 1e3 * t_slow, 40), *trans]
    if Kinf > 0:
        times += [c / (a * Kinf) for c in (1.0, 3.0, 10.0, 30.0)]
    return np.unique(np.array(times, dtype=float))


class Ref(NamedTuple):
    times: np.ndarray
    F: np.ndarray
    ntk: np.ndarray
    residual: np.ndarray
    loss: np.ndarray  # (a/2) residual^2, evaluated in mpmath then rounded
    M: float  # max(|m|, |F0|), or Kc/g if both vanish: the scale F errors are measured in
    F_inf: float
    K_inf: float
    dps: int


@functools.cache
def reference_for(cfg: Config) -> Ref:
    times = time_grid(cfg)
    r = reference(*cfg.args(), list(times))
    with mpmath.workdps(r["dps"]):
        M = max(abs(r["m"]), abs(r["F0"]))
        if M == 0:
            M = r["Kc"] / r["g"]
        loss = [float(mpmath.mpf(cfg.a) / 2 * x**2) for x in r["residual"]]
    return Ref(
        times,
        np.array([float(x) for x in r["F"]]),
        np.array([float(x) for x in r["ntk"]]),
        np.array([float(x) for x in r["residual"]]),
        np.array(loss),
        float(M),
        float(r["Finf"]),
        float(r["Kinf"]),
        r["dps"],
    )


def _check(configs) -> None:
    """Solve each configuration on its own grid; collect every failure; report the worst ones."""
    solve_batch, _ = _api()
    failures = []
    worst = {"F": (0.0, None), "ntk": (0.0, None), "loss_excess": (0.0, None)}
    for cfg in configs:
        ref = reference_for(cfg)
        traj = solve_batch(*cfg.args(), ref.times)
        F, K, L = (np.asarray(getattr(traj, k), dtype=float) for k in ("F", "ntk", "loss_excess"))
        for name, arr in (("F", F), ("ntk", K), ("loss_excess", L)):
            if arr.shape != ref.times.shape:
                failures.append(f"{name} has shape {arr.shape}, expected {ref.times.shape}; {cfg.describe()}")
                return _report(failures, worst)
            if not np.all(np.isfinite(arr)):
                i = int(np.flatnonzero(~np.isfinite(arr))[0])
                failures.append(f"{name}(t={ref.times[i]!r}) = {arr[i]!r} not finite; {cfg.describe()}")
        # F relative to M = max(|m|, |F0|); K relative to itself (K >= Kc > 0 unless Kc = 0, where
        # K = g|F| may decay to 0 and underflow: the absolute slack TINY covers that only).
        err = {
            "F": np.abs(F - ref.F) / (RTOL * ref.M),
            "ntk": np.abs(K - ref.ntk) / (RTOL * ref.ntk + TINY),
            # Loss tolerance from first-order error propagation: a solver whose F is within
            # dF = 1e-9 M of the truth (the F requirement) has loss (a/2)(r + dF)^2, r = F_ref - m,
            # so |dL| <= a |r| dF + (a/2) dF^2. The float64 product (a/2) r^2 adds a few ulps
            # (4 eps L_ref) and can underflow (TINY).
            "loss_excess": np.abs(L - ref.loss)
            / (
                cfg.a * np.abs(ref.residual) * RTOL * ref.M
                + cfg.a / 2 * (RTOL * ref.M) ** 2
                + 4 * np.finfo(float).eps * ref.loss
                + TINY
            ),
        }
        got = {"F": F, "ntk": K, "loss_excess": L}
        want = {"F": ref.F, "ntk": ref.ntk, "loss_excess": ref.loss}
        for name, ratio in err.items():
            ratio = np.where(np.isfinite(ratio), ratio, np.inf)
            i = int(np.argmax(ratio))
            where = (
                f"t={ref.times[i]!r}: solver {name}={got[name][i]!r}, reference {want[name][i]!r} "
                f"(reference residual {ref.residual[i]!r}, M={ref.M!r}, reference dps {ref.dps}); "
                f"{cfg.describe()}"
            )
            if worst[name][1] is None or ratio[i] > worst[name][0]:
                worst[name] = (float(ratio[i]), where)
            if ratio[i] > 1.0:
                failures.append(f"{name}: error {ratio[i]:.3g} x tolerance at {where}")
    _report(failures, worst)


def _report(failures, worst) -> None:
    summary = "\n".join(
        f"  worst {name}: {w[0]:.3g} x tolerance (tolerance: {RTOL:g} relative) at {w[1]}"
        for name, w in worst.items()
        if w[1] is not None
    )
    assert not failures, f"{len(failures)} failure(s); first 10:\n  " + "\n  ".join(failures[:10]) + f"\n{summary}"


def test_random_extreme_configurations_match_mpmath_reference():
    _check(random_configs())


def test_edge_configurations_match_mpmath_reference():
    _check(edge_configs())


def test_final_state_matches_limits():
    """traj.final (t = infinity): F -> m and K -> Kinf; in the degenerate Kc = 0 case with
    m F0 < 0 (or F0 = 0) the flow is stuck at F = 0 with K = 0, and with m = 0 it decays to 0."""
    solve_batch, _ = _api()
    bad = []
    for cfg in random_configs() + edge_configs():
        ref = reference_for(cfg)
        final = solve_batch(*cfg.args(), ref.times[:1]).final
        F, K, L = (float(np.asarray(getattr(final, k))) for k in ("F", "ntk", "loss_excess"))
        m = cfg.b / cfg.a
        L_ref = cfg.a / 2 * (ref.F_inf - m) ** 2
        if not (
            abs(F - ref.F_inf) <= RTOL * ref.M
            and abs(K - ref.K_inf) <= RTOL * ref.K_inf + TINY
            and abs(L - L_ref) <= RTOL * cfg.a * ref.M * abs(ref.F_inf - m) + cfg.a / 2 * (RTOL * ref.M) ** 2
        ):
            bad.append(
                f"final F={F!r}, ntk={K!r}, loss_excess={L!r}; expected F={ref.F_inf!r}, "
                f"ntk={ref.K_inf!r}, loss_excess={L_ref!r}; {cfg.describe()}"
            )
    assert not bad, f"{len(bad)} failure(s); first 10:\n  " + "\n  ".join(bad[:10])


def test_batched_call_is_finite_at_any_time_and_matches_scalar_calls():
    """All random configurations in one call (cell shape (N,)), on a common grid 0, 1e-30 ... 1e30:
    no NaN/inf at any time, shapes S + (T,), and the same numbers as one call per configuration."""
    solve_batch, _ = _api()
    cfgs = random_configs() + edge_configs()
    cols = [np.array(col, dtype=float) for col in zip(*(c.args() for c in cfgs), strict=True)]
    times = np.concatenate([[0.0], np.geomspace(1e-30, 1e30, 31)])
    traj = solve_batch(*cols, times)
    for name in ("F", "ntk", "loss_excess"):
        arr = np.asarray(getattr(traj, name))
        assert arr.shape == (len(cfgs), len(times)), (name, arr.shape)
        bad = np.argwhere(~np.isfinite(arr))
        assert bad.size == 0, (
            f"{name} not finite for {len(bad)} (cell, time) pairs, e.g. t={times[bad[0][1]]!r}: "
            f"{cfgs[bad[0][0]].describe()}"
        )
    for name in ("F", "ntk"):
        assert np.asarray(getattr(traj.final, name)).shape == (len(cfgs),)
    for i in range(0, len(cfgs), 7):
        one = solve_batch(*cfgs[i].args(), times)
        M = reference_for(cfgs[i]).M
        np.testing.assert_allclose(np.asarray(traj.F)[i], one.F, rtol=0, atol=1e-12 * M, err_msg=cfgs[i].describe())
        np.testing.assert_allclose(np.asarray(traj.ntk)[i], one.ntk, rtol=1e-12, atol=TINY, err_msg=cfgs[i].describe())


def test_time_grids_cover_plateau_transition_and_convergence():
    """Self-check of the grids: every configuration that moves is sampled near its start
    (< 5% of the way from F0 to the limit), in the transition (20%-80%) and converged (> 99%)."""
    bad = []
    for cfg in random_configs() + edge_configs():
        ref = reference_for(cfg)
        F0 = ref.F[0]
        if ref.F_inf == F0:
            continue
        progress = (ref.F[1:] - F0) / (ref.F_inf - F0)
        if not (progress.min() < 0.05 and np.any((progress > 0.2) & (progress < 0.8)) and progress.max() > 0.99):
            bad.append(f"progress {np.round(progress, 3).tolist()}; {cfg.describe()}")
    assert not bad, "\n".join(bad[:5])


def test_y0_and_y_plus_of_nearly_parallel_cells_against_mpmath():
    """The time program's cell constants y0 = e^asinh(g F0/Kc), y+ = e^asinh(g m/Kc) and y0 - y+ where they reach
    1e+-162 (d2 = 1e-300 and 5e-324, opposite signs: 1 + psi0_arg = y0/y+ overflows and y0 - y+ is the plain
    difference) and where y0 - y+ comes from psi0_arg (same signs, F0 close to m: the difference would cancel)."""
    from phasefl._generated.closed_form import CONSTANTS
    from phasefl.kernels import column_constants

    cells = [
        Config("nearly parallel, Kc 2e-150, opposite signs", 1.0, 1.0, 1.0, 1.0, -2.0, 1.0, 1.0, 1.0, 1e-300),
        Config("nearly parallel, d2 = 5e-324, opposite signs", 1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, -1.0, 5e-324),
        Config(
            "nearly parallel, same signs, F0 = m (1 - 1e-12)", 1.0, 1.0, 1.0, 1.0, 1.0 - 1e-12, 1.0, 1.0, 1.0, 1e-200
        ),
    ]
    for cfg in cells:
        c = column_constants(np.array(cfg.args(), dtype=float)[:, None], 0)
        got = {k: c[CONSTANTS.index(k)] for k in ("y0", "y_plus", "dy0", "psi0_arg")}
        with mpmath.workdps(60):
            kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = (mpmath.mpf(x) for x in cfg.args())
            s_ = mpmath.sqrt(lr_u * lr_w)
            g = 2 * kappa * s_
            kc = kappa**2 * mpmath.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4 * s_**2 * d2)
            y0, yp = mpmath.exp(mpmath.asinh(g * kappa * uw / kc)), mpmath.exp(mpmath.asinh(g * (b / a) / kc))
            want = {"y0": float(y0), "y_plus": float(yp), "dy0": float(y0 - yp)}
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-13), (k, cfg.describe())
    assert not got["psi0_arg"] > 1  # the last cell takes y0 - y+ from psi0_arg
    c = column_constants(np.array(cells[0].args(), dtype=float)[:, None], 0)
    assert c[CONSTANTS.index("psi0_arg")] > 1e300  # the first one from the plain difference


# ------------------------------------------------------------------------------------------------
# Nearly parallel and anti-parallel initial vectors: every observable, at every time and at t = inf.
#
# With u0 and w0 parallel up to d2 = |u0|^2 |w_perp|^2 and balanced layers (C = 0), Kc = 2 kappa^2 s sqrt(d2),
# so the Riccati variable y = e^asinh(g F/Kc) runs between ~1/sqrt(d2) and ~sqrt(d2). The product form of
# the previous kernels multiplied two factors of size ~d2 and overflowed 1/(n+ n-) (F0 m < 0: F = +-inf and
# K = nan from t ~ 72 at d2 = 1e-200, t ~ 5 at 1e-300, at t = 0 below 1e-308); its rotations took a
# difference of two numbers of size e^T ~ 1/sqrt(d2) (all digits lost once d2 < 1e-32); its norms and
# cosine squared v = F/kappa (underflow once |v| < 1e-154, e.g. as F decays to 0 in the degenerate case).
#
# Tolerance PARALLEL_TOL, justified by the error budget of float64 evaluation from the exact inputs:
# every term of the time program is a product or a sum of non-negative terms (a few roundings, ~1e-15),
# except the argument lambda t + ln E* of the one exp/expm1, whose absolute rounding error eps (lambda t +
# |ln E*|) <= 745 eps ~ 2e-13 (beyond that E is negligible) is the relative error of E. 1e-12 leaves a
# factor of 5 over the worst case measured on these cells and on 1250 random nearly parallel ones
# (2e-13, the NTK at lambda t ~ 700). It applies to F (relative to max(|m|, |F0|), as the 1e-9 above),
# to the NTK (relative), to the excess loss (propagated as above), and to e^T, sinh T (relative) and the
# size of the two terms of the rotation's x argument. The other observables are functions of these with
# no further cancellation, so their tolerance is the interval those tolerances allow (see _allowed):
# norms and cosine depend on v = F/kappa, whose absolute tolerance is wide relative to v near a zero of F
# (there the cosine flips from +-1 to -+1 in a window of width ~sqrt(d2)); the rotations atan2(y, x) are
# undetermined where the true x is within the rounding of its two terms of 0 (u or w passes near the
# origin, or x -> 0 as t -> inf when m = 0 and the layers are unbalanced: there the angle is decided by
# digits beyond float64, and the test accepts any value in the box).
PARALLEL_TOL = 1e-12
PARALLEL_D2 = (1e-100, 1e-150, 1e-200, 1e-300, 1e-310, 1e-320, 5e-324, 0.0)
#: (kappa, lr_u, lr_w, uu, ww): balanced (C = 0) with sqrt(eta_u/eta_w) = 1, 2 and 1/sqrt(3), and unbalanced
PARALLEL_GEOMETRIES = {
    "balanced": (1.0, 1.0, 1.0, 1.0, 1.0),
    "balanced, eta_u = 4 eta_w": (0.5, 4.0, 1.0, 4.0, 1.0),
    "balanced, eta_w = 3 eta_u, small init": (2.0, 1.0, 3.0, 1e-3, 3e-3),
    "unbalanced, C = -3": (1.0, 1.0, 1.0, 1.0, 4.0),
}
#: m/F0: the target against the initial slope (negative: opposite signs, F crosses 0)
PARALLEL_TARGETS = (-2.0, 2.0, 0.0, -1e-3, -1e3)


@functools.cache
def parallel_configs(geometry: str) -> tuple[Config, ...]:
    kappa, lr_u, lr_w, uu, ww = PARALLEL_GEOMETRIES[geometry]
    out = []
    for d2 in PARALLEL_D2:
        for sign in (1.0, -1.0):
            uw = sign * math.sqrt(uu * ww)
            for ratio in PARALLEL_TARGETS:
                m = ratio * kappa * uw
                label = f"{geometry}, {'parallel' if sign > 0 else 'anti-parallel'}, d2={d2!r}, m/F0={ratio!r}"
                out.append(Config(label, kappa, lr_u, lr_w, 1.0, m, uu, ww, uw, d2))
    return tuple(out)


class ObsRef(NamedTuple):
    times: np.ndarray
    at: dict  # name -> array over times (every observable, and the rotations' normalized atan2 arguments)
    final: dict  # name -> float at t = infinity
    M: float  # max(|m|, |F0|), or Kc/g if both vanish
    C: float
    s: float
    residual: np.ndarray  # F - m at the times
    dps: int


def _parallel_times(cfg: Config) -> np.ndarray:
    """time_grid, extended by log-spaced times to 1e6 x its slowest time scale (up to 1e6/(a K_inf) or later)."""
    grid = time_grid(cfg)
    pos = grid[grid > 0]
    return np.unique(np.concatenate([grid, np.geomspace(pos.min(), pos.max() * 1e3, 12)]))


@functools.cache
def observables_reference_for(cfg: Config, final_only: bool = False, times: tuple | None = None) -> ObsRef:
    """The mpmath reference of every observable at ``times`` (default: _parallel_times) and at infinity."""
    from reference_mpmath import OBSERVABLE_NAMES, observables

    times = np.array([0.0]) if final_only else _parallel_times(cfg) if times is None else np.array(times)
    r = observables(*cfg.args(), list(times))
    with mpmath.workdps(r["dps"]):
        kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = (mpmath.mpf(x) for x in cfg.args())
        m, F0 = b / a, kappa * uw
        M = max(abs(m), abs(F0))
        if M == 0:
            s_ = mpmath.sqrt(lr_u * lr_w)
            M = kappa * mpmath.sqrt((lr_w * uu - lr_u * ww) ** 2 + 4 * s_**2 * d2) / (2 * s_)  # Kc/g
        names = OBSERVABLE_NAMES + ("rot_u_args", "rot_w_args")

        def floats(x):
            return (
                tuple(np.array([float(v) for v in q]) for q in zip(*x))
                if isinstance(x[0], tuple)
                else np.array([float(v) for v in x])
            )

        return ObsRef(
            times,
            {k: floats(r[k]) for k in names},
            {
                k: (
                    tuple(float(v) for v in r["final"][k]) if isinstance(r["final"][k], tuple) else float(r["final"][k])
                )
                for k in names
            },  # fmt: skip
            float(M),
            float(lr_w * uu - lr_u * ww),
            float(mpmath.sqrt(lr_u * lr_w)),
            np.array([float(F - m) for F in r["F"]]),
            r["dps"],
        )


def _small_norm(s, v, root_d2, Kk, abs_c):
    """2 s^2 (v^2 + d2)/(Kk + |C|), the smaller layer's eta-weighted squared norm, without underflow."""
    sv = s * np.hypot(v, root_d2)
    return 2 * sv * (sv / (Kk + abs_c))


def _allowed(cfg: Config, ref: ObsRef, tol: float, final: bool) -> dict:
    """name -> (reference value, half-width of the accepted interval), at the times or at t = infinity:
    F within tol M, K within tol K, and the other observables anywhere that these (and the rotation's
    arguments within tol of their scale) allow, plus tol of their own value (rounding) and TINY."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = cfg.args()
    R = ref.final if final else ref.at
    F, K = np.atleast_1d(R["F"]), np.atleast_1d(R["ntk"])
    residual = F - b / a if final else ref.residual
    out = {
        "F": (F, tol * ref.M + 0 * F),
        "ntk": (K, tol * K + TINY),
        "loss_excess": (
            np.atleast_1d(R["loss_excess"]),
            a * np.abs(residual) * tol * ref.M
            + a / 2 * np.square(np.float64(tol * ref.M))  # (inf, not OverflowError, where the loss overflows)
            + 4 * np.finfo(float).eps * np.atleast_1d(R["loss_excess"])
            + TINY,
        ),  # fmt: skip
    }

    def half_width(want, lo, hi):
        return np.maximum(want - lo, hi - want) + tol * np.abs(want) + TINY

    v, dv, Kk, root_d2, abs_c = F / kappa, tol * ref.M / kappa, K / kappa**2, math.sqrt(d2), abs(ref.C)
    v_lo, v_hi = np.maximum(0.0, np.abs(v) - dv), np.abs(v) + dv
    big = ((Kk * (1 - tol) + abs_c) / 2, (Kk * (1 + tol) + abs_c) / 2)
    small = (
        _small_norm(ref.s, v_lo, root_d2, Kk * (1 + tol), abs_c),
        _small_norm(ref.s, v_hi, root_d2, Kk * (1 - tol), abs_c),
    )
    eu, ew = (
        (big, small) if ref.C > 0 else (small, big) if ref.C < 0 else ((Kk * (1 - tol) / 2, Kk * (1 + tol) / 2),) * 2
    )
    for name, (lo, hi) in (("norm_u2", (eu[0] / lr_w, eu[1] / lr_w)), ("norm_w2", (ew[0] / lr_u, ew[1] / lr_u))):
        want = np.atleast_1d(R[name])
        out[name] = (want, half_width(want, lo, hi))
    plain = np.atleast_1d(R["ntk_plain"])
    out["ntk_plain"] = (
        plain,
        half_width(plain, kappa**2 * (eu[0] / lr_w + ew[0] / lr_u), kappa**2 * (eu[1] / lr_w + ew[1] / lr_u)),
    )

    def cos_of(x):
        h = np.hypot(x, root_d2)
        return np.where(h > 0, x / np.where(h > 0, h, 1.0), np.sign(x))

    cos = np.atleast_1d(R["cos_uw"])
    out["cos_uw"] = (cos, half_width(cos, cos_of(v - dv), cos_of(v + dv)))
    for name in ("rot_u", "rot_w"):
        want = np.atleast_1d(R[name])
        y, x = (np.atleast_1d(q) for q in R[name + "_args"])  # atan2 arguments over the size of x's two terms
        corners = np.array([np.arctan2(yy, xx) for yy in (y * (1 - tol), y * (1 + tol)) for xx in (x - tol, x + tol)])
        # (1e-100: the angles' verified accuracy in the reference, e.g. its 1e-261 at t = 0 where the angle is 0)
        out[name] = (want, np.where(np.isnan(want), 0.0, half_width(want, corners.min(0), corners.max(0)) + 1e-100))
    return out


def _compare(got: dict, allowed: dict, where, cfg: Config, failures: list) -> None:
    for name, (want, half_width) in allowed.items():
        g = np.atleast_1d(np.asarray(got[name], dtype=float))
        if g.shape != want.shape:
            failures.append(f"{name} has shape {g.shape}, expected {want.shape}; {cfg.describe()}")
            continue
        with np.errstate(invalid="ignore"):
            ratio = np.abs(g - want) / half_width
        ratio = np.where((np.isnan(g) & np.isnan(want)) | (g == want), 0.0, ratio)  # (g == want: inf = inf)
        ratio = np.where(np.isfinite(ratio), ratio, np.inf)
        if ratio.max() > 1.0:
            i = int(np.argmax(ratio))
            failures.append(
                f"{name} at {where(i)}: solver {g[i]!r}, reference {want[i]!r}, accepted +-{half_width[i]:.3g} "
                f"({ratio[i]:.3g} x); {cfg.describe()}"
            )


def test_same_signs_beyond_the_range_of_y0_take_the_logistic_branch():
    """Same signs with g|F0|/Kc ~ 1e350 (|u0||w0| = 1e200, d2 = 1e-300): y0 would overflow; the kernels take
    the logistic solution, exact here (K = g|F| to (Kc/g|F|)^2 ~ 1e-700), as the product form's Kc -> 0
    limit did before. F and the NTK against the reference, every observable finite, e^{2T} = F0/F."""
    from phasefl._generated.closed_form import CONSTANTS
    from phasefl.kernels import column_constants

    solve_batch, _ = _api()
    for m in (2e200, 0.5e200):
        cfg = Config(f"huge parallel weights, m={m!r}", 1.0, 1.0, 1.0, 1.0, m, 1e200, 1e200, 1e200, 1e-300)
        assert column_constants(np.array(cfg.args(), dtype=float)[:, None], 0)[CONSTANTS.index("kind")] == 3.0
        times = np.array([0.0, 1e-201, 1e-200, 3e-200, 1e-199, 1.0])
        traj = solve_batch(*cfg.args(), times)
        ref = reference(*cfg.args(), list(times))
        for name in OBSERVABLE_FIELDS[:-1]:  # (the excess loss, (a/2)(F - m)^2 ~ 1e400, does overflow)
            assert np.all(np.isfinite(getattr(traj, name))), (name, getattr(traj, name))
        np.testing.assert_allclose(traj.F, [float(x) for x in ref["F"]], rtol=0, atol=PARALLEL_TOL * max(m, 1e200))
        np.testing.assert_allclose(traj.ntk, [float(x) for x in ref["ntk"]], rtol=PARALLEL_TOL)
        # parallel weights: u(t) = e^{-T} u0 along the flow, |u|^2 = uu F/F0 (balanced: both layers alike)
        np.testing.assert_allclose(traj.norm_u2, traj.F * (cfg.uu / (cfg.kappa * cfg.uw)), rtol=PARALLEL_TOL)
        assert np.all(np.abs(traj.rot_u) < 1e-100) and np.all(traj.cos_uw == 1.0)


#: Cells whose slope spans more than float64's range between F0 and m (|m/F0| beyond 1e+-308), or whose
#: rates are subnormal: u0 parallel to w0 (d2 = 0: K = g|F|, the logistic flow for m F0 > 0 and the collapse
#: to 0 for m F0 < 0) and nearly parallel (d2 = 1e-300). The kernels once gave F(0) = inf (m/F0 underflowed),
#: F frozen at F0 (1 - E underflowed for a rate of 2e-320), 0/0, or F off by a factor 2 (an E coefficient
#: of D underflowed in the unit of E).
WIDE_RANGE = (
    *(
        Config(f"parallel, m = {m!r}, uw = {uw!r}", 1.0, 1.0, 1.0, 1.0, m * uw, 1.0, 1.0, uw, 0.0)
        for m in (1e-310, 1e-320, -1e-310)
        for uw in (1.0, -1.0)
    ),
    Config("parallel, m = 1e200, F0 = 1e-300", 1.0, 1.0, 1.0, 1.0, 1e200, 1e-150, 1e-150, 1e-300, 0.0),
    Config("parallel, m = -1e200, F0 = 1e-300", 1.0, 1.0, 1.0, 1.0, -1e200, 1e-150, 1e-150, 1e-300, 0.0),
    *(
        Config(f"kappa = 1e100, m = {m!r}, d2 = {d2!r}", 1e100, 1.0, 1.0, 1.0, m, 1.0, 1.0, 1.0, d2)
        for m in (1e-300, 1e-200, -1e-300)
        for d2 in (0.0, 1e-300)
    ),
)
WIDE_TIMES = (0.0, *np.geomspace(1e-300, 1e300, 41).tolist())


@pytest.mark.parametrize("cfg", WIDE_RANGE, ids=[c.label for c in WIDE_RANGE])
def test_slopes_across_more_than_float64s_range_match_mpmath(cfg):
    """Every observable against the 50-digit reference at t = 0, 1e-300 ... 1e300 and at infinity (PARALLEL_TOL;
    where the excess loss itself overflows, a(F - m)^2/2 = 5e399, both are inf)."""
    solve_batch, _ = _api()
    failures: list[str] = []
    ref = observables_reference_for(cfg, times=WIDE_TIMES)
    traj = solve_batch(*cfg.args(), ref.times)
    got = {name: getattr(traj, name) for name in ref.final if not name.endswith("_args")}
    _compare(got, _allowed(cfg, ref, PARALLEL_TOL, final=False), lambda i: f"t={ref.times[i]!r}", cfg, failures)
    ref = observables_reference_for(cfg, final_only=True)
    got = {name: getattr(traj.final, name) for name in ref.final if not name.endswith("_args")}
    _compare(got, _allowed(cfg, ref, PARALLEL_TOL, final=True), lambda i: "t=inf", cfg, failures)
    assert not failures, f"{len(failures)} failure(s); first 10:\n  " + "\n  ".join(failures[:10])


#: Cells that float64 cannot carry, and the quantity named: y+ = e^{asinh(g m/Kc)} beyond 1e308 (nearly parallel
#: or tiny kappa with a huge target), K_inf = g|m| itself overflowing, and weights beyond 1e308.
OUT_OF_RANGE = (
    ((1.0, 1.0, 1.0, 1.0, 1e200, 1e-150, 1e-150, 1e-300, 1e-320), "g|m|/Kc ~ 1e360"),
    ((1.0, 1.0, 1.0, 1.0, 1e200, 1e-150, 1e-150, 0.0, 1e-300), "g|m|/Kc ~ 1e350"),
    ((1e-100, 1.0, 1.0, 1.0, -1e300, 1.0, 1.0, 0.5, 0.75), "K/kappa^2 ~ 1e400"),  # (and g|m|/Kc ~ 1e400)
    ((2.7e-73, 173.0, 882.0, 2e-4, 6e246, 4e113, 2.3e99, -3e106, 0.0), "K/kappa^2 ~ 1e326"),  # |u|^2 ~ 1e323
    ((1e100, 1.0, 1.0, 1.0, 1e300, 1.0, 1.0, 0.5, 0.75), "K_inf overflows"),
)


@pytest.mark.parametrize("cell, quantity", OUT_OF_RANGE)
def test_cells_beyond_float64s_range_are_refused_by_name(cell, quantity):
    """solve_batch, slope_batch and final_batch refuse such a cell (they returned nan for every observable),
    naming its index in the batch and the quantity; the in-range cells beside it do not hide it."""
    from phasefl import final_batch, slope_batch

    solve_batch, _ = _api()
    batch = [np.array([1.0, 1.0, v]) if k == 4 else np.array([v] * 3) for k, v in enumerate(cell)]  # cell 2
    batch[4][:2] = (2.0, -3.0)  # ordinary targets in cells 0 and 1
    for call in (
        lambda: solve_batch(*batch, [0.0, 1.0]),
        lambda: slope_batch(*batch, [1.0]),
        lambda: final_batch(*batch),
    ):
        with pytest.raises(
            ValueError,
            match=rf"^cell 2 \(output_scale = .*\): {re.escape(quantity)}: outside float64's range \(1e-308 to 1e308\)",
        ):
            call()
    ok = [v[:2] for v in batch]
    assert np.all(np.isfinite(solve_batch(*ok, [0.0, 1.0]).F))


def _wide_random_cells(n: int, seed: int) -> list[Config]:
    """kappa in 1e+-100, rates in 1e+-20, |F0| and |m| in 1e+-300 (m of either sign or 0), layer ratio in 1e+-10,
    parallel or with d2 anywhere below uu ww."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        kappa, (lr_u, lr_w), a = 10 ** rng.uniform(-100, 100), 10 ** rng.uniform(-20, 20, 2), 10 ** rng.uniform(-5, 5)
        F0 = rng.choice([1.0, -1.0]) * 10 ** rng.uniform(-300, 300)
        m = rng.choice([0.0, 1.0, -1.0]) * 10 ** rng.uniform(-300, 300)
        uw, ratio = F0 / kappa, 10 ** rng.uniform(-10, 10)
        uu, ww = abs(uw) * ratio, abs(uw) / ratio
        d2 = rng.choice([0.0, uu * ww * 10 ** rng.uniform(-300, 0)])
        if all(TINY <= abs(v) < np.inf for v in (uw, uu, ww)) and np.isfinite([d2, a * m]).all():  # normal inputs
            out.append(Config(f"wide random[{len(out)}]", kappa, lr_u, lr_w, a, a * m, uu, ww, uw, float(d2)))
    return out


def test_random_cells_across_float64s_range_are_refused_or_exact():
    """60 random cells over 600 decades: each is either refused by name (about 1 in 8) or matches the 50-digit
    reference at t = 0, 1e-300 ... 1e300 and at infinity to 1e-9 (before: 9 of 49 returned -0.0 for 1e251, nan
    rotations or inf norms of finite values)."""
    solve_batch, _ = _api()
    failures: list[str] = []
    refused = 0
    for cfg in _wide_random_cells(60, seed=1):
        try:
            traj = solve_batch(*cfg.args(), WIDE_TIMES)
        except ValueError as err:
            assert "outside float64's range (1e-308 to 1e308), which the exact solution needs" in str(err)
            refused += 1
            continue
        ref = observables_reference_for(cfg, times=WIDE_TIMES)
        got = {name: getattr(traj, name) for name in ref.final if not name.endswith("_args")}
        with np.errstate(all="ignore"):
            _compare(got, _allowed(cfg, ref, 1e-9, final=False), lambda i: f"t={WIDE_TIMES[i]!r}", cfg, failures)
            ref = observables_reference_for(cfg, final_only=True)
            got = {name: getattr(traj.final, name) for name in ref.final if not name.endswith("_args")}
            _compare(got, _allowed(cfg, ref, 1e-9, final=True), lambda i: "t=inf", cfg, failures)
    assert refused < 20, refused  # the check refuses what it must, not everything
    assert not failures, f"{len(failures)} failure(s); first 10:\n  " + "\n  ".join(failures[:10])


@pytest.mark.parametrize("geometry", sorted(PARALLEL_GEOMETRIES))
def test_nearly_parallel_cells_match_mpmath_reference_at_every_time(geometry):
    """Every observable of solve_batch against the 50-digit reference, u0 and w0 (anti)parallel up to d2 from
    1e-100 to the smallest subnormal and 0, targets of either sign, zero, tiny and large, t = 0 to 1e6 x the
    slowest time scale. Tolerance: PARALLEL_TOL, see above."""
    solve_batch, _ = _api()
    failures: list[str] = []
    for cfg in parallel_configs(geometry):
        ref = observables_reference_for(cfg)
        traj = solve_batch(*cfg.args(), ref.times)
        got = {name: getattr(traj, name) for name in ref.final if not name.endswith("_args")}
        _compare(
            got, _allowed(cfg, ref, PARALLEL_TOL, final=False), lambda i, ref=ref: f"t={ref.times[i]!r}", cfg, failures
        )
    assert not failures, f"{len(failures)} failure(s); first 10:\n  " + "\n  ".join(failures[:10])


@pytest.mark.parametrize("geometry", sorted(PARALLEL_GEOMETRIES))
def test_nearly_parallel_cells_match_mpmath_reference_at_infinity(geometry):
    """t = infinity: observables_final (solve_batch's .final), the sweep's ntk_plain_final, the order parameters
    of spec E.1 and the kernel baseline, for the same cells, against mpmath. Tolerance PARALLEL_TOL: relative
    for the order parameters (the relative NTK change has no cancellation in either), and as above."""
    from phasefl import kernels
    from phasefl.solve import cell_inputs

    solve_batch, _ = _api()
    failures: list[str] = []
    for cfg in parallel_configs(geometry):
        ref = observables_reference_for(cfg, final_only=True)
        final = solve_batch(*cfg.args(), [0.0]).final
        got = {name: getattr(final, name) for name in ref.final if not name.endswith("_args")}
        _compare(got, _allowed(cfg, ref, PARALLEL_TOL, final=True), lambda i: "t=inf", cfg, failures)
        inputs, _ = cell_inputs(*cfg.args())
        plain = float(kernels.ntk_plain_finals(inputs)[0])
        if not abs(plain - got["ntk_plain"]) <= PARALLEL_TOL * abs(got["ntk_plain"]):
            failures.append(f"ntk_plain_final {plain!r} != observables_final's {got['ntk_plain']!r}; {cfg.describe()}")
        orders = kernels.orders(inputs)[:, 0]
        times = np.concatenate([[0.0], np.geomspace(1e-3, 1e6, 19)]) / (cfg.a * max(float(ref.at["ntk"][0]), TINY))
        baseline = kernels.baselines(inputs, times)[0]
        with mpmath.workdps(60):
            kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = (mpmath.mpf(x) for x in cfg.args())
            s_, m, F0 = mpmath.sqrt(lr_u * lr_w), b / a, kappa * uw
            g, C = 2 * kappa * s_, lr_w * uu - lr_u * ww
            hyp = mpmath.sqrt(C**2 + 4 * s_**2 * d2)
            Kc = kappa**2 * hyp
            K0, Kinf = mpmath.sqrt(Kc**2 + g**2 * F0**2), mpmath.sqrt(Kc**2 + g**2 * m**2)
            if Kc == 0 and m * F0 <= 0:
                Kinf = mpmath.mpf(0)  # the degenerate collapse (reference_mpmath's convention)
            want = {
                "gamma": g * abs(m) / K0,
                "gamma0": g * abs(F0) / K0,
                "zeta": abs(C) / hyp if d2 > 0 else mpmath.mpf(1),
                "ntk_ratio": Kinf / K0,
                "ntk_rel_change": Kinf / K0 - 1,
                "imbalance": lr_w * uu / (lr_u * ww),
                "dominant_w": mpmath.mpf(0 if C >= 0 else 1),
            }
            want_baseline = [m + (F0 - m) * mpmath.exp(-a * K0 * mpmath.mpf(t)) for t in times]
        for k, (name, w) in enumerate(want.items()):
            if not abs(orders[k] - float(w)) <= PARALLEL_TOL * abs(float(w)) + TINY:
                failures.append(f"order parameter {name}: {orders[k]!r}, reference {float(w)!r}; {cfg.describe()}")
        err = np.abs(baseline - np.array([float(x) for x in want_baseline]))
        if not np.all(err <= PARALLEL_TOL * ref.M):
            i = int(np.argmax(err))
            failures.append(
                f"kernel baseline at t={times[i]!r}: {baseline[i]!r}, off by {err[i]:.3g}; {cfg.describe()}"
            )
    assert not failures, f"{len(failures)} failure(s); first 10:\n  " + "\n  ".join(failures[:10])


def test_issue_reproduction_solve_and_solve_batch_are_finite_and_accurate():
    """The reported cells: solve_batch(1, 1, 1, 1, -2, 1, 1, 1, d2, t) with d2 = 1e-200, 1e-250, 1e-300 (F and K were
    inf/nan from t ~ 72, 37, 5), and phasefl.solve(Model(1, 1, 1, xy_cov=-2), [1, 0], [1, 1e-125], [100])
    (F = -inf, NTK = NaN): every observable finite, and F, K against the reference."""
    import phasefl

    solve_batch, _ = _api()
    times = np.array([1.0, 5.0, 37.0, 72.0, 100.0, 1e3, 1e6])
    for d2 in (1e-200, 1e-250, 1e-300):
        cfg = Config(f"issue, d2={d2!r}", 1.0, 1.0, 1.0, 1.0, -2.0, 1.0, 1.0, 1.0, d2)
        traj = solve_batch(*cfg.args(), times)
        ref = reference(*cfg.args(), list(times))
        for name in OBSERVABLE_FIELDS:
            assert np.all(np.isfinite(getattr(traj, name))), (name, d2, getattr(traj, name))
        np.testing.assert_allclose(traj.F, [float(x) for x in ref["F"]], rtol=0, atol=PARALLEL_TOL * 2)
        np.testing.assert_allclose(traj.ntk, [float(x) for x in ref["ntk"]], rtol=PARALLEL_TOL)
    traj = phasefl.solve(phasefl.Model(1, 1, 1, xy_cov=-2), [1, 0], [1, 1e-125], [100.0])
    ref = reference(1.0, 1.0, 1.0, 1.0, -2.0, 1.0, 1.0, 1.0, 1e-250, [100.0])
    assert np.isfinite(traj.F[0]) and np.isfinite(traj.ntk[0])
    assert traj.F[0] == pytest.approx(float(ref["F"][0]), abs=PARALLEL_TOL * 2)
    assert traj.ntk[0] == pytest.approx(float(ref["ntk"][0]), rel=PARALLEL_TOL)


OBSERVABLE_FIELDS = ("F", "ntk", "ntk_plain", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w", "loss_excess")


def tiny_target_configs() -> list[Config]:
    """Targets below 1e-300 |F0| of the other sign than F0 (F crosses 0 on its way), down to the smallest
    subnormal; the ratio |F0/m| overflows from 1.8e308 on, and F's crossing time exceeds 700 / lambda
    (where the solver's unit of E stops following E*) from about 1e-304 on."""
    return [
        Config(f"tiny target {sign * b!r}", 1.0, 1.0, 1.0, 1.0, sign * b, 1.0, 1.0, -sign * 0.75, 0.4375)
        for b in (5e-324, 1e-310, 2.3e-308, 1e-305, 1e-302, 1e-299)
        for sign in (1.0, -1.0)
    ]


def test_tiny_targets_of_the_other_sign_match_mpmath_reference():
    """Found by hypothesis (test_properties): xy_cov = 5e-324 with F0 = -0.75 gave nan for every observable
    at every finite time (E* = 1/(1 + |F0/m|) underflowed to 0, and its inverse was inf). F, K and the loss
    against the 50-digit reference on its grid, and every observable finite at times up to 1e4 / lambda."""
    solve_batch, _ = _api()
    _check(tiny_target_configs())
    for cfg in tiny_target_configs():
        traj = solve_batch(*cfg.args(), np.array([0.0, 1.0, 400.0, 530.0, 540.0, 600.0, 1e4]))
        for name in OBSERVABLE_FIELDS:
            assert np.all(np.isfinite(getattr(traj, name))), (name, cfg.describe(), getattr(traj, name))
