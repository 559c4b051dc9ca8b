"""The exact gradient-descent dynamics ("gd", ``phasefl.descent``): the width-independent map agrees with
the d-dimensional network's own gradient-descent loop (``phasefl.simulate(method="gd")``) at every step,
converges to the closed-form flow at first order in the step, and has the fixed points, stability,
period-2 orbit and catapult of ``phasefl.symbolic.gd``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from phasefl import Model, classify, gram, simulate, solve
from phasefl.descent import gd_batch, step_counts
from phasefl.kernels import GD_DIVERGED
from phasefl.schema import OBSERVABLES
from phasefl.symbolic import gd as derivation

RTOL = 1e-9


def weights(width: int, scale_u: float, scale_w: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return scale_u * rng.standard_normal(width), scale_w * rng.standard_normal(width)


def ntk0(model: Model, u0: np.ndarray, w0: np.ndarray) -> float:
    return model.output_scale**2 * (model.lr_u * w0 @ w0 + model.lr_w * u0 @ u0)


def catapult(width: int, hak0: float, seed: int = 0) -> tuple[Model, np.ndarray, np.ndarray, float]:
    """NTK scaling (kappa = width^-1/2, unit Gaussian init, m = 1) with a = hak0/(h K0), h = 1: a step of
    h a K0 = hak0 (the data moment a sets it, so the step stays a power of two and the times exact)."""
    u0, w0 = weights(width, 1.0, 1.0, seed)
    kappa = width**-0.5
    a = hak0 / (kappa**2 * (u0 @ u0 + w0 @ w0))
    return Model(kappa, 1.0, 1.0, a, a), u0, w0, 1.0


def case(name: str) -> tuple[Model, np.ndarray, np.ndarray, float]:
    """(model, u0, w0, step): every flow regime, widths 1 to 4000, and catapults. Steps are powers of two
    (times n h are then exact, so the network's loop takes exactly one step of h between them)."""
    if name == "small init, width 1":
        return (Model(1.0, 1.0, 1.0), *weights(1, 1e-3, 1e-3, 0), 2.0**-4)
    if name == "small init (alignment), width 20":
        return (Model(1.0, 1.0, 1.0), *weights(20, 1e-3, 1e-3, 1), 2.0**-4)
    if name == "large init (kernel), NTK scaling, width 4000":
        return (Model(4000**-0.5, 1.0, 1.0), *weights(4000, 1.0, 1.0, 2), 2.0**-3)
    if name == "negative target, unequal rates, width 7":
        return (Model(0.5, 4.0, 0.25, 1.0, -1.0), *weights(7, 0.3, 0.3, 3), 2.0**-5)
    if name == "unbalanced layers (w0 small), width 300":
        return (Model(300**-0.5, 8.0, 0.125, 1.5, 0.7), *weights(300, 1.0, 0.05, 4), 1.0)
    if name == "mean field, F0 opposite to the target, width 3":
        return (Model(1 / 3, 1.0, 1.0, 1.0, -2.0), *weights(3, 1.0, 1.0, 5), 2.0**-4)
    if name == "a zero layer (u0 = 0), width 5":
        return (Model(0.7, 1.0, 3.0, 1.0, 0.8), np.zeros(5), weights(5, 0.6, 0.6, 0)[1], 2.0**-4)
    if name == "catapult h a K0 = 3, width 4000":
        return catapult(4000, 3.0)
    if name == "catapult h a K0 = 3.6, width 1000":
        return catapult(1000, 3.6, seed=1)
    raise KeyError(name)


CASES = [
    "small init, width 1",
    "small init (alignment), width 20",
    "large init (kernel), NTK scaling, width 4000",
    "negative target, unequal rates, width 7",
    "unbalanced layers (w0 small), width 300",
    "mean field, F0 opposite to the target, width 3",
    "a zero layer (u0 = 0), width 5",
    "catapult h a K0 = 3, width 4000",
    "catapult h a K0 = 3.6, width 1000",
]
STEPS = 1200


def network(model, u0, w0, times, step):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the catapults leave h a K <= 2 on purpose
        return simulate(model, u0, w0, times, method="gd", step=step)


def relative_errors(gd, net, model: Model) -> dict[str, float]:
    """Worst error of each observable over the run, relative to max(|network's value|, floor): with
    RTOL, an absolute tolerance of RTOL * floor. Angles (0 at t = 0, in both; 0 or pi at width 1 or
    from u0 = 0) have a floor of 1e-5 rad (1e-14 rad absolute: the network's exact zeros come out
    ~1e-15). The excess loss is compared through |F - m| with a floor of 1e-5 (|m| + kappa |u||w|)
    (1e-14 of it absolute): below that the network's own F - m is its rounding (the map carries
    F - m by a product and keeps its digits there)."""
    out = {}
    for name in OBSERVABLES:
        a, b = np.asarray(getattr(gd, name)), np.asarray(getattr(net, name))
        if name == "loss_excess":
            a, b = np.sqrt(2 * a / model.x_var), np.sqrt(2 * b / model.x_var)
            floor = 1e-5 * (abs(model.target) + model.output_scale * np.sqrt(net.norm_u2 * net.norm_w2))
        elif name in ("rot_u", "rot_w", "cos_uw"):
            floor = 1e-5
        else:
            floor = 1e-300
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        err = np.abs(a - b) / np.maximum(np.abs(b), floor)
        out[name] = float(np.nanmax(err)) if np.isfinite(a).any() else 0.0
    return out


@pytest.mark.parametrize("name", CASES)
def test_the_map_is_the_networks_gradient_descent_step_by_step(name):
    """Every observable at every one of 1200 steps, to 1e-9 relative (measured: below 1e-13 for all but the
    loss and the angles that are exactly 0, whose worst, 7e-11 of their floors in ``relative_errors``, is
    the network's own rounding; the catapults included: their loss spikes, x 1.7e3 and x 7.4e3, amplify
    the rounding of both loops about as much as the residual, sqrt(7.4e3) ~ 90-fold, from a few ulps)."""
    model, u0, w0, h = case(name)
    times = h * np.arange(STEPS + 1)
    gd = solve(model, u0, w0, times, dynamics="gd", step=h)
    net = network(model, u0, w0, times, h)
    errors = relative_errors(gd, net, model)
    assert max(errors.values()) < RTOL, errors
    assert gd.F[0] == model.output_scale * (u0 @ w0) or abs(gd.F[0] / net.F[0] - 1) < 1e-15
    assert abs(gd.F[-1] - model.target) <= 1e-10 * abs(model.target)  # every case converges


def test_the_catapult_rises_then_converges_with_a_lower_ntk():
    """h a K0 = 3 (between 2 and 4): the loss first grows by orders of magnitude, the NTK falls below
    2/(h a), and the run converges to the target with an NTK well below K0 (and then final is the limit)."""
    model, u0, w0, h = case("catapult h a K0 = 3, width 4000")
    times = h * np.arange(STEPS + 1)
    gd = solve(model, u0, w0, times, dynamics="gd", step=h)
    hak = h * model.x_var * gd.ntk
    assert hak[0] == pytest.approx(3.0, rel=1e-12)
    peak = int(np.argmax(gd.loss_excess))
    assert gd.loss_excess[peak] > 100 * gd.loss_excess[0] and peak > 0
    assert hak[-1] < 2 and gd.ntk[-1] < 0.5 * gd.ntk[0]
    assert np.all(np.diff(gd.ntk[peak:]) <= 1e-12 * gd.ntk[0])  # the NTK only falls after the spike
    assert gd.final.F == model.target and gd.final.loss_excess == 0.0
    assert gd.final.ntk == pytest.approx(gd.ntk[-1], rel=1e-12)


def test_the_map_converges_to_the_flow_at_first_order_in_the_step():
    """At a fixed time, the error against the closed-form flow halves when the step halves."""
    model, u0, w0, _ = case("negative target, unequal rates, width 7")
    times = np.array([0.0, 0.5, 1.0, 2.0])
    flow = solve(model, u0, w0, times)
    errors = []
    for h in (2.0**-6, 2.0**-7, 2.0**-8):
        gd = solve(model, u0, w0, times, dynamics="gd", step=h)
        errors.append([np.max(np.abs(getattr(gd, k) - getattr(flow, k))) for k in ("F", "ntk", "norm_u2", "rot_w")])
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios >= 1.8) & (ratios <= 2.2)), ratios


