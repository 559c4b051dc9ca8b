"""Self-checks of the reference simulator (phasefl.simulate), using no closed form of the spec.

The simulator is the independent check of the exact solver, so it is tested only against
properties of the gradient flow itself: the conserved quantities of spec C, convergence to
the least-squares target, first-order convergence of gradient descent to the flow, its own
long-time limit, and input validation.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from phasefl.params import Model
from phasefl.results import OBSERVABLES, State, Trajectory
from phasefl.simulation import Flow, Observer, angle_between, dot2, simulate, unit_vector


def _k0(model, u0, w0):
    return model.output_scale**2 * (model.lr_u * (w0 @ w0) + model.lr_w * (u0 @ u0))


def _config(d=200, scale=1.0, kappa=None, lr_u=1.0, lr_w=3.0, b=1.3, seed=0):
    """A generic configuration (unequal rates, moderate feature learning)."""
    rng = np.random.default_rng(seed)
    model = Model(1.0 / d if kappa is None else kappa, lr_u, lr_w, x_var=0.8, xy_cov=b)
    return model, scale * rng.standard_normal(d), scale * rng.standard_normal(d)


def _flow_weights(model, u0, w0, times):
    """(u, w) of the simulated flow at the increasing ``times``, read off the integrator."""
    flow = Flow(model, np.asarray(u0, float), np.asarray(w0, float))
    out = []
    for t in times:
        flow.advance(float(t))
        out.append((flow.u.copy(), flow.w.copy()))
    return out


def _area(u, w):
    """D^2 = |u|^2 |w|^2 - (u.w)^2, as |u|^2 |w_perp|^2 (no cancellation for aligned vectors)."""
    uu = u @ u
    perp = w - (u @ w / uu) * u
    perp = perp - (u @ perp / uu) * u
    return uu * (perp @ perp)


# ------------------------------------------------------------------------------------------
# conserved quantities (spec C)


@pytest.mark.parametrize(
    "d, scale, kappa, lr_w, b",
    [
        (200, 1.0, None, 3.0, 1.3),  # mean field, unequal rates: K grows by a finite factor
        (100, 1e-2, 0.1, 1.0, -2.0),  # small init: weights grow by ~100, near-complete alignment
        (30, 2.0, 0.2, 0.25, 0.1),  # large init, |F0| > |m|: the NTK shrinks (disalignment)
    ],
)
def test_conserved_quantities_along_the_flow(d, scale, kappa, lr_w, b):
    model, u0, w0 = _config(d=d, scale=scale, kappa=kappa, lr_w=lr_w, b=b, seed=d)
    eta_u, eta_w = model.lr_u, model.lr_w
    times = np.concatenate([[0.0], np.logspace(-3, 3, 13)]) / (model.x_var * _k0(model, u0, w0))
    states = _flow_weights(model, u0, w0, times)

    c0 = eta_w * u0**2 - eta_u * w0**2
    ut0, wt0 = u0 / math.sqrt(eta_u), w0 / math.sqrt(eta_w)
    biv0 = np.outer(ut0, wt0) - np.outer(wt0, ut0)
    d2_0 = _area(u0, w0)
    for u, w in states:
        # per neuron: eta_w u_i^2 - eta_u w_i^2, relative to the neuron's current scale
        c = eta_w * u**2 - eta_u * w**2
        assert np.max(np.abs(c - c0) / (eta_w * u**2 + eta_u * w**2)) < 1e-10
        # area D^2 = |u|^2 |w|^2 - (u.w)^2
        assert abs(_area(u, w) - d2_0) <= 1e-10 * d2_0
        # bivector u~ w~^T - w~ u~^T; its entries are differences of products of the current
        # (possibly much larger) weights, so rounding is relative to that scale
        ut, wt = u / math.sqrt(eta_u), w / math.sqrt(eta_w)
        biv = np.outer(ut, wt) - np.outer(wt, ut)
        rounding = np.max(np.abs(ut)) * np.max(np.abs(wt))
        assert np.max(np.abs(biv - biv0)) <= 1e-10 * max(np.max(np.abs(biv0)), rounding)


def test_layer_imbalance_is_conserved_in_the_observables():
    model, u0, w0 = _config(d=500, scale=1e-2, kappa=0.05, lr_w=10.0)
    times = np.logspace(-4, 4, 17) / (model.x_var * _k0(model, u0, w0))
    tr = simulate(model, u0, w0, times)
    c = model.lr_w * tr.norm_u2 - model.lr_u * tr.norm_w2
    c0 = model.lr_w * (u0 @ u0) - model.lr_u * (w0 @ w0)
    scale = model.lr_w * tr.norm_u2 + model.lr_u * tr.norm_w2
    assert np.all(np.abs(c - c0) <= 1e-11 * scale)


def test_motion_stays_in_the_initial_plane():
    model, u0, w0 = _config(d=300)
    basis, _ = np.linalg.qr(np.stack([u0, w0], axis=1))
    times = np.logspace(-2, 2, 5) / (model.x_var * _k0(model, u0, w0))
    for u, w in _flow_weights(model, u0, w0, times):
        for v in (u, w):
            off = v - basis @ (basis.T @ v)
            assert np.linalg.norm(off) <= 1e-13 * np.linalg.norm(v)


def test_observables_depend_only_on_the_gram_numbers():
    """A common rotation of u0 and w0 (same Gram numbers) leaves every observable unchanged."""
    model, u0, w0 = _config(d=40, kappa=0.1, seed=5)
    q, _ = np.linalg.qr(np.random.default_rng(6).standard_normal((40, 40)))
    times = np.logspace(-3, 3, 13) / (model.x_var * _k0(model, u0, w0))
    a = simulate(model, u0, w0, times)
    b = simulate(model, q @ u0, q @ w0, times)
    for name in OBSERVABLES:
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(y, x, rtol=1e-11, atol=1e-12 * np.max(np.abs(x)), err_msg=name)


# ------------------------------------------------------------------------------------------
# long-time behaviour and .final


@pytest.mark.parametrize("b", [1.3, -0.7, 0.0])
def test_F_converges_to_the_target(b):
    model, u0, w0 = _config(d=150, b=b, seed=2)
    t_scale = 1.0 / (model.x_var * _k0(model, u0, w0))
    tr = simulate(model, u0, w0, [0.0, 1e3 * t_scale])
    scale = max(abs(model.target), abs(tr.F[0]))
    assert abs(tr.F[-1] - model.target) <= 1e-12 * scale
    assert abs(tr.final.F - model.target) <= 1e-12 * scale
    assert tr.final.loss_excess <= 1e-24 * scale**2
    assert tr.loss_excess[-1] < tr.loss_excess[0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # mean field
        {"d": 1000, "scale": 1e-4, "kappa": 1000**-0.5, "lr_w": 1.0},  # small init: K grows ~1e6-fold
        {"d": 20, "scale": 3.0, "kappa": 20**-0.5, "b": 0.2},  # large init
        {"d": 1, "kappa": 1.0, "b": -1.0},  # width 1
    ],
)
def test_final_matches_a_very_late_time(kwargs):
    model, u0, w0 = _config(**kwargs)
    t_scale = 1.0 / (model.x_var * _k0(model, u0, w0))
    tr = simulate(model, u0, w0, [0.0, 1e6 * t_scale])
    late = tr.at(1)
    for name in OBSERVABLES:
        x, y = getattr(tr.final, name), getattr(late, name)
        if math.isnan(x) or math.isnan(y):
            assert math.isnan(x) and math.isnan(y), name
        else:
            assert abs(x - y) <= 1e-12 * max(1.0, abs(x)), (name, x, y)
    # .final does not depend on where the requested times stop
    early = simulate(model, u0, w0, [0.0, 0.5 * t_scale]).final
    for name in ("F", "ntk", "norm_u2", "norm_w2", "cos_uw", "rot_u", "rot_w"):
        x, y = getattr(tr.final, name), getattr(early, name)
        assert abs(x - y) <= 1e-11 * max(1.0, abs(x)), (name, x, y)


def test_final_with_algebraic_convergence():
    """u0 = w0, eta_u = eta_w, b = 0: F -> 0 like 1/t; F0 t F(t) tends to a constant."""
    v = np.random.default_rng(3).standard_normal(25)
    model = Model(0.2, 1.0, 1.0, 1.0, 0.0)
    F0 = 0.2 * (v @ v)
    times = np.array([1e4, 1e6, 1e8]) / F0
    tr = simulate(model, v, v, times)
    # 1/t tail, checked without the closed form: t F(t) is asymptotically constant
    tf = times * tr.F
    assert abs(tf[2] / tf[1] - 1) < 1e-5 and abs(tf[1] / tf[0] - 1) < 1e-3
    assert 0 < tr.final.F <= 1e-11 * F0
    assert tr.final.cos_uw == pytest.approx(1.0, abs=1e-15)
    assert tr.final.ntk <= 1e-10 * tr.ntk[0]


def test_stationary_initial_state_is_exact():
    # F0 = m exactly: the gradient vanishes and nothing moves
    model = Model(1.0, 1.0, 2.0, 2.0, 2.0)
    u0, w0 = np.array([1.0, 0.0]), np.array([1.0, 3.0])
    tr = simulate(model, u0, w0, [0.0, 1.0, 1e10])
    assert np.all(tr.F == 1.0) and np.all(tr.norm_w2 == 10.0) and np.all(tr.rot_u == 0.0)
    assert tr.final == tr.at(0)


# ------------------------------------------------------------------------------------------
# gradient descent


def test_gradient_descent_converges_to_the_flow_at_first_order():
    model, u0, w0 = _config(d=50, scale=1.0, kappa=0.02, lr_w=2.0, b=1.5, seed=2)
    assert 0.01 < model.x_var * _k0(model, u0, w0) < 0.2
    times = np.array([0.0, 2.0, 4.0, 8.0, 16.0, 32.0])  # multiples of every step below
    flow = simulate(model, u0, w0, times)
    errors = []
    for step in (2.0**-4, 2.0**-5, 2.0**-6):
        gd = simulate(model, u0, w0, times, method="gd", step=step)
        assert gd.F[0] == flow.F[0]
        errors.append(np.max(np.abs(gd.F - flow.F)))
        assert gd.final == flow.final  # documented: .final is the flow's limit
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios >= 1.8) & (ratios <= 2.2)), ratios


def test_gradient_descent_default_step_and_late_times():
    model, u0, w0 = _config(d=30, kappa=0.1, seed=4)
    t_scale = 1.0 / (model.x_var * _k0(model, u0, w0))
    times = np.array([0.0, 0.5, 2.0, 1e4]) * t_scale
    gd = simulate(model, u0, w0, times, method="gd")  # h = 1e-3 / (a K0)
    flow = simulate(model, u0, w0, times)
    np.testing.assert_allclose(gd.F, flow.F, rtol=0, atol=1e-3 * abs(model.target))
    assert abs(gd.F[-1] - model.target) <= 1e-12 * abs(model.target)  # GD reaches the target too


def test_gradient_descent_divergence_is_reported():
    # small init: K grows ~1e6-fold, so the default step (set by K0) becomes unstable
    model, u0, w0 = _config(d=1000, scale=1e-4, kappa=1000**-0.5, lr_w=1.0)
    t_scale = 1.0 / (model.x_var * _k0(model, u0, w0))
    with pytest.raises(RuntimeError, match="smaller step"):
        simulate(model, u0, w0, [0.1 * t_scale], method="gd")


# ------------------------------------------------------------------------------------------
# outputs, time handling, angles


def test_times_unsorted_duplicates_and_exact_initial_state():
    model, u0, w0 = _config(d=10, kappa=0.3)
    times = np.array([3.0, 0.0, 1.0, 3.0, 0.5])
    tr = simulate(model, u0, w0, times)
    assert isinstance(tr, Trajectory) and isinstance(tr.final, State)
    np.testing.assert_array_equal(tr.times, times)
    assert tr.F[0] == tr.F[3]
    ref = simulate(model, u0, w0, np.sort(times))
    np.testing.assert_array_equal(tr.F[[1, 4, 2, 0]], ref.F[[0, 1, 2, 3]])
    # t = 0 is the initial state itself: the dot products to within one ulp of their exact values
    uu, ww, uw = _exact_dot(u0, u0), _exact_dot(w0, w0), _exact_dot(u0, w0)
    kappa, eta_u, eta_w = model.output_scale, model.lr_u, model.lr_w
    assert abs(tr.F[1] - kappa * uw) <= np.spacing(abs(kappa * uw)) * 1.5
    assert abs(tr.norm_u2[1] - uu) <= np.spacing(uu) and abs(tr.norm_w2[1] - ww) <= np.spacing(ww)
    assert tr.ntk[1] == pytest.approx(kappa**2 * (eta_u * ww + eta_w * uu), rel=4e-16)
    assert tr.rot_u[1] == 0.0 and tr.rot_w[1] == 0.0
    assert tr.loss_excess[1] == 0.5 * model.x_var * (tr.F[1] - model.target) ** 2
    scalar = simulate(model, u0, w0, 1.0)
    assert scalar.F.shape == (1,) and scalar.F[0] == pytest.approx(tr.F[2], rel=1e-13)


def test_zero_layer_gives_nan_angles_and_grows():
    model = Model(0.1, 1.0, 2.0, 1.5, 0.7)
    w0 = np.random.default_rng(3).standard_normal(20)
    tr = simulate(model, np.zeros(20), w0, [0.0, 1.0, 100.0])
    assert math.isnan(tr.cos_uw[0]) and np.all(np.isnan(tr.rot_u))
    assert tr.norm_u2[0] == 0.0 and tr.norm_u2[1] > 0.0
    assert abs(abs(tr.cos_uw[2]) - 1.0) < 1e-12  # u grows along w0 and w stays in its span
    assert tr.final.F == pytest.approx(model.target, rel=1e-12)


def test_angle_is_accurate_near_zero_and_pi():
    ref = np.array([1.0, 0.0, 0.0])
    for theta in (1e-12, 1e-6, 0.3, math.pi / 2, math.pi - 1e-9):
        for scale in (3.0, 1e-200, 1e200):
            v = scale * np.array([math.cos(theta), math.sin(theta), 0.0])
            assert angle_between(ref, unit_vector(v)) == pytest.approx(theta, rel=1e-14, abs=1e-16)
    assert angle_between(ref, -ref) == math.pi
    assert (
        unit_vector(0 * ref) is None and math.isnan(angle_between(None, ref)) and math.isnan(angle_between(ref, None))
    )


def _exact_dot(x, y) -> float:
    """x . y correctly rounded (exact rational arithmetic)."""
    return float(sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(x, y)))


@pytest.mark.parametrize("scale_exp", [-450, 0, 450])
def test_dot_products_are_compensated_and_scale_safe(scale_exp):
    """The simulator's dot product is within one ulp of exact for cancelling sums, at any scale,
    independently of the BLAS kernel (np.dot of orthogonal vectors scaled by 1e150 gives -1e284 on
    OpenBLAS's SkylakeX kernel)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=500)
    y = rng.normal(size=500)
    y -= (x @ y / (x @ x)) * x  # nearly orthogonal: x . y cancels ~15 digits
    y[::7] *= 1e8  # a wide range of magnitudes within the sum
    x, y = np.ldexp(x, scale_exp), np.ldexp(y, scale_exp)  # exact scaling by powers of two
    exact = _exact_dot(x, y)
    got = dot2(x, y)
    assert abs(got - exact) <= np.spacing(abs(exact)), (got, exact)
    assert dot2(x, x) == pytest.approx(_exact_dot(x, x), rel=2.3e-16)


def test_observables_of_tiny_and_huge_weights():
    """cos and the angles do not lose digits when |u|^2 would under- or overflow."""
    model = Model(1.0, 1.0, 1.0, 1.0, 0.0)
    u0, w0 = np.array([1.0, 2.0]), np.array([2.0, -1.0])  # orthogonal, F0 = 0 = m: at rest
    for scale in (1e-170, 1e150):
        tr = simulate(model, scale * u0, scale * w0, [0.0, 1.0])
        assert np.all(tr.cos_uw == 0.0) and np.all(tr.rot_u == 0.0) and np.all(tr.rot_w == 0.0)
        assert np.all(tr.F == 0.0) and np.all(tr.loss_excess == 0.0)


def test_observables_that_overflow_are_inf_not_an_exception():
    """|u|^2 of weights ~1e160 overflows: the observables say inf (no OverflowError)."""
    model = Model(1.0, 1.0, 1.0, 1.0, 0.0)
    u0, w0 = np.array([1.0, 2.0]) * 1e160, np.array([2.0, -1.0]) * 1e160
    tr = simulate(model, u0, w0, [0.0, 1.0])
    assert np.all(tr.norm_u2 == np.inf) and np.all(tr.ntk == np.inf)
    assert np.all(tr.F == 0.0) and np.all(tr.cos_uw == 0.0) and np.all(tr.rot_u == 0.0)
    big = Model(1e200, 1.0, 1.0, 1.0, 1.0)  # F0 ~ 1e200, (F0 - m)^2 and K0 overflow
    one = np.array([1.0])
    assert Observer(big, one, one)(one, one)[OBSERVABLES.index("loss_excess")] == np.inf
    with pytest.raises(ValueError, match="NTK at initialization overflows"):
        simulate(big, one, one, [0.0, 1.0])


# ------------------------------------------------------------------------------------------
# input validation


def _good():
    return Model(0.5, 1.0, 1.0), np.ones(3), np.arange(3.0)


@pytest.mark.parametrize("method", ["euler", "Flow", "", None, 3])
def test_bad_method(method):
    model, u0, w0 = _good()
    with pytest.raises(ValueError, match="method") as info:
        simulate(model, u0, w0, [1.0], method=method)
    assert repr(method) in str(info.value)


@pytest.mark.parametrize("step", [0.0, -1e-3, float("nan"), float("inf")])
def test_bad_step(step):
    model, u0, w0 = _good()
    with pytest.raises(ValueError, match="step") as info:
        simulate(model, u0, w0, [1.0], method="gd", step=step)
    assert repr(step) in str(info.value)


def test_bad_times_and_weights():
    model, u0, w0 = _good()
    with pytest.raises(ValueError, match="times"):
        simulate(model, u0, w0, [1.0, -0.5])
    with pytest.raises(ValueError, match="times"):
        simulate(model, u0, w0, [float("nan")])
    with pytest.raises(ValueError, match="u0 and w0"):
        simulate(model, u0, np.ones(4), [1.0])
    with pytest.raises(ValueError, match="w0"):
        simulate(model, u0, [1.0, float("inf"), 0.0], [1.0])
    with pytest.raises(ValueError, match="both zero"):
        simulate(model, np.zeros(3), np.zeros(3), [1.0])


def test_model_must_be_a_model():
    _, u0, w0 = _good()
    with pytest.raises(TypeError, match="Model"):
        simulate((0.5, 1.0, 1.0, 1.0, 1.0), u0, w0, [1.0])
