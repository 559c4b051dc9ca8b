"""The numba loops over cells: written here, compiled as part of the generated module.

``make generate`` appends everything below the marker line to ``phasefl/_generated/closed_form.py``,
after the closed form, so that the loops and the pointwise functions they inline live in one file:
numba keys its on-disk cache on the file that defines a function, so a loop compiled from another
file would keep calling the old closed form after ``make generate`` or a ``git checkout``. Nothing
imports this module at run time; ``phasefl.kernels`` calls the loops of the generated module.
After an edit here, run ``make generate`` (a test fails until then); a new loop must be generated
before ``kernels.py`` imports it, since ``python -m phasefl.codegen`` imports the package.

One cell per ``prange`` iteration; every cell is independent, so the loops scale across cores.
``inputs`` is a float64 array of shape (9, n): the rows are kappa, lr_u, lr_w, x_var, xy_cov, uu,
ww, uw, d2 (the argument order of ``cell_constants``).
"""

import math

import numba
import numpy as np

from ._generated.closed_form import (  # the generated module's own names, where this code runs
    CONSTANTS,
    EXPONENTS,
    GD_CONSTANTS,
    OBSERVABLES,
    ORDER_PARAMETERS,
    cell_constants,
    exponents,
    gd_cell_constants,
    gd_observables,
    gd_step,
    kernel_baseline_at,
    ntk_plain_final,
    observables_at,
    observables_final,
    order_parameters,
    slope_at,
)

# ---- make generate copies everything below this line into the generated module ----

N_OBS = len(OBSERVABLES)
N_ORDER = len(ORDER_PARAMETERS)
N_EXPONENTS = len(EXPONENTS)
# positions of the cell constants that the hand-written loops read (compile-time constants)
_X_VAR, _M, _G, _KC, _F0, _K0, _KINF_FWD, _KIND, _REPRESENTABLE = (
    CONSTANTS.index(name) for name in ("x_var", "m", "g", "Kc", "F0", "K0", "Kinf_fwd", "kind", "representable")
)


@numba.njit(cache=True, inline="always")
def column_constants(inputs, i):
    """Cell constants of column i of the (9, n) input array."""
    return cell_constants(
        inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
        inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
    )  # fmt: skip


@numba.njit(parallel=True, cache=True)
def fill_trajectories(inputs, times, out):
    n = inputs.shape[1]
    for i in numba.prange(n):
        c = column_constants(inputs, i)
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            for k in range(N_OBS):
                out[k, i, j] = obs[k]


