"""Training by gradient flow (small-step full-batch GD), the observables, and the kernel counterpart.

Gradient flow and its time. The network is trained on L = mean((f(x) - y)^2) / 2 over the
training set by full-batch gradient descent W_l <- W_l - h eta_l dL/dW_l, the Euler scheme of
the gradient flow dW_l/dt = -eta_l dL/dW_l (spec B). Its time is measured in two clocks:

* the flow time t = sum of the steps h (the exact model's t);
* the *trace time* tau = integral of tr(Theta_train)/n dt, the NTK's mean eigenvalue integrated
  over time. In the exact model tr(Theta_train)/n = a K(t), so tau = integral a K dt and the
  residual obeys F - m = (F0 - m) e^(-tau) exactly, whatever K does; training to a fixed tau
  reaches the same depth of convergence at every init scale, including the slow plateau of
  small initializations.

Each step is h = min(step / lambda_max, max_rel_change / max_l (eta_l |dL/dW_l| / |W_l|)): a fixed
fraction of the fastest mode's time scale (lambda_max, the top eigenvalue of Theta_train/n, is
estimated every ``refresh`` steps as the probe batch's top-eigenvalue share of tr Theta times the
training set's tr(Theta_train)/n, which is computed every step), and no layer moves by more than a
fixed fraction of its norm (this bounds the NTK's change per step where the NTK grows from a tiny
initial value). A gradient-flow path does not depend on how time is stepped along it, so this
schedule only sets the discretization error, which is first order in (step, max_rel_change):
halving both halves it (tests/test_empirical.py). In the exact model lambda_max = a K, so
h a K = step.

Observables at checkpoints (spec D.6, F, measured on a fixed probe batch of P training points):

* ``ntk_trace``: per-layer tr(Theta_l)/P. The NTK *scale* is their sum, tr(Theta)/P. In the exact
  model Theta = K x x^T, so tr(Theta)/P = K mean(x_p^2) and the ratio to its initial value is K(t)/K0
  exactly. The trace (not the Frobenius norm) is used because it is additive over layers, which
  gives the imbalance fraction below, and it is the rate of the flow's clock tau.
* ``ntk_frobenius``: |Theta|_F/P; ``kta``: the kernel-target alignment y^T Theta y / (|Theta|_F |y|^2);
  ``ntk_cos0``: <Theta, Theta_0>_F / (|Theta|_F |Theta_0|_F), 1 while only the NTK's scale changes.
* per layer: ``rotation`` = angle between W_l(t) and W_l(0) (flattened; radians) and
  ``norm_ratio`` = |W_l(t)|_F / |W_l(0)|_F (the exact model's rot_u/rot_w and |u|/|u0|, |w|/|w0|).
* train/test loss and accuracy (sign of f against the sign of y).

The order parameters and the label use the exact model's rule (``phasefl.regimes.label_codes``):

* rK = tr Theta(T) / tr Theta(0) - 1, at the end T of training (the analogue of K_inf/K0 - 1);
* zeta = |T_last - T_hidden| / (T_last + T_hidden) at initialization, with T_last the last layer's
  share of tr Theta(0) and T_hidden that of all hidden layers together (the blocks that lr_ratio
  scales against each other). It is 2p - 1 with p the fraction of the NTK carried by the dominant
  block. In the exact model T_hidden - T_last = kappa^2 C x^2-weighted and T_hidden + T_last = K0,
  so zeta_emp = |C| kappa^2 / K0 = zeta * Kc / K0 = zeta sqrt(1 - Gamma0^2) (spec E.1): equal to the
  exact zeta when u0 . w0 = 0, and below it by Gamma0^2 / 2 ~ 1/(2d) for i.i.d. init. The label can
  differ only when zeta >= 0.9 > zeta sqrt(1 - Gamma0^2), a rescaling cell with a large correlated
  initial output.

The kernel (linearized) counterpart f_lin(x; W) = f(x; W0) + J(x; W0) (W - W0) is trained by the
same GD steps h_k. Its kernel is frozen at Theta_0, so with Theta_0(train, train)/n = V diag(lambda) V^T
the training residual is V prod_k (1 - h_k lambda) V^T (f0 - y) and the test function is
f_lin = f0 - Theta_0(test, train)/n V diag(sum_k h_k prod_{j<k} (1 - h_j lambda)) V^T (f0 - y)_train,
exact for the steps taken (one eigendecomposition, float64). Its t -> infinity limit, the kernel
regression from f0, is reported too (``lin_test_acc_inf``). ``kernel_distance`` =
max_t |f(t) - f_lin(t)|_test / |f_lin(inf) - f0|_test (RMS over the test set, max over the
checkpoints): 0 for kernel dynamics, Theta(1) when feature learning changed the function. In the
exact model it is max_t |F - F_kernel| / |m - F0|, the kernel-baseline distance of
``phasefl.baseline`` (here sampled at the checkpoints, there exact; and since the counterpart
takes the same steps, GD's discretization error cancels from it).
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..params import check_positive
from ..regimes import KERNEL_THRESHOLD, LABELS, ZETA_THRESHOLD, label_codes
from ._torch import dtype_of, torch
from .data import Dataset
from .network import MLP, factors, forward, loss_gradients, ntk, ntk_from_factors, trace_terms


@dataclass(frozen=True)
class Schedule:
    """How long and how finely to follow the gradient flow.

    Parameters
    ----------
    horizon : float
        End of training in trace time tau (the exact model's residual is e^-tau of the initial one).
    step : float
        h * lambda_max per step: the step in units of the fastest mode's time scale 1/lambda_max, with
        lambda_max the top eigenvalue of Theta_train/n (estimated as the probe batch's top-eigenvalue
        share of tr Theta times the training set's tr(Theta_train)/n).
    max_rel_change : float
        Largest relative change |Delta W_l| / |W_l| of any layer in one step.
    max_steps : int
        Stop here even if the horizon is not reached (the run is then marked not converged).
    checkpoints : int
        Number of measurement times: tau = 0 and log-spaced up to the horizon.
    refresh : int
        Steps between two estimates of the top eigenvalue's share of the NTK trace.
    dtype : "float32" or "float64"
    """

    horizon: float = 300.0
    step: float = 0.5
    max_rel_change: float = 0.05
    max_steps: int = 4000
    checkpoints: int = 12
    refresh: int = 10
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for name in ("horizon", "step", "max_rel_change"):
            object.__setattr__(self, name, check_positive(name, getattr(self, name)))
        if int(self.max_steps) != self.max_steps or self.max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps!r}")
        if int(self.refresh) != self.refresh or self.refresh < 1:
            raise ValueError(f"refresh must be a positive integer, got {self.refresh!r}")
        if int(self.checkpoints) != self.checkpoints or self.checkpoints < 2:
            raise ValueError(f"checkpoints must be an integer >= 2, got {self.checkpoints!r}")
        dtype_of(self.dtype)

    def targets(self) -> np.ndarray:
        """Trace times of the checkpoints: 0, then log-spaced from horizon/100 to the horizon."""
        return np.concatenate([[0.0], np.geomspace(self.horizon / 100, self.horizon, self.checkpoints - 1)])


@dataclass(frozen=True)
class Run:
    """One trained network: its history at the checkpoints, its kernel counterpart and its label.

    ``history`` maps names to arrays over checkpoints (first axis): tau, time, step, train_loss,
    test_loss, train_acc, test_acc, ntk_trace (checkpoints, L), ntk_plain_trace (checkpoints, L),
    ntk_frobenius, kta, ntk_cos0, rotation (checkpoints, L), norm_ratio (checkpoints, L) and,
    with the linearized counterpart, lin_train_loss, lin_test_loss, lin_train_acc, lin_test_acc,
    fun_distance (RMS over the test set of f - f_lin), lin_displacement (RMS of f_lin - f0) and their
    t -> infinity values (``*_inf``); ``f_test`` holds the network's test-set outputs.
    ``summary`` holds the scalars of the sweep (see ``SUMMARY``).
    """

    net: MLP
    schedule: Schedule
    history: dict[str, np.ndarray]
    summary: dict[str, float]
    label: str
    seconds: float
    weights: list = field(repr=False, default_factory=list)


#: Scalar results of a run, as stored per cell by ``phasefl.empirical.sweep`` (name -> (long name, units)).
SUMMARY = {
    "ntk_ratio": ("tr Theta(T) / tr Theta(0), learning-rate-weighted empirical NTK on the probe batch", "1"),
    "ntk_rel_change": ("tr Theta(T) / tr Theta(0) - 1", "1"),
    "ntk_plain_ratio": ("un-weighted empirical NTK trace ratio", "1"),
    "ntk_min_ratio": ("smallest tr Theta(t) / tr Theta(0) over the checkpoints", "1"),
    "zeta": ("imbalance fraction |T_last - T_hidden| / tr Theta(0)", "1"),
    "ntk_share_last": ("share of tr Theta(0) carried by the last layer", "1"),
    "ntk_cos0": ("cosine between Theta(T) and Theta(0) (1: only the scale changed)", "1"),
    "kta0": ("kernel-target alignment at initialization", "1"),
    "kta": ("kernel-target alignment at the end", "1"),
    "rotation_last": ("rotation of the last layer, angle(W_L(T), W_L(0))", "degrees"),
    "rotation_hidden": ("largest rotation of a hidden layer", "degrees"),
    "norm_ratio_last": ("|W_L(T)| / |W_L(0)|", "1"),
    "norm_ratio_hidden": ("|W_l(T)| / |W_l(0)| of the hidden layer that changed most (log scale)", "1"),
    "train_loss": ("final training loss mean((f - y)^2)/2", "1"),
    "test_loss": ("final test loss", "1"),
    "train_acc": ("final training accuracy", "1"),
    "test_acc": ("final test accuracy", "1"),
    "test_acc0": ("test accuracy at initialization", "1"),
    "lin_test_loss": ("final test loss of the linearized (kernel) network", "1"),
    "lin_test_acc": ("final test accuracy of the linearized (kernel) network", "1"),
    "lin_train_loss": ("final training loss of the linearized (kernel) network", "1"),
    "lin_test_acc_inf": ("test accuracy of the linearized network trained to t = infinity (kernel regression)", "1"),
    "lin_train_acc_inf": ("training accuracy of the linearized network at t = infinity", "1"),
    "kernel_distance": ("max_t |f - f_lin|_test / |f_lin(inf) - f0|_test (distance to the kernel counterpart)", "1"),
    "output0": ("RMS of the initial output f(x; W0) over the test set", "1"),
    "tau": ("trace time reached", "1"),
    "time": ("gradient-flow time reached", "1"),
    "steps": ("GD steps taken", "1"),
    "converged": ("1 if the horizon was reached within max_steps", "1"),
}


#: Arrays of ``Run.history`` recorded at every checkpoint (the linearized counterpart adds its own).
HISTORY = (
    "tau", "time", "step", "train_loss", "test_loss", "train_acc", "test_acc", "ntk_trace", "ntk_plain_trace",
    "ntk_frobenius", "kta", "ntk_cos0", "rotation", "norm_ratio", "f_test",
)  # fmt: skip


def top_share(net: MLP, weights, x) -> float:
    """lambda_max(Theta) / tr(Theta) on the batch x: the top eigenvalue's share of the NTK (in (0, 1])."""
    theta = ntk(net, weights, x).sum(0).double()
    lam = torch.linalg.eigvalsh(theta)
    return float(lam[-1] / lam.clamp(min=0).sum())


def _angle(a, b) -> float:
    """Angle between two weight matrices (flattened), radians; nan if either is zero."""
    norms = float(a.norm() * b.norm())
    if norms == 0:
        return math.nan
    return math.acos(max(-1.0, min(1.0, float((a * b).sum()) / norms)))


def _ratio(a, b) -> float:
    """|a| / |b|, nan if b = 0."""
    nb = float(b.norm())
    return float(a.norm()) / nb if nb > 0 else math.nan


def train(
    net: MLP,
    data: Dataset,
    schedule: Schedule | None = None,
    seed: int = 0,
    weights=None,
    linearized: bool = True,
    kernel_threshold: float = KERNEL_THRESHOLD,
    zeta_threshold: float = ZETA_THRESHOLD,
    on_step: Callable[[int, float], None] | None = None,
) -> Run:
    """Train ``net`` on ``data`` by small-step GD (gradient flow) and measure the mechanisms.

    Parameters
    ----------
    net : MLP
    data : Dataset
        Train/test split and the probe batch (``phasefl.empirical.digits`` or your own arrays).
    schedule : Schedule
    seed : int
        Seed of the initialization (ignored if ``weights`` is given).
    weights : list of L arrays, optional
        Initial weights W_1 ... W_L (e.g. the exact model's w0[:, None] and u0[None, :]).
    linearized : bool
        Also train the kernel counterpart (an n_train x n_train eigendecomposition).
    kernel_threshold, zeta_threshold : float
        The label rule's thresholds (spec F; ``phasefl.regimes``).
    on_step : callable(step, tau), optional
        Called after every step (progress).

    Returns
    -------
    Run
    """
    schedule = Schedule() if schedule is None else schedule
    if data.input_dim != net.input_dim:
        raise ValueError(f"the data have input dimension {data.input_dim}, the network {net.input_dim}")
    started = _time.perf_counter()
    dtype = dtype_of(schedule.dtype)
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=dtype)  # noqa: E731
    x_tr, y_tr, x_te, y_te = as_t(data.x_train), as_t(data.y_train), as_t(data.x_test), as_t(data.y_test)
    x_pr, y_pr = x_tr[data.probe], y_tr[data.probe]
    W = net.init(seed, schedule.dtype) if weights is None else [w.to(dtype) for w in net.check_weights(weights)]
    W0 = [w.clone() for w in W]

    theta0 = ntk(net, W0, x_pr).sum(0)
    theta0_norm = float(theta0.norm())
    if not (theta0_norm > 0 and math.isfinite(theta0_norm)):
        raise ValueError("the initial NTK on the probe batch is zero or not finite: the network cannot train")

    hist: dict[str, list] = {k: [] for k in HISTORY}

    def record(step: int, tau: float, t: float, f_tr) -> None:
        _, a_pr, d_pr = factors(net, W, x_pr)
        terms = ntk_from_factors(net, a_pr, d_pr)
        theta = terms.sum(0)
        p = theta.shape[0]
        fro = float(theta.norm())
        f_te = forward(net, W, x_te)
        hist["tau"].append(tau)
        hist["time"].append(t)
        hist["step"].append(step)
        hist["train_loss"].append(float(0.5 * ((f_tr - y_tr) ** 2).mean()))
        hist["test_loss"].append(float(0.5 * ((f_te - y_te) ** 2).mean()))
        hist["train_acc"].append(float((torch.sign(f_tr) == torch.sign(y_tr)).to(dtype).mean()))
        hist["test_acc"].append(float((torch.sign(f_te) == torch.sign(y_te)).to(dtype).mean()))
        hist["ntk_trace"].append(np.array([float(torch.diagonal(m).sum()) / p for m in terms]))
        hist["ntk_plain_trace"].append(trace_terms(net, a_pr, d_pr, weighted=False).double().numpy())
        hist["ntk_frobenius"].append(fro / p)
        hist["kta"].append(float(y_pr @ theta @ y_pr) / (fro * float(y_pr @ y_pr)))
        hist["ntk_cos0"].append(float((theta * theta0).sum()) / (fro * theta0_norm))
        hist["rotation"].append(np.array([_angle(w, w0) for w, w0 in zip(W, W0)]))
        hist["norm_ratio"].append(np.array([_ratio(w, w0) for w, w0 in zip(W, W0)]))
        hist["f_test"].append(f_te.double().numpy())

    steps, converged = _gradient_flow(net, W, x_tr, y_tr, x_pr, schedule, record, on_step)

    history = {k: np.asarray(v) for k, v in hist.items()}
    if linearized:
        history.update(_linearized(net, W0, data, steps, history["step"], history["f_test"], schedule.dtype))
    summary = _summary(history, converged)
    code = int(label_codes(summary["ntk_rel_change"], summary["zeta"], kernel_threshold, zeta_threshold))
    return Run(net, schedule, history, summary, LABELS[code], _time.perf_counter() - started, W)


def _gradient_flow(
    net: MLP,
    W: list,
    x_tr,
    y_tr,
    x_pr,
    schedule: Schedule,
    record: Callable[[int, float, float, object], None],
    on_step: Callable[[int, float], None] | None,
) -> tuple[list[float], bool]:
    """Step ``W`` (in place) along the gradient flow to the schedule's horizon, calling
    ``record(step, tau, t, f_train)`` at every checkpoint (and at the last step if ``max_steps``
    stops it first). Returns the steps h taken and whether the horizon was reached."""
    eta = net.learning_rates
    targets = schedule.targets()
    k_next, tau, t, step = 0, 0.0, 0.0, 0
    steps: list[float] = []
    converged = False
    while True:
        f, inputs, deltas = factors(net, W, x_tr)
        if not bool(torch.isfinite(f).all()):
            raise FloatingPointError(f"the network diverged at step {step} (tau = {tau:.3g}); lower the step")
        if k_next < targets.size and tau >= targets[k_next] * (1 - 1e-12):
            record(step, tau, t, f)
            while k_next < targets.size and tau >= targets[k_next] * (1 - 1e-12):
                k_next += 1
        if k_next >= targets.size:
            converged = True
            break
        if step >= schedule.max_steps:
            record(step, tau, t, f)
            break
        residual = f - y_tr
        rate = float(trace_terms(net, inputs, deltas).sum())
        if step % schedule.refresh == 0:
            share = top_share(net, W, x_pr)
        grads = loss_gradients(net, inputs, deltas, residual)
        rel = max(eta[l] * float(grads[l].norm()) / max(float(W[l].norm()), 1e-300) for l in range(net.depth))
        h = schedule.step / (share * rate)
        if rel > 0:
            h = min(h, schedule.max_rel_change / rel)
        # do not step past the next checkpoint by more than the step itself (hit the horizon closely)
        h = min(h, max((targets[k_next] - tau) / rate, 1e-3 * schedule.step / rate))
        for l in range(net.depth):
            W[l] = W[l] - (h * eta[l]) * grads[l]
        tau += h * rate
        t += h
        step += 1
        steps.append(h)
        if on_step is not None:
            on_step(step, tau)
    return steps, converged


def _linearized(net: MLP, W0, data: Dataset, steps, at_steps, f_test, dtype: str) -> dict:
    """The kernel counterpart trained with the same GD steps, at the checkpoints and at t = infinity.

    In the eigenbasis of Theta_0(train, train)/n = V diag(lambda) V^T each step h multiplies the
    training residual by (1 - h lambda) and adds h V^T r to the integrated residual, so the whole
    run costs one eigendecomposition and O(n) per step (in float64).
    """
    dt = dtype_of(dtype)
    x_all = torch.as_tensor(np.concatenate([data.x_train, data.x_test]), dtype=dt)
    n = data.x_train.shape[0]
    f0_all, inputs, deltas = factors(net, W0, x_all)
    theta = ntk_from_factors(net, inputs, deltas, cols=slice(0, n)).sum(0).double() / n  # (n + n_test, n)
    f0 = f0_all.double()
    f0_tr, f0_te = f0[:n], f0[n:]
    y_tr = torch.as_tensor(data.y_train, dtype=torch.float64)
    y_te = torch.as_tensor(data.y_test, dtype=torch.float64)
    lam, vec = torch.linalg.eigh(theta[:n])  # torch, not numpy: one thread, no BLAS oversubscription
    lam = lam.clamp(min=0.0)
    r0 = vec.T @ (f0_tr - y_tr)
    proj_te = theta[n:] @ vec
    out: dict[str, list] = {
        k: []
        for k in (
            "lin_train_loss",
            "lin_test_loss",
            "lin_train_acc",
            "lin_test_acc",
            "fun_distance",
            "lin_displacement",
        )
    }

    def measure(decay, integral):
        r_tr = vec @ (decay * r0)
        f_te = f0_te - proj_te @ (integral * r0)
        return (
            float(0.5 * (r_tr**2).mean()),
            float(0.5 * ((f_te - y_te) ** 2).mean()),
            float((torch.sign(r_tr + y_tr) == torch.sign(y_tr)).double().mean()),
            float((torch.sign(f_te) == torch.sign(y_te)).double().mean()),
            f_te,
        )

    decay, integral = torch.ones_like(lam), torch.zeros_like(lam)
    done = 0
    for at, f_nl in zip(at_steps, f_test):
        for h in steps[done:at]:
            integral += h * decay
            decay *= 1.0 - h * lam
        done = at
        *scores, f_te = measure(decay, integral)
        for key, value in zip(("lin_train_loss", "lin_test_loss", "lin_train_acc", "lin_test_acc"), scores):
            out[key].append(value)
        out["fun_distance"].append(float(((torch.as_tensor(f_nl) - f_te) ** 2).mean().sqrt()))
        out["lin_displacement"].append(float(((f_te - f0_te) ** 2).mean().sqrt()))
    result = {k: np.asarray(v) for k, v in out.items()}
    # t -> infinity: kernel regression from f0 (modes below 1e-12 lambda_max never move)
    live = lam > 1e-12 * float(lam[-1])
    *scores, f_inf = measure((~live).double(), torch.where(live, 1.0 / torch.where(live, lam, 1.0), 0.0))
    for key, value in zip(("lin_train_loss", "lin_test_loss", "lin_train_acc", "lin_test_acc"), scores):
        result[key + "_inf"] = np.asarray(value)
    result["lin_displacement_inf"] = np.asarray(float(((f_inf - f0_te) ** 2).mean().sqrt()))
    return result


def _summary(h: dict, converged: bool) -> dict[str, float]:
    trace = h["ntk_trace"].sum(axis=1)
    last0, hidden0 = h["ntk_trace"][0, -1], h["ntk_trace"][0, :-1].sum()
    rk = (trace[-1] - trace[0]) / trace[0]
    log_norm = np.abs(np.log(h["norm_ratio"][-1, :-1]))
    out = {
        "ntk_ratio": trace[-1] / trace[0],
        "ntk_rel_change": rk,
        "ntk_plain_ratio": h["ntk_plain_trace"][-1].sum() / h["ntk_plain_trace"][0].sum(),
        "ntk_min_ratio": trace.min() / trace[0],
        "zeta": abs(last0 - hidden0) / (last0 + hidden0),
        "ntk_share_last": last0 / (last0 + hidden0),
        "ntk_cos0": h["ntk_cos0"][-1],
        "kta0": h["kta"][0],
        "kta": h["kta"][-1],
        "rotation_last": np.degrees(h["rotation"][-1, -1]),
        "rotation_hidden": np.degrees(h["rotation"][-1, :-1].max()),
        "norm_ratio_last": h["norm_ratio"][-1, -1],
        "norm_ratio_hidden": h["norm_ratio"][-1, :-1][np.argmax(log_norm)],
        "train_loss": h["train_loss"][-1],
        "test_loss": h["test_loss"][-1],
        "train_acc": h["train_acc"][-1],
        "test_acc": h["test_acc"][-1],
        "test_acc0": h["test_acc"][0],
        "output0": float(np.sqrt(np.mean(h["f_test"][0] ** 2))),
        "tau": h["tau"][-1],
        "time": h["time"][-1],
        "steps": float(h["step"][-1]),
        "converged": float(converged),
    }
    if "fun_distance" in h:
        scale = max(float(h["lin_displacement_inf"]), float(h["lin_displacement"].max()))
        out.update(
            lin_test_loss=h["lin_test_loss"][-1],
            lin_test_acc=h["lin_test_acc"][-1],
            lin_train_loss=h["lin_train_loss"][-1],
            lin_test_acc_inf=h["lin_test_acc_inf"],
            lin_train_acc_inf=h["lin_train_acc_inf"],
            kernel_distance=h["fun_distance"].max() / scale if scale > 0 else 0.0,
        )
    else:
        nan = float("nan")
        out.update(
            lin_test_loss=nan,
            lin_test_acc=nan,
            lin_train_loss=nan,
            lin_test_acc_inf=nan,
            lin_train_acc_inf=nan,
            kernel_distance=nan,
        )
    return {k: float(v) for k, v in out.items()}