def kc_zero_cell(hagm: float, h: float = 0.5) -> tuple[Model, np.ndarray, np.ndarray]:
    """Width 1, u0 = w0, equal rates: C = D = 0, so K = g|F| and the only fixed point has K = g m (m = 1,
    g = 2): h a K_inf = hagm."""
    a = hagm / (h * 2.0)
    return Model(1.0, 1.0, 1.0, a, a), np.array([0.6]), np.array([0.6])


def test_the_fixed_point_is_stable_below_h_a_k_2_and_period_two_above():
    """With K_c = 0 the fixed point F = m is isolated, with K = g m: h a K = 1.9 converges to it; at 2.1
    it is unstable and the run settles on the period-2 orbit of the derivation (``gd.PERIOD_TWO_KC0``:
    alpha_1 + alpha_2 = alpha_1 alpha_2, the factors on p multiply to 1 over two steps)."""
    h = 0.5
    times = h * np.arange(4001)
    model, u0, w0 = kc_zero_cell(1.9, h)
    gd = solve(model, u0, w0, times, dynamics="gd", step=h)
    assert abs(gd.F[-1] - 1.0) < 1e-14 and gd.final.F == 1.0
    assert h * model.x_var * gd.final.ntk == pytest.approx(1.9, rel=1e-12)

    model, u0, w0 = kc_zero_cell(2.1, h)
    gd = solve(model, u0, w0, times, dynamics="gd", step=h)
    f1, f2 = gd.F[-2], gd.F[-1]
    assert abs(f1 - f2) > 0.1  # not at F = m
    np.testing.assert_allclose(gd.F[-6::2], f1, rtol=1e-12)
    np.testing.assert_allclose(gd.F[-5::2], f2, rtol=1e-12)
    c = h * model.x_var * 2.0 / 2  # alpha = (h a g/2)(F - m), m = 1
    orbit = sorted(float(1 + a.subs(derivation.c_flip, c) / c) for a in derivation.PERIOD_TWO_KC0)  # x = 1 + alpha/c
    np.testing.assert_allclose(sorted([f1, f2]), orbit, rtol=1e-12)  # 16/21 and 25/21 at c = 1.05
    assert np.isnan(gd.final.F) and np.all(np.isnan([getattr(gd.final, k) for k in OBSERVABLES]))


