"""Independent reference simulator of the actual d-dimensional network.

This module integrates the gradient flow (or runs gradient descent) of the full
2d-dimensional weight state (u, w) and measures every observable directly on the
vectors. It uses none of the closed-form results of spec section D: it is the
independent check of the exact solver.

Spec sections used: A (model), B (gradient flow and gradient descent), D.4/D.6
(definitions of the observables only).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
from scipy.integrate import DOP853

from .params import Model, check_positive, check_times, check_weights
from .results import OBSERVABLES, State, Trajectory

__all__ = ["simulate", "Flow", "Observer", "angle_between", "dot2", "unit_vector"]

#: Relative tolerance of the DOP853 integrator (scipy refuses values below 100 eps ~ 2.2e-14).
RTOL = 1e-13
#: Absolute tolerance per component, relative to the current max(|u|_inf, |w|_inf) (updated every step).
ATOL_FACTOR = 1e-16
#: Freezing starts once |F - m| <= FREEZE_TOL * kappa |u| |w| (remaining motion below 1e-14 relative).
FREEZE_TOL = 1e-14
#: ... and happens FREEZE_EFOLDS e-folds 1/(aK) later, when F - m has decayed to rounding level.
FREEZE_EFOLDS = 40.0
#: The flow is frozen once max(|u|^2, |w|^2) falls below this (weights ~1e-140, squares near underflow).
TINY_NORM2 = 1e-280
#: Step cap of the flow integrator, in e-folds 1/(aK) of the relaxation of F.
MAX_STEP_EFOLDS = 1.0
#: Convergence tolerance of ``Trajectory.final`` between successive doublings of the horizon.
FINAL_TOL = 1e-12
#: Maximum number of horizon doublings when computing ``Trajectory.final``.
MAX_DOUBLINGS = 200
#: Default gradient-descent step, in units of the initial time scale 1 / (a K0).
GD_DEFAULT_STEP = 1e-3

_METHODS = ("flow", "gd")
_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitting constant for float64


@numba.njit(cache=True)
def dot2(x: np.ndarray, y: np.ndarray) -> float:
    """x . y as if summed in twice the working precision, then rounded (Ogita-Rump-Oishi Dot2).

    Every product is split exactly into p + e (Dekker) and every partial sum's rounding error is
    kept (Knuth's TwoSum), so orthogonal vectors give 0 exactly and cancelling sums keep their
    digits. The vectors are first scaled by powers of two (exact) to a largest entry in [0.5, 1),
    so the splitting cannot overflow whatever the weights' magnitude; the result is scaled back
    with ldexp (inf if the true value overflows, never an exception). One sequential loop with no
    fused multiply-adds: the result does not depend on the CPU or on the BLAS kernel, unlike np.dot.
    """
    mx = 0.0
    my = 0.0
    for i in range(x.shape[0]):
        mx = max(mx, abs(x[i]))
        my = max(my, abs(y[i]))
    if mx == 0.0 or my == 0.0:
        return 0.0
    ex = math.frexp(mx)[1]
    ey = math.frexp(my)[1]
    sx = math.ldexp(1.0, -ex)
    sy = math.ldexp(1.0, -ey)
    s = 0.0
    c = 0.0
    for i in range(x.shape[0]):
        a = x[i] * sx
        b = y[i] * sy
        p = a * b
        t = _SPLIT * a
        ah = t - (t - a)
        al = a - ah
        t = _SPLIT * b
        bh = t - (t - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        z = s + p
        bz = z - s
        c += ((s - (z - bz)) + (p - bz)) + e
        s = z
    return math.ldexp(s + c, ex + ey)


_ANGLES = frozenset({"cos_uw", "rot_u", "rot_w"})  # converge in absolute terms


def simulate(model: Model, u0, w0, times, method: str = "flow", step: float | None = None) -> Trajectory:
    r"""Simulate the d-dimensional network by gradient flow or gradient descent.

    The network is :math:`f(x) = \kappa \sum_i u_i w_i x = F x` with slope
    :math:`F = \kappa\, u \cdot w` (spec A). The loss
    :math:`L = \tfrac12 E[(f(x) - y)^2]` has the gradients (spec B)

    .. math::

        \partial L / \partial u = \kappa (aF - b)\, w, \qquad
        \partial L / \partial w = \kappa (aF - b)\, u,

    with :math:`a = E[x^2]`, :math:`b = E[xy]`, target :math:`m = b/a`.

    ``method="flow"`` integrates the gradient flow

    .. math::

        \dot u = -\eta_u \kappa (aF - b)\, w, \qquad \dot w = -\eta_w \kappa (aF - b)\, u

    of the full 2d-dimensional state with scipy's DOP853 (8th-order Dormand-Prince),
    ``rtol = 1e-13`` and a scalar ``atol = 1e-16 * max(|u|_inf, |w|_inf)`` that follows
    the current state (updated after every step, so atol never dominates, even when the
    weights grow from 1e-4 to 1 or shrink by many orders of magnitude). The integration
    runs in pieces between consecutive sorted output times, so every output time is the
    end of an accepted step (no dense-output interpolation); the step size is carried
    over from one piece to the next. The state is stored interleaved,
    (u_1, w_1, u_2, w_2, ...), so that both weights of a neuron are rounded alike: this
    keeps u(t) = w(t) bit for bit when u0 = w0 and eta_u = eta_w (with the block layout
    the rounding difference grows like sqrt(t) when F -> 0 and spoils the limit).
    Measured against a 50-digit evaluation of the exact solution, F, the NTK, the norms
    and the angles come out within ~1e-14 (relative; absolute for angles) over 8 decades
    of time, including small initializations whose NTK grows a million-fold.

    Two safeguards concern the relaxation mode of F, whose rate is aK
    (:math:`d(F - m)/dt = -aK(F - m)`, K the NTK of spec D.6, measured on the vectors):

    * the step is capped at ``1/(aK)``. Near rest the error controller would otherwise
      grow the step to DOP853's stability limit (h aK ~ 6), where it lets errors of size
      rtol |y| through at every step (a 1e-13 jitter of F and the norms);
    * once ``|F - m| <= 1e-14 kappa |u| |w|`` the remaining motion of u and w is below
      1e-14 relative (it is at most :math:`\eta_u \kappa |F - m| |w| / K \le |F - m| /
      (\kappa |w|)` for u, likewise for w). The flow is then integrated for 40 more
      e-folds 1/(aK), so that F - m reaches rounding level, and the state is frozen:
      later times return it unchanged. Without this, a horizon of many decades would
      cost ~ aK t steps that only accumulate rounding noise. A state with
      ``aF - b == 0`` exactly, or with ``|u|^2`` and ``|w|^2`` below 1e-280 (about to
      underflow; only reached when u0 = -w0 exactly, eta_u = eta_w and b > 0, where the
      weights decay to 0 exponentially), is frozen at once.

    ``method="gd"`` runs full-batch gradient descent with the simultaneous update
    :math:`u \leftarrow u - h \eta_u \partial L/\partial u`,
    :math:`w \leftarrow w - h \eta_w \partial L/\partial w`, time :math:`t = n h`. On each
    interval between consecutive sorted output times it takes ``ceil(dt / step)`` equal
    steps of size ``dt / ceil(dt / step)`` (never larger than ``step``), so every output
    time is hit exactly; the method is first order in the step. The same freezing rule
    applies (``ceil(40 / (h a K))`` more steps, counted from the first step with
    :math:`h a K \le 1` near rest, where the GD residual contracts monotonically).
    Gradient descent costs one Python-level iteration per step (~10 us): keep
    ``max(times) / step`` moderate unless the run reaches rest.

    Observables (spec D.4/D.6 definitions, evaluated on the vectors, never via closed
    forms): ``F = kappa u.w``; ``ntk = kappa^2 (eta_u |w|^2 + eta_w |u|^2)``;
    ``ntk_plain = kappa^2 (|u|^2 + |w|^2)``; ``norm_u2 = |u|^2``; ``norm_w2 = |w|^2``;
    ``cos_uw = u.w / (|u| |w|)`` (nan if u or w is zero); ``rot_u`` = angle between u(t)
    and u0 in [0, pi], computed as ``2 atan2(|a - b|, |a + b|)`` on the unit vectors
    (Kahan; accurate for tiny and near-pi angles), nan if u0 = 0 or u(t) = 0; ``rot_w``
    likewise; ``loss_excess = (a/2) (F - m)^2``. Dot products are compensated (``dot2``: as
    if in twice the working precision, independent of the CPU and the BLAS kernel); cos and
    the angles are computed from copies rescaled to max |.| = 1, so they keep their digits for
    tiny or huge weights; an observable that overflows is inf, never an exception.

    ``Trajectory.final`` (the t -> infinity limit) is always the limit of the gradient
    *flow* started from (u0, w0), also for ``method="gd"`` (whose own limit differs by
    O(step)). The flow is continued from the last output time, with horizons
    ``T, 2T, 4T, ...`` where ``T = max(t_last, 1/(a K0))`` and
    ``K0 = kappa^2 (eta_u |w0|^2 + eta_w |u0|^2)``, until the state freezes (see above) or
    every observable changes by at most 1e-12 times its scale (for F, ntk, ntk_plain,
    norms and loss: the largest magnitude it took so far; for cos_uw and the angles:
    absolute) over two successive doublings. Convergence can be algebraic: for
    ``u0 = w0``, ``eta_u = eta_w`` and ``b = 0``, F -> 0 like 1/t (about 40 doublings);
    then ``final.F`` and the norms are ~1e-12 of their scale rather than 0.
    RuntimeError after 200 doublings without convergence.

    Parameters
    ----------
    model : Model
        Hyperparameters kappa (``output_scale``), eta_u, eta_w and data moments a, b.
    u0, w0 : array_like, shape (d,)
        Initial output-layer and hidden-layer weights (finite, same length, not both zero).
    times : array_like of float
        Output times >= 0, in any order, duplicates allowed (a scalar gives length 1).
        Time 0 returns the initial state exactly.
    method : {"flow", "gd"}
        Gradient flow (default) or gradient descent.
    step : float, optional
        Gradient descent only: the maximum step h > 0 (finite). Default
        ``1e-3 / (a K0)``. Note that GD is unstable once ``h a K > 2``; if the NTK grows
        far above K0 (small initialization) the default is too large: a RuntimeWarning is
        issued when ``h a K > 2`` at some step, and RuntimeError if the weights overflow.
        Validated whenever given, ignored by ``method="flow"``.

    Returns
    -------
    Trajectory
        Observables at ``times`` (in the given order) and ``final`` at t = infinity.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`~phasefl.params.Model`.
    ValueError
        Bad ``method``, ``step``, weights or times (the message names the argument).
    RuntimeError
        The integrator failed, gradient descent diverged, or ``final`` did not converge.
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a phasefl.params.Model, got {type(model).__name__}")
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'flow' or 'gd', got {method!r}")
    u0, w0 = check_weights(u0, w0)
    times = check_times(times)
    if step is not None:
        step = check_positive("step", step)

    kappa, eta_u, eta_w, a, _ = model.as_tuple()
    k0 = kappa * kappa * (eta_u * dot2(w0, w0) + eta_w * dot2(u0, u0))
    # initial time scale 1/(a K0); K0 > 0 unless |u0|^2, |w0|^2 underflow (then the flow is frozen)
    t_scale = min(1.0 / (a * k0), 1e300) if a * k0 > 0.0 else 1e300
    t_scale = max(t_scale, 1e-300)

    obs = Observer(model, u0, w0)
    sorted_times, inverse = np.unique(times, return_inverse=True)
    values = np.empty((sorted_times.size, len(OBSERVABLES)))

    flow = Flow(model, u0, w0)
    if not (flow.frozen or math.isfinite(a * k0)):
        raise ValueError(
            f"the NTK at initialization overflows (a K0 = {a * k0!r}): no step can follow the flow; "
            "rescale output_scale, the learning rates or the weights"
        )
    if method == "flow":
        for j, t in enumerate(sorted_times):
            flow.advance(float(t))
            values[j] = obs(flow.u, flow.w)
        flow_values = values
    else:
        h_max = GD_DEFAULT_STEP * t_scale if step is None else step
        gd = _GradientDescent(model, u0, w0)
        flow_values = np.empty_like(values)
        for j, t in enumerate(sorted_times):
            gd.advance(float(t), h_max)
            values[j] = obs(gd.u, gd.w)
            flow.advance(float(t))  # .final is the flow's limit, computed exactly as for "flow"
            flow_values[j] = obs(flow.u, flow.w)
        if gd.unstable is not None:
            warnings.warn(
                f"gradient descent with step {h_max!r} left the stable range h a K <= 2 "
                f"(h a K = {gd.unstable[1]!r} at t = {gd.unstable[0]!r}); it is not close to the flow",
                RuntimeWarning,
                stacklevel=2,
            )
    final = _final(flow, obs, flow_values, t_scale)
    return _trajectory(times, values[inverse], final)


def _trajectory(times: np.ndarray, values: np.ndarray, final: np.ndarray) -> Trajectory:
    columns = {name: values[:, i].copy() for i, name in enumerate(OBSERVABLES)}
    state = State(**{name: float(final[i]) for i, name in enumerate(OBSERVABLES)})
    return Trajectory(times=times.copy(), final=state, **columns)


def _near_rest(model: Model, u: np.ndarray, w: np.ndarray) -> tuple[bool, float, float, float]:
    """(|F - m| <= FREEZE_TOL kappa |u| |w|, aK, |u|^2, |w|^2): is the remaining motion below 1e-14?

    From d(F - m)/dt = -aK (F - m) the remaining displacement of u is at most
    eta_u kappa |F - m| |w| / K <= |F - m| / (kappa |w|), likewise for w.
    """
    kappa, eta_u, eta_w, a, _ = model.as_tuple()
    uu = dot2(u, u)
    ww = dot2(w, w)
    resid = abs(kappa * dot2(u, w) - model.target)
    near = resid <= FREEZE_TOL * kappa * math.sqrt(uu * ww)
    return near, a * kappa * kappa * (eta_u * ww + eta_w * uu), uu, ww


class Flow:
    """Gradient flow of the full state y = (u, w), integrated in pieces with DOP853."""

    def __init__(self, model: Model, u0: np.ndarray, w0: np.ndarray) -> None:
        self.kappa, self.eta_u, self.eta_w, self.a, self.b = model.as_tuple()
        self.model = model
        self.d = u0.size
        self.t = 0.0
        # Interleaved layout (u_0, w_0, u_1, w_1, ...): the two weights of a neuron sit at
        # positions 2i, 2i+1, so every vectorized operation inside the integrator treats them
        # alike. With the block layout (u, w), scipy's BLAS stage combination rounds the two
        # halves differently, which breaks the exact symmetry u(t) = w(t) of u0 = w0,
        # eta_u = eta_w; the rounding seed then grows like sqrt(t) along u - w when F -> 0.
        self.y = np.empty(2 * self.d)
        self.y[0::2] = u0
        self.y[1::2] = w0
        self.h = None  # step size carried from one piece to the next
        self.frozen = False
        self.freeze_at: float | None = None  # time at which the state is frozen (set once near rest)
        self.nsteps = 0
        self.max_step = self._check_rest()

    @property
    def u(self) -> np.ndarray:
        return self.y[0::2]

    @property
    def w(self) -> np.ndarray:
        return self.y[1::2]

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        u = y[0::2]
        w = y[1::2]
        r = self.kappa * (self.a * self.kappa * dot2(u, w) - self.b)  # kappa (aF - b)
        out = np.empty_like(y)
        np.multiply(w, -self.eta_u * r, out=out[0::2])
        np.multiply(u, -self.eta_w * r, out=out[1::2])
        return out

    def _check_rest(self) -> float:
        """Update the freezing state at (self.t, self.y); return the step cap MAX_STEP_EFOLDS / (aK)."""
        near, rate, uu, ww = _near_rest(self.model, self.u, self.w)
        if max(uu, ww) < TINY_NORM2:  # |u|^2, |w|^2 about to underflow: numerically at rest (0)
            self.frozen = True
            return np.inf
        if self.freeze_at is None and near:
            if self.a * self.kappa * dot2(self.u, self.w) == self.b:
                self.freeze_at = self.t  # exactly at rest: the right-hand side vanishes
            else:
                self.freeze_at = self.t + FREEZE_EFOLDS / rate
        if self.freeze_at is not None and self.t >= self.freeze_at:
            self.frozen = True
        return MAX_STEP_EFOLDS / rate if rate > 0.0 else np.inf

    def advance(self, t_end: float) -> None:
        """Integrate from self.t to t_end (>= self.t), ending exactly on t_end."""
        if t_end <= self.t:
            return
        if self.frozen:
            self.t = t_end
            return
        atol = ATOL_FACTOR * float(np.max(np.abs(self.y)))
        first = None if self.h is None else min(self.h, self.max_step, t_end - self.t)
        solver = DOP853(self.rhs, self.t, self.y, t_end, rtol=RTOL, atol=atol, first_step=first, max_step=self.max_step)
        natural = self.h  # the step size before this piece (the first step may be cut to t_end)
        while solver.status == "running":
            planned = solver.h_abs if natural is None else max(solver.h_abs, natural)
            natural = None
            message = solver.step()
            if solver.status == "failed":
                raise RuntimeError(f"gradient-flow integration failed at t = {solver.t!r}: {message}")
            self.nsteps += 1
            if solver.status == "running":
                self.h = solver.h_abs
            else:  # the last step was clipped to land on t_end: keep the unclipped size
                self.h = max(planned, solver.h_abs)
            self.t, self.y = solver.t, solver.y
            # Keep h aK <= MAX_STEP_EFOLDS: beyond it the relaxation mode of F sits near the
            # explicit method's stability limit, where the error controller lets errors of
            # size rtol |y| through at every step (seen as 1e-13 jitter of F and the norms).
            self.max_step = self._check_rest()
            solver.max_step = self.max_step
            # atol follows the current scale, so accuracy stays relative when the weights
            # shrink by many orders of magnitude within one piece.
            solver.atol = ATOL_FACTOR * float(np.max(np.abs(self.y)))
            if self.frozen:
                break
        self.y = solver.y.copy()
        self.t = t_end


class _GradientDescent:
    """Full-batch gradient descent with a simultaneous update of u and w."""

    def __init__(self, model: Model, u0: np.ndarray, w0: np.ndarray) -> None:
        self.model = model
        self.u = u0.copy()
        self.w = w0.copy()
        self.t = 0.0
        self.frozen = False
        self.countdown: int | None = None  # steps left before freezing (set once near rest)
        self.unstable: tuple[float, float] | None = None  # (t, h a K) at the first step with h a K > 2
        self.nsteps = 0

    def advance(self, t_end: float, h_max: float) -> None:
        dt = t_end - self.t
        if dt <= 0:
            return
        if self.frozen:
            self.t = t_end
            return
        n = max(1, math.ceil(dt / h_max))
        h = dt / n
        kappa, eta_u, eta_w, a, b = self.model.as_tuple()
        m = self.model.target
        hk2a = h * a * kappa * kappa
        u, w = self.u, self.w
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(n + 1):
                uw = dot2(u, w)
                uu = dot2(u, u)
                ww = dot2(w, w)
                if not (math.isfinite(uu) and math.isfinite(ww)):
                    t_bad, hak_bad = self.unstable or (self.t + i * h, math.nan)
                    raise RuntimeError(
                        f"gradient descent diverged at t = {self.t + i * h!r} with step {h!r} "
                        f"(h a K = {hak_bad!r} > 2 first at t = {t_bad!r}); pass a smaller step"
                    )
                if i == n:
                    break  # the last pass only checks the final state
                r = kappa * (a * kappa * uw - b)  # kappa (aF - b)
                hak = hk2a * (eta_u * ww + eta_w * uu)
                if hak > 2.0 and self.unstable is None:
                    self.unstable = (self.t + i * h, hak)
                if self.countdown is None:
                    # Near rest with a monotonically contracting residual (h a K <= 1): the remaining
                    # motion is below 1e-14 relative; take 40 more e-folds of the residual, then stop.
                    if hak <= 1.0 and abs(kappa * uw - m) <= FREEZE_TOL * kappa * math.sqrt(uu * ww):
                        self.countdown = 0 if r == 0.0 else math.ceil(FREEZE_EFOLDS / hak)
                if self.countdown is not None:
                    if self.countdown <= 0:
                        self.frozen = True
                        break
                    self.countdown -= 1
                u, w = u - (h * eta_u * r) * w, w - (h * eta_w * r) * u
                self.nsteps += 1
        self.u, self.w = u, w
        self.t = t_end


class Observer:
    """Observables of spec D.4/D.6, measured directly on the vectors."""

    def __init__(self, model: Model, u0: np.ndarray, w0: np.ndarray) -> None:
        self.kappa, self.eta_u, self.eta_w, self.a, _ = model.as_tuple()
        self.m = model.target
        self.u0_hat = unit_vector(u0)
        self.w0_hat = unit_vector(w0)

    def __call__(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        kappa = self.kappa
        uu = dot2(u, u)
        ww = dot2(w, w)
        F = kappa * dot2(u, w)
        # angles from rescaled copies (max |.| = 1): tiny or huge weights keep their digits
        u_s, uu_s = _rescaled(u)
        w_s, ww_s = _rescaled(w)
        if u_s is None or w_s is None:
            cos_uw = math.nan
        else:
            cos_uw = min(1.0, max(-1.0, dot2(u_s, w_s) / math.sqrt(uu_s * ww_s)))
        u_hat = None if u_s is None else u_s / math.sqrt(uu_s)
        w_hat = None if w_s is None else w_s / math.sqrt(ww_s)
        return np.array(
            [
                F,
                kappa * kappa * (self.eta_u * ww + self.eta_w * uu),
                kappa * kappa * (uu + ww),
                uu,
                ww,
                cos_uw,
                angle_between(self.u0_hat, u_hat),
                angle_between(self.w0_hat, w_hat),
                0.5 * self.a * (F - self.m) * (F - self.m),  # x * x: inf on overflow, where ** raises
            ]
        )


def _rescaled(v: np.ndarray) -> tuple[np.ndarray | None, float]:
    """(v / max|v_i|, its squared norm), or (None, 0.0) if v = 0."""
    vmax = float(np.max(np.abs(v)))
    if vmax == 0.0:
        return None, 0.0
    v = v / vmax
    return v, dot2(v, v)


def unit_vector(v: np.ndarray) -> np.ndarray | None:
    """v / |v| without under- or overflow; None if v = 0."""
    scaled, vv = _rescaled(v)
    return None if scaled is None else scaled / math.sqrt(vv)


def angle_between(a_hat: np.ndarray | None, b_hat: np.ndarray | None) -> float:
    """Angle in [0, pi] between unit vectors (Kahan: 2 atan2(|a - b|, |a + b|)); nan if either is None."""
    if a_hat is None or b_hat is None:
        return math.nan
    diff, total = a_hat - b_hat, a_hat + b_hat
    return 2.0 * math.atan2(math.sqrt(dot2(diff, diff)), math.sqrt(dot2(total, total)))


def _final(flow: Flow, obs: Observer, values: np.ndarray, t_scale: float) -> np.ndarray:
    """The t -> infinity limit of the flow: continue doubling the horizon until converged."""
    scale = np.fmax.reduce(np.abs(np.vstack([values, obs(flow.u, flow.w)])), axis=0)
    angles = np.array([name in _ANGLES for name in OBSERVABLES])
    horizon = max(flow.t, t_scale)
    flow.advance(horizon)
    prev = obs(flow.u, flow.w)
    if flow.frozen:
        return prev
    streak = 0
    for _ in range(MAX_DOUBLINGS):
        horizon *= 2.0
        flow.advance(horizon)
        cur = obs(flow.u, flow.w)
        if flow.frozen:
            return cur
        scale = np.fmax(scale, np.abs(cur))
        tol = FINAL_TOL * np.where(angles, 1.0, scale)
        diff = np.abs(cur - prev)
        same = (diff <= tol) | (np.isnan(cur) & np.isnan(prev))
        streak = streak + 1 if same.all() else 0
        if streak >= 2:
            return cur
        prev = cur
    raise RuntimeError(
        f"Trajectory.final did not converge after {MAX_DOUBLINGS} doublings of the horizon "
        f"(t = {horizon!r}); last change {dict(zip(OBSERVABLES, diff.tolist(), strict=True))}"
    )