@numba.njit(parallel=True, cache=True)
def fill_slopes(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        for j in range(times.shape[0]):
            out[i, j] = slope_at(times[j], c)[0]


@numba.njit(parallel=True, cache=True)
def fill_finals(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        obs = observables_final(c)
        for k in range(N_OBS):
            out[k, i] = obs[k]


@numba.njit(parallel=True, cache=True)
def fill_ntk_plain_finals(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        out[i] = ntk_plain_final(column_constants(inputs, i))[0]


@numba.njit(parallel=True, cache=True)
def fill_orders(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        par = order_parameters(c)
        for k in range(N_ORDER):
            out[k, i] = par[k]


@numba.njit(parallel=True, cache=True)
def touch_pages(flat):
    for page in numba.prange((flat.size + 511) // 512):  # 512 float64 = one 4 KiB page
        flat[page * 512] = 0.0


@numba.njit(parallel=True, cache=True)
def fill_representable(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        out[i] = column_constants(inputs, i)[_REPRESENTABLE]


@numba.njit(parallel=True, cache=True)
def fill_baselines(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = column_constants(inputs, i)
        for j in range(times.shape[0]):
            out[i, j] = kernel_baseline_at(times[j], c)[0]


_EPS = float(np.finfo(np.float64).eps)
_LOSS_MIN = 1e-290  # an excess loss above this is a normal float, with its full precision
_SEARCH_ITERATIONS = 200  # per root; most cells take 2 to 5 probes (Newton from a good guess)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _residual(t, c, a, y0):
    """(F - m, F, K, usable) at time t. F - m is the closed form's own residual, from the excess
    loss a (F - m)^2 / 2 and the sign of F0 - m (which F - m keeps): accurate relative to itself,
    where F - m by subtraction is not once F is near m (the closed form's F has an error of a few
    ulps of max(|F0|, |m|)). usable: the loss neither underflowed nor overflowed (else the
    subtraction is returned) and K is not 0."""
    obs = observables_at(t, c)
    f, k, loss = obs[_O_F], obs[_O_K], obs[_O_LOSS]
    if loss == math.inf:
        return f - c[_M], f, k, k > 0.0 and f != c[_M]
    return math.copysign(math.sqrt(2.0 * loss / a), y0), f, k, loss >= _LOSS_MIN and k > 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _gap_probe(t, c, a, g, m, f0, k0, y0):
    """(L, dL/dt, phase3, usable, F - m, K) at time t, where

        L = ln(K (F - m)) - ln(K0 (F0 - m)) + a K0 t = ln(K (F - m) / (K0 (F_kernel - m))).

    The gap G = F - F_kernel has dG/dt = a (K0 (F_kernel - m) - K (F - m)); F - m and
    F_kernel - m keep the sign of F0 - m, so sign(dG/dt) = -sign(F0 - m) sign(L): the roots of L
    are the critical points of G. dL/dt = -a Q / K with Q = g^2 F (F - m) + K (K - K0), from
    (F - m)' = -a K (F - m) and K^2 = Kc^2 + g^2 F^2 along the flow (K' = -a g^2 F (F - m) / K);
    Q is evaluated as g^2 (F (F - m) + K (F - F0) (F + F0) / (K + K0)), without the cancellation
    of K - K0. phase3: F is on the side of 0 where m is, and Q > 0 (see ``fill_baseline_distance``).
    usable is False once the excess loss underflows (F - m below ~1e-145, far past every
    extremum of G that matters) or K does: the search then takes t to lie past the root.
    """
    y, f, k, usable = _residual(t, c, a, y0)
    if not usable:
        return 0.0, 0.0, True, False, y, k
    ratio = (k / k0) * (y / y0)
    if 0.0 < ratio < math.inf:
        lv = math.log(ratio) + a * k0 * t
    else:  # the product left the float range: one log per factor
        lv = math.log(k / k0) + math.log(y / y0) + a * k0 * t
    q = g * g * (f * y + k * (f - f0) * (f + f0) / (k + k0))
    same_side = f > 0.0 and m > 0.0 or f < 0.0 and m < 0.0  # (not f m > 0: the product may underflow)
    return lv, -a * q / k, same_side and q > 0.0, True, y, k


@numba.njit(cache=True, error_model="numpy", inline="always")
def _gap_root(c, a, g, m, f0, k0, y0, lead, two_lobes, t):
    """Locate one root of L (see ``_gap_probe``), starting from the guess t; return it, and |G| there
    when Newton's last step gives it without another evaluation (else nan).

    lead = False: the root t1 of the lag lobe, where L rises through 0: t < t1 iff L < 0 and,
    with two lobes, t is not in phase 3. lead = True: the root t2 of the lead lobe, where L falls
    through 0: t < t2 iff L > 0 or, with two lobes, t is not in phase 3. L within rounding of 0
    counts as "before": near t = 0, where L -> 0, it is; near the root it does not matter.

    A bracket [lo, hi] is expanded geometrically (factors e, e^2, e^4, ..., at most 1e16) until
    it holds the root, and every probe narrows it. Steps: Newton on L where L has the slope of
    the root's stretch (rising through t1, falling through t2) and the sign of the probe's side,
    and the step stays inside the bracket within a factor 1.5; else regula falsi (Illinois)
    between the bracket's ends when both lie on that stretch; else geometric bisection. Stops
    when a Newton step is below 1e-4 of G's time scale there, min(t, 1 / (a max(K, K0)))
    (quadratic convergence: t + step is then good to ~1e-8 of it, and G there, from
    G + G' step / 2, to O(step^3), ~1e-12 relative; G is flat at its extremum, so the error of t
    costs ~1e-16; a step bound of 1e-4 t alone is 1e-12 off where the extremum is sharp, late in
    an alignment), when L is 0 to rounding (at a simple root,
    or anywhere inside a closed bracket: L is then rounding noise, and so is G's slope), or when
    the bracket closes.
    """
    lo, hi = 0.0, math.inf
    l_lo, l_hi = math.nan, math.nan  # L at the ends, where they lie on the root's stretch
    side = 0  # the end that the previous probe replaced (-1 lo, 1 hi), for the Illinois rule
    hi_usable = True
    grow = math.e
    for _ in range(_SEARCH_ITERATIONS):
        lv, dl, phase3, usable, y, k = _gap_probe(t, c, a, g, m, f0, k0, y0)
        tol = _EPS * (32.0 + 4.0 * a * k0 * t)  # rounding of L (its two terms are about a K0 t)
        if not usable:
            before = False
        elif lead:
            before = lv > -tol or (two_lobes and not phase3)
        else:
            before = lv < tol and not (two_lobes and phase3)
        rising = dl < 0.0 if lead else dl > 0.0  # L's slope on the root's stretch, lead: falling
        stretch = usable and rising and (abs(lv) <= tol or (lv < 0.0) == (before != lead))
        step = -lv / dl if stretch else math.nan
        scale = min(t, 1.0 / (a * max(k, k0)))  # the time scale of G near t: F moves at a K, F_kernel at a K0
        if stretch and (abs(step) <= 1e-4 * scale or (abs(lv) <= tol and abs(step) <= 1e-3 * t)):
            # Newton has converged, or L is 0 to rounding at a simple root. G at the root t + step,
            # where G' = 0, is G + G' step / 2 up to a term in step^3
            yk = y0 * math.exp(-a * k0 * t)
            return t + step, abs(y - yk + 0.5 * a * (k0 * yk - k * y) * step)
        if before:
            lo, l_lo = t, lv if stretch else math.nan
            if side == -1:
                l_hi *= 0.5
            side = -1
        else:
            hi, l_hi, hi_usable = t, lv if stretch else math.nan, usable
            if side == 1:
                l_lo *= 0.5
            side = 1
        if lo > 0.0 and hi < math.inf and usable and abs(lv) <= tol:
            return t, math.nan
        if hi <= lo * (1.0 + 1e-12):
            return t, math.nan
        if not hi_usable and hi <= lo * 1.001:
            return lo, math.nan  # the root is past the last usable time, or within 0.1% of it
        if abs(step) <= 0.5 * t and lo < t + step < hi:
            t += step
        elif lo == 0.0:
            t = hi / grow
            grow = min(grow * grow, 1e16)
            if t == 0.0:
                return hi, math.nan
        elif hi == math.inf:
            t = lo * grow
            grow = min(grow * grow, 1e16)
            if t == math.inf:
                return lo, math.nan
        elif l_lo * l_hi < 0.0:
            t = lo + (hi - lo) * l_lo / (l_lo - l_hi)
        else:
            t = math.sqrt(lo) * math.sqrt(hi)
    return t, math.nan


@numba.njit(cache=True, error_model="numpy", inline="always")
def _gap_at(root, c, a, k0, y0):
    """|G| at a root (t, |G| or nan) from ``_gap_root``: the difference of the residuals F - m and
    F_kernel - m, evaluated unless the root came with it."""
    t, gap = root
    if gap == gap:
        return gap
    return abs(_residual(t, c, a, y0)[0] - y0 * math.exp(-a * k0 * t))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _kernel_regime_peak(f0, m):
    """a K0 t at the extremum of G in the kernel regime, where it is the first guess of the search.

    To first order in the NTK's change, K - K0 = g^2 (F^2 - F0^2) / (2 K0) along the kernel path
    F - m = (F0 - m) e^-x (x = a K0 t), so ln((F - m) / (F_kernel - m)) = -a int (K - K0) is
    proportional to u A + v B, u = F0 + m, v = F0 - m, A = x - 1 + e^-x, B = (1 - e^-x)^2 / 2, and G to
    e^-x (u A + v B). Its extremum solves u (2 - x - 2 e^-x) + v (1 - e^-x) (3 e^-x - 1) / 2 = 0:
    x = ln 3 for v/u -> inf, 1.59 for v = 0, 1.97 for v/u -> -1 (Newton from 1.5, kept in [1, 2])."""
    u, v = f0 + m, f0 - m
    x = 1.5
    for _ in range(4):
        e = math.exp(-x)
        phi = u * (2.0 - x - 2.0 * e) + v * (1.0 - e) * (3.0 * e - 1.0) * 0.5
        dphi = u * (2.0 * e - 1.0) + v * e * (3.0 * e - 2.0)
        if dphi == 0.0:
            break
        x = min(2.0, max(1.0, x - phi / dphi))
    return x


@numba.njit(cache=True, error_model="numpy")
def _distance(c):
    """D = sup_t |G(t)| / |F0 - m| of the cell with constants c, G = F - F_kernel, located exactly.

    Notation: y = F - m, y0 = F0 - m, a = x_var; along the flow (spec D) F' = -a K y, F is
    monotone, and K^2 = Kc^2 + g^2 F^2. F_kernel - m = y0 e^(-a K0 t).

    Why at most two candidates, and which (so that the global maximum is found):
    1. y and F_kernel - m keep the sign of y0 (F moves monotonically to m, or to 0 in the
       collapse Kc = 0, F0 m <= 0, and 0 then lies between F0 and m). So sign(G') =
       -sign(y0) sign(L), L = ln(K y / (K0 (F_kernel - m))), L(0) = 0, L' = -a Q(F) / K with
       Q(F) = g^2 F (F - m) + K (K - K0) (``_gap_probe``).
    2. {F : Q(F) < 0} is one interval (or empty): Q -> +inf as |F| -> inf, and Q has at most two
       real zeros. For Kc > 0 put g F = Kc sinh(th), z = e^th: Q = 0 becomes
       z^4 - (k + mu) z^3 + (mu - k) z + 1 = 0 with k = K0 / Kc >= 1, mu = g m / Kc; its
       coefficients change sign twice whatever k and mu, so by Descartes' rule it has at most two
       positive roots. For Kc = 0, F keeps its sign and Q = g |F| (2 g |F| - g m sgn(F) - K0) is
       negative on an interval of each half-line.
    3. F(t) is monotone, so along the flow Q >= 0 (phase 1), Q < 0 (phase 2), Q >= 0 (phase 3),
       each possibly empty: L falls, rises, falls. From L(0) = 0, L < 0 in phase 1, and L has at
       most one root t1 in phase 2 and one root t2 in phase 3: G has at most two critical points.
    4. Q(F0) = g^2 F0 y0. If F0 y0 > 0, F first moves towards 0, K falls below K0, F lags behind
       F_kernel (the lag lobe, sign(y0) G > 0) and t1 is its maximum. The lag lobe is followed by
       a lead lobe (sign(y0) G < 0, maximum at t2) exactly when F crosses 0 and ends with
       K_inf > K0 (kind 1, |m| > |F0|): ln(y / (F_kernel - m)) = a int_0^t (K0 - K) rises while
       |F| < |F0| and falls to -inf afterwards, so G changes sign once, at t_c, t1 < t_c < t2.
       Then Q(0) = Kc (Kc - K0) < 0 puts F = 0 inside phase 2: phase 1 has F on the side of F0,
       phase 3 on the side of m, which tells the two roots apart. Otherwise K <= K0 all along, G
       keeps its sign and only t1 exists; in the collapse with |F0| <= |m|, Q > 0 on the whole
       path, L < 0 throughout and |G| rises to its limit |m| (the supremum, at t = inf). If
       F0 y0 <= 0 (F0 between 0 and m), phase 1 is empty: L > 0 until t2 and G leads; only t2.
       In the collapse, |G| -> |m| as t -> inf is a candidate too.
    The roots are located by ``_gap_root`` on L's monotone stretch around each, with a bracket
    that the sign of L (and, with two lobes, the phase) decides, so a search cannot land on the
    other root. G is then evaluated at each root (and the limit taken), and the largest kept.

    Accuracy: a root to ~1e-8 relative in t and G from its slope there (``_gap_root``) put G
    within ~1e-12 relative of its extremum (2.9 probes of L per draw on average over the default
    diagram's range, against 3.5 for a root to 1e-12 relative in t; over the README's diagrams
    the two D agree to 2e-13 relative, or 7e-15 absolute where D is tiny); G itself is
    the difference of two residuals accurate to a few ulps, so D is exact to ~1e-12 relative
    plus a few eps absolute. Where L stays within its rounding (~1e-14) all along, which only
    happens deep in the kernel regime with D below ~1e-13, D is good to ~1e-14 absolute.
    """
    a, m, g, f0, k0, kinf, kind = c[_X_VAR], c[_M], c[_G], c[_F0], c[_K0], c[_KINF_FWD], c[_KIND]
    y0 = f0 - m
    if y0 == 0.0 or k0 == 0.0:  # nothing to learn, or nothing moves (F = F_kernel = F0)
        return 0.0
    best = 0.0
    if kind == 2.0:  # collapse: F -> 0 (not m) and K -> 0, so |G| -> |m|
        best = abs(m)
    lag = f0 * y0 > 0.0  # a lag lobe first; else F0 lies between 0 and m (or is 0): a lead lobe only
    if lag and kind == 2.0 and abs(f0) <= abs(m):
        return best / abs(y0)  # |G| rises all the way to its limit |m|
    two_lobes = lag and kind == 1.0 and abs(m) > abs(f0)
    if two_lobes:  # the lag lobe ends soon after F passes -F0, near a K0 t = 2 |F0 / y0| < 1
        t0 = max(2.0 * abs(f0 / y0), 1e-12) / (a * k0)
    elif not lag:  # K rises to K_inf > K0; y ~ y0 K0 / K_inf at the peak
        t0 = (_kernel_regime_peak(f0, m) + 2.0 * math.log(kinf / k0)) / (a * kinf)
    elif kinf > 0.0:  # later when K falls far (G peaks once F_kernel - m ~ K y / K0)
        t0 = (_kernel_regime_peak(f0, m) + math.log(max(1.0, k0 / kinf))) / (a * k0)
    else:
        t0 = _kernel_regime_peak(f0, m) / (a * k0)
    lead = not lag
    for _ in range(2 if two_lobes else 1):  # one call site: the search is inlined once
        best = max(best, _gap_at(_gap_root(c, a, g, m, f0, k0, y0, lead, two_lobes, t0), c, a, k0, y0))
        if two_lobes:  # then the lead lobe, as for F0 between 0 and m
            lead, t0 = True, (1.6 + 2.0 * math.log(kinf / k0)) / (a * kinf)
    return best / abs(y0)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def fill_baseline_distance(inputs, out):
    """out[i]: the kernel-baseline distance of column i (``_distance``)."""
    for i in numba.prange(inputs.shape[1]):
        out[i] = _distance(column_constants(inputs, i))


#: Per-sample quantities of a sweep block whose median over seeds ``sweep_block`` reports: the margin,
#: every order parameter (but the dominant layer, reported as a fraction of seeds), and more (the
#: last two only with a time); and the two whose quartiles it reports too.
MEDIANS = (
    ("margin",)
    + tuple(name for name in ORDER_PARAMETERS if name != "dominant_w")
    + ("ntk_plain_ratio", "kernel_distance", "ntk_ratio_at_time", "loss_excess_at_time")
)
QUARTILES = ("ntk_ratio", "kernel_distance")
#: Rows of ``sweep_block``'s output: the medians, the quartiles (NAME_q25, NAME_q75), the fraction of
#: seeds whose dominant layer is u, the most frequent label and the fraction of seeds with each label
#: code (codes index ``phasefl.regimes.LABELS``), and the most frequent label at the time.
BLOCK_OUTPUTS = (
    MEDIANS
    + tuple(f"{name}_{q}" for name in QUARTILES for q in ("q25", "q75"))
    + ("dominant_u", "label", "label_fraction_0", "label_fraction_1", "label_fraction_2", "label_fraction_3")
    + ("label_at_time",)
)
N_MEDIANS = len(MEDIANS)
_S_MARGIN, _S_PLAIN, _S_DIST, _S_RATIO_T, _S_LOSS_T = (
    MEDIANS.index(name)
    for name in ("margin", "ntk_plain_ratio", "kernel_distance", "ntk_ratio_at_time", "loss_excess_at_time")
)
_S_OF_ORDER = tuple(MEDIANS.index(name) if name in MEDIANS else -1 for name in ORDER_PARAMETERS)  # -1: not a median
_S_QUARTILES = (MEDIANS.index(QUARTILES[0]), MEDIANS.index(QUARTILES[1]))
_R_DOMINANT_U = BLOCK_OUTPUTS.index("dominant_u")
_R_LABEL = BLOCK_OUTPUTS.index("label")
_R_LABEL_T = BLOCK_OUTPUTS.index("label_at_time")
_P_ZETA, _P_RK, _P_DOMINANT_W = (ORDER_PARAMETERS.index(name) for name in ("zeta", "ntk_rel_change", "dominant_w"))
_O_F, _O_K, _O_LOSS = (OBSERVABLES.index(name) for name in ("F", "ntk", "loss_excess"))


@numba.njit(cache=True)
def label_code(rk, zeta, kernel_threshold, zeta_threshold):
    """The label code of one sample (as ``phasefl.regimes.label_codes``): 0 kernel, 1 alignment,
    2 disalignment, 3 rescaling."""
    if abs(rk) < kernel_threshold:
        return 0
    if zeta >= zeta_threshold:
        return 3
    if rk < 0.0:
        return 2
    return 1


@numba.njit(cache=True, error_model="numpy")
def margin(rk, zeta, kernel_threshold, zeta_threshold):
    """Decades between the deciding order parameters and their thresholds (as ``phasefl.regimes.margin``)."""
    m_k = abs(math.log10(abs(rk) / kernel_threshold))
    if abs(rk) < kernel_threshold:
        return m_k
    m_z = abs(math.log10(zeta / zeta_threshold)) if zeta_threshold > 0.0 else math.inf
    if m_k != m_k or m_z != m_z:
        return math.nan
    return min(m_k, m_z)


@numba.njit(cache=True)
def sort_nan_last(v):
    """Sort v in place, NaN last (as np.sort). Insertion sort up to 32 values: numba's own sort
    allocates its stack on every call, which costs more than sorting a handful of seeds."""
    n = v.shape[0]
    if n > 32:
        v.sort()
        return
    for j in range(1, n):
        x = v[j]
        k = j
        while k > 0 and (x < v[k - 1] or (v[k - 1] != v[k - 1] and x == x)):
            v[k] = v[k - 1]
            k -= 1
        v[k] = x


@numba.njit(cache=True)
def sorted_median(v):
    """np.median of a sorted array (NaN sorted last; any NaN gives NaN), to the bit."""
    n = v.shape[0]
    if v[n - 1] != v[n - 1]:
        return math.nan
    if n % 2 == 1:
        return v[n // 2]
    return (v[n // 2 - 1] + v[n // 2]) / 2.0


@numba.njit(cache=True)
def sorted_quantile(v, q):
    """np.quantile(v, q) of a sorted array (linear interpolation, numpy's formula), to the bit."""
    n = v.shape[0]
    if v[n - 1] != v[n - 1]:
        return math.nan
    at = (n - 1) * q
    below = math.floor(at)
    a, b = v[int(below)], v[min(int(below) + 1, n - 1)]
    t = at - below
    if t >= 0.5:
        return b - (b - a) * (1.0 - t)
    return a + (b - a) * t


@numba.njit(parallel=True, cache=True, error_model="numpy")
def fill_sweep_block(hyper, gram, kernel_threshold, zeta_threshold, t, samples, out):
    """One pass over the cells of a sweep block: every seed's sample, then its reductions.

    hyper (5, n): kappa, lr_u, lr_w, x_var, xy_cov of each cell; gram (4, seeds, n): uu, ww, uw, d2
    of each seed's init; t: the time of the at-time outputs, or nan for none; samples (N_MEDIANS,
    n, seeds): scratch for the per-seed values; out (len(BLOCK_OUTPUTS), n).
    """
    seeds = gram.shape[1]
    timed = t == t
    for i in numba.prange(hyper.shape[1]):
        kappa, lr_u, lr_w, x_var, xy_cov = hyper[0, i], hyper[1, i], hyper[2, i], hyper[3, i], hyper[4, i]
        n0, n1, n2, n3 = 0, 0, 0, 0  # label counts
        m0, m1, m2, m3 = 0, 0, 0, 0  # label counts at the time
        n_u = 0
        for s in range(seeds):
            uu, ww = gram[0, s, i], gram[1, s, i]
            c = cell_constants(kappa, lr_u, lr_w, x_var, xy_cov, uu, ww, gram[2, s, i], gram[3, s, i])
            par = order_parameters(c)
            rk, zeta = par[_P_RK], par[_P_ZETA]
            code = label_code(rk, zeta, kernel_threshold, zeta_threshold)
            n0, n1, n2, n3 = n0 + (code == 0), n1 + (code == 1), n2 + (code == 2), n3 + (code == 3)
            n_u += par[_P_DOMINANT_W] == 0.0
            samples[_S_MARGIN, i, s] = margin(rk, zeta, kernel_threshold, zeta_threshold)
            for k in range(N_ORDER):
                if _S_OF_ORDER[k] >= 0:
                    samples[_S_OF_ORDER[k], i, s] = par[k]
            samples[_S_PLAIN, i, s] = ntk_plain_final(c)[0] / (kappa * kappa * (uu + ww))
            samples[_S_DIST, i, s] = _distance(c)
            if timed:
                obs = observables_at(t, c)
                ratio = obs[_O_K] / c[_K0]
                code = label_code(ratio - 1.0, zeta, kernel_threshold, zeta_threshold)
                m0, m1, m2, m3 = m0 + (code == 0), m1 + (code == 1), m2 + (code == 2), m3 + (code == 3)
                samples[_S_RATIO_T, i, s] = ratio
                samples[_S_LOSS_T, i, s] = obs[_O_LOSS]
            else:
                samples[_S_RATIO_T, i, s] = math.nan
                samples[_S_LOSS_T, i, s] = math.nan
        for k in range(N_MEDIANS):
            v = samples[k, i]
            sort_nan_last(v)
            out[k, i] = sorted_median(v)
        for j in range(2):
            v = samples[_S_QUARTILES[j], i]
            out[N_MEDIANS + 2 * j, i] = sorted_quantile(v, 0.25)
            out[N_MEDIANS + 2 * j + 1, i] = sorted_quantile(v, 0.75)
        out[_R_DOMINANT_U, i] = n_u / seeds
        out[_R_LABEL, i] = _most_frequent(n0, n1, n2, n3)
        out[_R_LABEL + 1, i], out[_R_LABEL + 2, i] = n0 / seeds, n1 / seeds
        out[_R_LABEL + 3, i], out[_R_LABEL + 4, i] = n2 / seeds, n3 / seeds
        out[_R_LABEL_T, i] = math.nan
        if timed:
            out[_R_LABEL_T, i] = _most_frequent(m0, m1, m2, m3)


@numba.njit(cache=True)
def _most_frequent(n0, n1, n2, n3):
    """The code with the largest count (ties: the lowest code)."""
    best, code = n0, 0
    if n1 > best:
        best, code = n1, 1
    if n2 > best:
        best, code = n2, 2
    if n3 > best:
        code = 3
    return code


@numba.njit(parallel=True, cache=True)
def fill_exponent_grid(exps, out):
    for i in numba.prange(exps.shape[1]):
        res = exponents(exps[0, i], exps[1, i], exps[2, i], exps[3, i], exps[4, i])
        for k in range(N_EXPONENTS):
            out[k, i] = res[k]


# ---- gradient descent: the exact map (phasefl.symbolic.gd), iterated ----

#: ``final`` of a gradient-descent run is its t -> infinity limit when, at the last requested step, the
#: residual contracts (|R'/R| < 1) and the multipliers have less than this relative motion left (sum of |alpha|).
GD_FINAL_TOL = 1e-12
#: The state's vectors are rescaled by a power of two (exactly) when their largest entry leaves
#: [2^-256, 2^256], so that squares and products stay representable whatever the init's scale (units 2^e).
_GD_BIG = 2.0**256
_GD_M, _GD_UX0, _GD_WX0, _GD_WY0, _GD_R0, _GD_HAK, _GD_KAPPA, _GD_S, _GD_HA = (
    GD_CONSTANTS.index(name) for name in ("m", "ux0", "wx0", "wy0", "R0", "hak_s", "kappa", "s", "ha")
)
#: The observables of a run that has left float64's range: F, the angles nan (the sign of F flips from step
#: to step, the directions are lost), the NTKs, norms and loss inf (the weights have overflowed).
GD_DIVERGED = tuple(math.nan if name in ("F", "cos_uw", "rot_u", "rot_w") else math.inf for name in OBSERVABLES)


@numba.njit(cache=True, inline="always")
def gd_column_constants(inputs, i, h):
    """Gradient-descent cell constants of column i of the (9, n) input array, step h."""
    return gd_cell_constants(
        inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
        inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i], h,
    )  # fmt: skip


@numba.njit(cache=True, error_model="numpy", inline="always")
def gd_advance(x, e, n, c):
    """n steps of the state x = (u~1, u~2, w~1, w~2 in units of 2^e, R = F - m). Returns the state, e, R'/R of
    the last step (nan without one), and -1, or the number of steps done when the next one left float64's
    range (the state is then the last finite one)."""
    factor = math.nan
    for k in range(n):
        nxt = gd_step(x[0], x[1], x[2], x[3], x[4], 2 * e, c)
        factor = nxt[5]
        big = max(max(abs(nxt[0]), abs(nxt[1])), max(abs(nxt[2]), abs(nxt[3])))
        if not (abs(nxt[4]) < math.inf and big < math.inf):  # nan fails the comparisons too
            return x, e, factor, k
        x = (nxt[0], nxt[1], nxt[2], nxt[3], nxt[4])
        if big > _GD_BIG or 0.0 < big < 1.0 / _GD_BIG:
            shift = math.frexp(big)[1]
            x = (
                math.ldexp(x[0], -shift),
                math.ldexp(x[1], -shift),
                math.ldexp(x[2], -shift),
                math.ldexp(x[3], -shift),
                x[4],
            )
            e += shift
    return x, e, factor, -1


@numba.njit(parallel=True, cache=True, error_model="numpy")
def fill_gd_trajectories(inputs, h, counts, out, fin, diverged_at):
    """Gradient descent with step h from every column of inputs (9, n), observed after counts[j] steps
    (sorted, non-negative): out (N_OBS, n, T). fin (N_OBS, n): the limit t -> infinity where the run has
    converged by the last count (F = m, no loss; the rest as there), GD_DIVERGED where it diverged, else nan.
    diverged_at (n,): the number of steps after which the state left float64's range, or -1."""
    for i in numba.prange(inputs.shape[1]):
        c = gd_column_constants(inputs, i, h)
        x = (c[_GD_UX0], 0.0, c[_GD_WX0], c[_GD_WY0], c[_GD_R0])
        e = 0
        done = 0
        diverged_at[i] = -1
        for j in range(counts.shape[0]):
            if diverged_at[i] < 0:
                x, e, factor, bad = gd_advance(x, e, counts[j] - done, c)
                if bad >= 0:
                    diverged_at[i] = done + bad
                done = counts[j]
            if diverged_at[i] >= 0:
                for k in range(N_OBS):
                    out[k, i, j] = GD_DIVERGED[k]
            else:
                obs = gd_observables(x[0], x[1], x[2], x[3], x[4], 2 * e, c)
                for k in range(N_OBS):
                    out[k, i, j] = obs[k]
        if diverged_at[i] >= 0:
            for k in range(N_OBS):
                fin[k, i] = GD_DIVERGED[k]
            continue
        factor = gd_advance(x, e, 1, c)[2]  # R'/R at the last state: its contraction
        alpha = c[_GD_HAK] * x[4]
        rho = abs(factor)
        if alpha == 0.0 or (rho < 1.0 and abs(alpha) <= GD_FINAL_TOL * (1.0 - rho)):
            obs = gd_observables(x[0], x[1], x[2], x[3], x[4], 2 * e, c)
            for k in range(N_OBS):
                fin[k, i] = obs[k]
            fin[_O_F, i] = c[_GD_M]
            fin[_O_LOSS, i] = 0.0
        else:
            for k in range(N_OBS):
                fin[k, i] = math.nan


#: Rows of ``fill_gd_summaries``' output: per cell, one run of gradient descent up to its horizon.
GD_SUMMARY = (
    "steps",  # steps taken: to convergence, to the horizon, or the last finite step of a diverging run
    "converged",  # 1 if the run met the convergence test of GD_FINAL_TOL by its horizon
    "diverged",  # 1 if the state left float64's range
    "loss_rise",  # the largest excess loss over the run divided by the initial one (1 if it never rose; inf if F0 = m)
    "loss_rise_step",  # the step where that largest excess loss occurred (0: at init)
    "ntk_end",  # the NTK at the last step taken
    "sharpness_max",  # the largest h a K met along the run (2: the edge of stability of the fixed point)
)
N_GD_SUMMARY = len(GD_SUMMARY)


@numba.njit(cache=True, error_model="numpy", inline="always")
def gd_sharpness(x, e, c):
    """h a K of the state x (u~, w~ in units of 2^e): K = kappa^2 s^2 (|u~|^2 + |w~|^2)."""
    squares = x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3]
    return c[_GD_HA] * (c[_GD_KAPPA] * c[_GD_S]) ** 2 * math.ldexp(squares, 2 * e)


@numba.njit(parallel=True, cache=True, error_model="numpy")
def fill_gd_summaries(inputs, h, horizons, out):
    """Gradient descent with step h from every column of inputs (9, n) for at most horizons[i] steps, stopping
    at convergence (the test of ``final`` in fill_gd_trajectories) or divergence: out (N_GD_SUMMARY, n)."""
    for i in numba.prange(inputs.shape[1]):
        c = gd_column_constants(inputs, i, h)
        x = (c[_GD_UX0], 0.0, c[_GD_WX0], c[_GD_WY0], c[_GD_R0])
        e = 0
        r_max, r_max_step, sharpness = abs(x[4]), 0, gd_sharpness(x, e, c)
        steps, converged, diverged = horizons[i], 0.0, 0.0
        for k in range(horizons[i]):
            x, e, factor, bad = gd_advance(x, e, 1, c)
            if bad >= 0:
                steps, diverged = k, 1.0
                break
            sharpness = max(sharpness, gd_sharpness(x, e, c))
            if abs(x[4]) > r_max:
                r_max, r_max_step = abs(x[4]), k + 1
            alpha, rho = c[_GD_HAK] * x[4], abs(factor)
            if alpha == 0.0 or (rho < 1.0 and abs(alpha) <= GD_FINAL_TOL * (1.0 - rho)):
                steps, converged = k + 1, 1.0
                break
        out[0, i] = steps
        out[1, i] = converged
        out[2, i] = diverged
        out[3, i] = (r_max / abs(c[_GD_R0])) ** 2 if c[_GD_R0] != 0.0 else (1.0 if r_max == 0.0 else math.inf)
        out[4, i] = r_max_step
        out[5, i] = gd_observables(x[0], x[1], x[2], x[3], x[4], 2 * e, c)[_O_K]
        out[6, i] = sharpness