def test_above_h_a_k_2_a_cell_with_kc_positive_catapults_to_another_fixed_point():
    """With K_c > 0 the fixed points F = m form a line (any K >= g|m|): started next to one with
    h a K = 2.02, the run leaves it (the loss grows ~1e4-fold) and converges to m on another, with
    h a K_inf < 2. The fixed point itself is unstable; convergence to m is not excluded."""
    u0, w0 = weights(10, 1.0, 1.0, 1)
    kappa, h = 10**-0.5, 0.5
    f0, k0 = kappa * u0 @ w0, kappa**2 * (u0 @ u0 + w0 @ w0)
    for hak, rises in ((1.98, False), (2.02, True)):
        a = hak / (h * k0)
        model = Model(kappa, 1.0, 1.0, a, a * f0 * (1 + 1e-3))
        gd = solve(model, u0, w0, h * np.arange(5001), dynamics="gd", step=h)
        assert (np.max(gd.loss_excess) > 100 * gd.loss_excess[0]) == rises
        assert gd.final.F == model.target and h * a * gd.final.ntk < 2
        assert (h * a * gd.final.ntk < 1.98) == rises


def test_a_diverging_run_is_flagged_and_the_network_diverges_too():
    model, u0, w0, h = catapult(50, 6.0)
    times = h * np.arange(200)
    gd = solve(model, u0, w0, times, dynamics="gd", step=h)
    bad = np.isinf(gd.loss_excess)
    assert bad[-1] and not bad[0]
    first = int(np.argmax(bad))
    assert np.all(bad[first:])  # once diverged, always
    for k, name in enumerate(OBSERVABLES):
        np.testing.assert_array_equal(getattr(gd, name)[first:], GD_DIVERGED[k], err_msg=name)
        np.testing.assert_array_equal(getattr(gd.final, name), GD_DIVERGED[k], err_msg=name)
    assert np.all(np.isfinite(gd.F[:first]))
    with pytest.raises(RuntimeError, match="diverged"):
        network(model, u0, w0, times, h)


