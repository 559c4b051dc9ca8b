"""Prototype trajectory kernels (bench only) that show what an output selection would buy.

``phasefl.kernels.trajectories`` always returns all 9 observables in float64: (9, n, T) x 8 bytes,
4.6 GB for 10^6 cells x 64 times. The variants F_f64, FK_f32 and all_f32 call the same generated
closed form (``cell_constants``, ``observables_at``) but store only some observables and/or
float32. FK_min_f32 evaluates only F and K: it copies the F and K lines of the generated
``observables_at`` (product form, spec D.3) and hoists the per-cell square roots out of the time
loop; ``check_FK_min`` compares it with phasefl. ``all_inline_f64`` and ``inlined_orders`` use
the generated module with ``inline="always"`` on every function instead of ``cache=True``
(numba then inlines them into the kernel at the IR level, so LLVM can drop what the kernel does
not use and hoist out of the time loop what does not depend on time); they are compiled on every
run (functions built with exec cannot be cached). They are measurements for proposed changes of
phasefl (an ``observables=`` / ``dtype=`` option, inlined generated functions), not part of it.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
from pathlib import Path

import numba
import numpy as np

from phasefl._generated.closed_form import cell_constants, observables_at


@numba.njit(parallel=True, cache=True)
def _traj_F(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        for j in range(times.shape[0]):
            out[i, j] = observables_at(times[j], c)[0]


@numba.njit(parallel=True, cache=True)
def _traj_FK(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            out[0, i, j] = obs[0]
            out[1, i, j] = obs[1]


@numba.njit(parallel=True, cache=True)
def _traj_all(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        for j in range(times.shape[0]):
            obs = observables_at(times[j], c)
            for k in range(9):
                out[k, i, j] = obs[k]


@numba.njit(parallel=True, cache=True)
def _traj_FK_min(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )  # fmt: skip
        m, g, F0, kind, Kinf, lam = c[9], c[11], c[14], c[17], c[18], c[19]
        alpha, beta, P, M, h_end, h_start, log_estar, cross = c[20], c[21], c[25], c[26], c[29], c[30], c[31], c[32]
        x_var = c[3]
        sa, sb = math.sqrt(alpha), math.sqrt(beta)
        e_star = math.exp(log_estar)
        for j in range(times.shape[0]):
            t = times[j]
            E = math.exp(-lam * t)
            omE = -math.expm1(-lam * t)
            n_plus = E * M * alpha + M * beta + P * alpha * omE
            n_minus = E * P * beta + M * beta * omE + P * alpha
            h = (sa * n_minus + sb * n_plus) / (n_minus * n_plus)
            if kind == 2.0 and m != 0.0:
                F = E * F0 * m / (-F0 * omE + m)
            elif kind == 2.0:
                F = F0 / (g * t * x_var * abs(F0) + 1.0)
            elif kind == 0.0:
                F = E * F0 * h / h_start + h * m * omE / h_end
            else:
                F = cross * h * e_star * math.expm1(-lam * t - log_estar)
            if kind == 2.0:
                K = g * abs(F)
            else:
                K = Kinf * (alpha * n_minus**2 + beta * n_plus**2) / (n_minus * n_plus)
            out[0, i, j] = F
            out[1, i, j] = K


def check_FK_min(inputs: np.ndarray, times: np.ndarray) -> float:
    """Max relative difference of FK_min (in float64) from phasefl's F and K."""
    from phasefl import kernels

    ref = kernels.trajectories(inputs, times)[:2]
    out = np.empty_like(ref)
    _traj_FK_min(np.ascontiguousarray(inputs), times, out)
    scale = np.maximum(np.abs(ref), 1e-300)
    return float(np.max(np.abs(out - ref) / scale))


_INLINE_KERNELS = """
@numba.njit(parallel=True)
def traj_all(inputs, times, out):
    for i in numba.prange(inputs.shape[1]):
        c = cf.cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )
        for j in range(times.shape[0]):
            obs = cf.observables_at(times[j], c)
            for k in range(9):
                out[k, i, j] = obs[k]


@numba.njit(parallel=True)
def orders(inputs, out):
    for i in numba.prange(inputs.shape[1]):
        c = cf.cell_constants(
            inputs[0, i], inputs[1, i], inputs[2, i], inputs[3, i], inputs[4, i],
            inputs[5, i], inputs[6, i], inputs[7, i], inputs[8, i],
        )
        par = cf.order_parameters(c)
        for k in range(7):
            out[k, i] = par[k]
"""


def inlined_kernels():
    """(traj_all, orders): phasefl's trajectory and order-parameter loops over the generated closed
    form re-decorated with ``inline="always"`` (compiled now; about ten seconds)."""
    import phasefl

    src = (Path(phasefl.__file__).parent / "_generated" / "closed_form.py").read_text()
    old = '@numba.njit(cache=True, error_model="numpy")'
    if old not in src:
        raise RuntimeError("the generated module's decorator changed; update bench/prototypes.py")
    path = Path(tempfile.mkdtemp(prefix="phasefl-inline-")) / "closed_form_inline.py"
    path.write_text(src.replace(old, '@numba.njit(error_model="numpy", inline="always")'))
    spec = importlib.util.spec_from_file_location("closed_form_inline", path)
    cf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cf)
    ns = {"numba": numba, "cf": cf}
    exec(_INLINE_KERNELS, ns)
    return ns["traj_all"], ns["orders"]


VARIANTS = {
    # name: (description, observables stored, dtype)
    "F_f64": ("F only, float64", 1, np.float64),
    "FK_f32": ("F and K, float32", 2, np.float32),
    "all_f32": ("all 9 observables, float32", 9, np.float32),
    "FK_min_f32": ("F and K only, per-cell roots hoisted, float32", -2, np.float32),
    "all_inline_f64": ("all 9 observables, float64, generated functions inlined", -9, np.float64),
}


_INLINED = None


def trajectories(variant: str, inputs: np.ndarray, times: np.ndarray) -> np.ndarray:
    _, n_obs, dtype = VARIANTS[variant]
    inputs = np.ascontiguousarray(inputs, dtype=np.float64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    if n_obs == 1:
        out = np.empty((inputs.shape[1], times.size), dtype=dtype)
        _traj_F(inputs, times, out)
    elif n_obs == 2:
        out = np.empty((2, inputs.shape[1], times.size), dtype=dtype)
        _traj_FK(inputs, times, out)
    elif n_obs == -2:
        out = np.empty((2, inputs.shape[1], times.size), dtype=dtype)
        _traj_FK_min(inputs, times, out)
    elif n_obs == -9:
        global _INLINED
        if _INLINED is None:
            _INLINED = inlined_kernels()
        out = np.empty((9, inputs.shape[1], times.size), dtype=dtype)
        _INLINED[0](inputs, times, out)
    else:
        out = np.empty((9, inputs.shape[1], times.size), dtype=dtype)
        _traj_all(inputs, times, out)
    return out