def test_tiny_and_huge_inits_neither_overflow_nor_underflow():
    """The state is kept in units of 2^e: Gram numbers of 1e-300 (weights ~1e-150, whose growth to F = m
    squares factors of 1e150) or 1e+150 (F decays by 130 decades, below the rounding of kappa u.w: F is then
    m + R, with the digits of the residual) run to the target with finite observables."""
    for scale, d2 in ((1e-300, 0.0), (1e150, 1.75e300)):
        cell = (1.0, 1.0, 1.0, 1.0, 1.0, scale, 2 * scale, 0.5 * scale, d2)
        h = 2.0**-3 / max(1.0, 3 * scale)  # h a K0 <= 1/8 (K0 = 3 scale)
        gd = gd_batch(*cell, h * np.arange(0, 40001, 400), step=h)
        assert np.all(np.isfinite([getattr(gd, k) for k in OBSERVABLES])), scale
        assert abs(gd.F[-1] - 1.0) < 1e-12 and gd.final.F == 1.0
        np.testing.assert_allclose(gd.cos_uw, gd.F / (np.sqrt(gd.norm_u2) * np.sqrt(gd.norm_w2)), rtol=1e-14)
        np.testing.assert_allclose(gd.ntk, gd.norm_u2 + gd.norm_w2, rtol=1e-14)
        np.testing.assert_allclose(gd.F[0], 0.5 * scale, rtol=1e-15)
        area = gd.norm_u2 * gd.norm_w2 - (gd.F / 1.0) ** 2  # D^2 is multiplied by (1 - alpha^2)^2 per step
        assert area[0] == pytest.approx(d2, rel=1e-12, abs=1e-300)


def test_the_batch_depends_on_the_weights_only_through_their_gram_numbers():
    """Two networks of widths 3 and 500 with the same Gram numbers have the same trajectory, and the
    batch answers in the cell shape; unsorted and repeated times are answered in their order."""
    model = Model(0.3, 2.0, 0.5, 1.2, 0.9)
    u_small, w_small = weights(3, 0.7, 0.4, 6)
    g = gram(u_small, w_small)
    rng = np.random.default_rng(7)
    basis, _ = np.linalg.qr(rng.standard_normal((500, 3)))  # an isometry: the same Gram numbers
    u_big, w_big = basis @ u_small, basis @ w_small
    times = np.array([2.0, 0.0, 0.25, 2.0, 1.0])
    small = solve(model, u_small, w_small, times, dynamics="gd", step=0.125)
    big = solve(model, u_big, w_big, times, dynamics="gd", step=0.125)
    for name in OBSERVABLES:
        np.testing.assert_allclose(getattr(big, name), getattr(small, name), rtol=1e-13, atol=1e-15, err_msg=name)
    batch = gd_batch(*(np.full((2, 3), v) for v in (*model.as_tuple(), *g)), times, step=0.125)
    assert batch.F.shape == (2, 3, 5) and batch.final.F.shape == (2, 3)
    np.testing.assert_array_equal(batch.ntk[1, 2], small.ntk)
    assert small.F[1] == pytest.approx(model.output_scale * g.uw, rel=1e-15)  # t = 0: the initial state
    assert small.F[0] == small.F[3] and small.rot_u[1] == 0.0  # a repeated time; no rotation at t = 0


def test_times_must_be_whole_numbers_of_steps():
    model, u0, w0 = Model(1.0, 1.0, 1.0), np.ones(2), np.ones(2)
    with pytest.raises(ValueError, match=r"times must be whole multiples of step = 0.1 .*times\[1\] = 0.15"):
        solve(model, u0, w0, [0.0, 0.15], dynamics="gd", step=0.1)
    with pytest.raises(ValueError, match="step must be a finite number > 0"):
        solve(model, u0, w0, [0.0], dynamics="gd", step=-0.1)
    with pytest.raises(TypeError, match="needs the step"):
        solve(model, u0, w0, [0.0], dynamics="gd")
    with pytest.raises(ValueError, match="times must be finite and >= 0"):
        solve(model, u0, w0, [-0.1], dynamics="gd", step=0.1)
    # rounding of n h and of linspace is a whole number of steps
    times, counts, _ = step_counts(np.linspace(0.0, 0.7, 8), 0.1)
    np.testing.assert_array_equal(counts, np.arange(8))
    assert step_counts([0.1 * 3], 0.1)[1][0] == 3


def test_final_is_nan_until_the_run_has_converged():
    model, u0, w0, h = case("negative target, unequal rates, width 7")
    early = solve(model, u0, w0, [0.0, 1.0], dynamics="gd", step=h)
    assert np.all(np.isnan([getattr(early.final, k) for k in OBSERVABLES]))
    late = solve(model, u0, w0, [0.0, 1.0, 200.0], dynamics="gd", step=h)
    assert late.final.F == model.target and late.final.loss_excess == 0.0
    for name in ("ntk", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w"):
        assert getattr(late.final, name) == pytest.approx(getattr(late, name)[-1], rel=1e-12), name


# --- labels of finite-step runs (phasefl.classify(..., dynamics="gd")) ----------------------------------

FLOW_CASES = [  # (model, u0, w0): one per flow label
    (Model(4000**-0.5, 1.0, 1.0), *weights(4000, 1.0, 1.0, 2)),  # kernel
    (Model(1 / 20, 1.0, 1.0), *weights(20, 1e-3, 1e-3, 1)),  # alignment
    (Model(1.0, 1.0, 1.0), *weights(2, 3.0, 3.0, 6)),  # large init, width 2: disalignment
    (Model(0.5, 4.0, 0.25, 1.0, -1.0), *weights(7, 0.3, 0.3, 3)),  # unequal rates, negative target: alignment
    (Model(1.0, 1.0, 1.0, 1.0, 3.0), *weights(2, 0.3, 0.01, 6)),  # w0 tiny: rescaling
]


@pytest.mark.parametrize("k", range(len(FLOW_CASES)))
def test_a_small_step_has_the_flows_label_and_order_parameters(k):
    """h a max(K0, K_inf) = 0.02: every flow label is the flow's, K_end/K0 within 2 % of the flow's K_inf/K0 (first
    order in h), zeta the flow's (gradient descent keeps it), no loss rise, and the largest h a K met is the
    flow's (K is monotone along the flow) within 3 %."""
    model, u0, w0 = FLOW_CASES[k]
    flow = classify(model, u0, w0)
    k_max = ntk0(model, u0, w0) * max(1.0, flow.ntk_ratio)
    step = 0.02 / (model.x_var * k_max)
    gd = classify(model, u0, w0, dynamics="gd", step=step)
    assert gd.label == flow.label and gd.converged
    assert gd.ntk_ratio == pytest.approx(flow.ntk_ratio, rel=0.02)
    assert gd.zeta == pytest.approx(flow.zeta, rel=1e-12)
    assert gd.loss_rise == 1.0 and gd.loss_rise_step == 0
    assert gd.sharpness_max == pytest.approx(0.02, rel=0.03)


@pytest.mark.parametrize("hak0, label", [(1.8, "kernel"), (2.4, "catapult"), (3.6, "catapult"), (4.4, "divergent")])
def test_the_catapult_band_lies_between_2_and_4_over_a_k0_at_large_width(hak0, label):
    """NTK scaling at width 4000 (Lewkowycz et al. 2020: catapult for 2 < h a K0 < 4 at large width): below 2 the
    kernel regime, in the band a loss spike and an NTK that ends low enough (h a K_end < 2), above it divergence."""
    model, u0, w0, h = catapult(4000, hak0)
    c = classify(model, u0, w0, dynamics="gd", step=h)
    assert c.label == label
    if label == "catapult":
        assert c.loss_rise > 10 and 0 < c.loss_rise_step < c.steps and c.ntk_ratio * hak0 < 2 and c.converged
    if label == "divergent":
        assert not c.converged and c.loss_rise > 1e100


def test_the_summary_matches_the_trajectory_step_by_step():
    """loss_rise, its step, the steps to converge and the final NTK against the observed trajectory of the
    same run (the trajectory is checked against the network's own loop above)."""
    model, u0, w0, h = catapult(1000, 3.0, seed=3)
    c = classify(model, u0, w0, dynamics="gd", step=h)
    traj = solve(model, u0, w0, h * np.arange(c.steps + 1), dynamics="gd", step=h)
    loss = traj.loss_excess
    assert c.loss_rise == pytest.approx(loss.max() / loss[0], rel=1e-12)
    assert c.loss_rise_step == int(np.argmax(loss))
    assert c.ntk_ratio == pytest.approx(traj.ntk[-1] / traj.ntk[0], rel=1e-12)
    assert c.sharpness_max == pytest.approx(h * model.x_var * traj.ntk.max(), rel=1e-12)
    assert abs(traj.F[-1] - model.target) < 1e-10 and abs(traj.F[-30] - model.target) > 1e-13  # it just converged


def test_a_period_two_run_is_oscillating_and_bad_options_are_refused():
    model, u0, w0 = kc_zero_cell(2.1)
    c = classify(model, u0, w0, dynamics="gd", step=0.5, horizon=0.5 * 3000)
    assert c.label == "oscillating" and c.steps == 3000 and not c.converged
    assert classify(*kc_zero_cell(1.9), dynamics="gd", step=0.5).label != "oscillating"
    with pytest.raises(ValueError, match="step must be"):
        classify(model, u0, w0, dynamics="gd", step=-1.0)
    with pytest.raises(ValueError, match="dynamics 'flow' or 'gd', got 'sgd'"):
        classify(model, u0, w0, dynamics="sgd", step=0.5)
    with pytest.raises(TypeError, match="takes no options; got step"):
        classify(model, u0, w0, step=0.5)
