"""The documented meaning of every multiplier, for every parametrization and every sweep axis.

The formulas are written out here again, from the documentation (README, ``--help``), not imported:
a change of the mapping in the package must change this file too.
"""

import itertools

import numpy as np
import pytest

import phasefl
from phasefl.sweep import SweepSpec, cell_parameters, parse_range, sweep

# (kappa, sigma_u, sigma_w, eta_u, eta_w) exponents of d in each parametrization, as documented
BASE = {
    "ntk": lambda d: (d**-0.5, 1.0, 1.0, 1.0, 1.0),
    "mean-field": lambda d: (1 / d, 1.0, 1.0, 1.0, 1.0),
    "mup": lambda d: (1.0, 1 / d, 1.0, 1 / d, d),
    "standard": lambda d: (1.0, d**-0.5, 1.0, 1.0, 1.0),
}


def documented(param, d, m):
    """The README's rule: sigma_u/w default to init_scale; lr_ratio sets lr_w = lr_u * lr_ratio."""
    k, su, sw, eu, ew = BASE[param](d)
    init = m.get("init_scale", 1.0)
    lr_u = m.get("lr_u", 1.0)
    lr_w = lr_u * m["lr_ratio"] if "lr_ratio" in m else m.get("lr_w", 1.0)
    return (
        k * m.get("output_scale", 1.0),
        su * m.get("init_scale_u", init),
        sw * m.get("init_scale_w", init),
        eu * lr_u,
        ew * lr_w,
    )


MULTIPLIER_AXES = ["output_scale", "init_scale", "init_scale_u", "init_scale_w", "lr_u", "lr_w", "lr_ratio"]
FIXED_CHOICES = [{}, {"lr_u": 2.0, "lr_ratio": 3.0}, {"init_scale": 2.0, "init_scale_u": 3.0}, {"lr_w": 5.0}]


@pytest.mark.parametrize("param", list(BASE))
@pytest.mark.parametrize("axis", MULTIPLIER_AXES + ["width", "target"])
@pytest.mark.parametrize("fixed", FIXED_CHOICES, ids=["none", "lr_u+ratio", "init+init_u", "lr_w"])
def test_every_cell_has_the_documented_hyperparameters(param, axis, fixed):
    fixed = {k: v for k, v in fixed.items() if k != axis}
    given = set(fixed) | {axis}
    for clash, words in (({"lr_w", "lr_ratio"}, "--lr-w or --lr-ratio"), (set(MULTIPLIER_AXES[1:4]), "no effect")):
        if clash <= given:  # one of them would have no effect: refused
            with pytest.raises(ValueError, match=words):
                SweepSpec((parse_range(axis, "0.5:8:5"),), fixed, param)
            return
    values = "-1:2:4" if axis == "target" else ("3:3000:4" if axis == "width" else "0.5:8:5")
    spec = SweepSpec((parse_range(axis, values),), {"width": 50.0, **fixed} if axis != "width" else fixed, param)
    cells = cell_parameters(spec)
    for i, v in enumerate(spec.axes[0].values):
        d = v if axis == "width" else 50.0
        m = dict(fixed)
        if axis not in ("width", "target"):
            m[axis] = v
        want = documented(param, d, m)
        got = tuple(cells[k][i] for k in ("output_scale", "init_scale_u", "init_scale_w", "lr_u", "lr_w"))
        np.testing.assert_allclose(got, want, rtol=1e-15, err_msg=f"{param} {axis}={v} {fixed}")
        assert cells["xy_cov"][i] == (v if axis == "target" else 1.0) and cells["x_var"][i] == 1.0


def test_two_axes_cross_and_the_title_states_the_formulas():
    spec = SweepSpec((parse_range("lr_u", "1e-3:1e3:3"), parse_range("lr_ratio", "1e-2:1e2:3")), {}, "ntk")
    cells = cell_parameters(spec)
    for (i, lr_u), (j, ratio) in itertools.product(enumerate(spec.axes[0].values), enumerate(spec.axes[1].values)):
        assert cells["lr_u"][i, j] == pytest.approx(lr_u, rel=1e-15)  # the lr_u axis is eta_u itself (NTK base 1)
        assert cells["lr_w"][i, j] == pytest.approx(lr_u * ratio, rel=1e-15)
    assert spec.formulas() == "κ = d^(-1/2), σ_u = σ_w = 1, η_u = lr_u, η_w = lr_u·lr_ratio"
    fixed = SweepSpec((parse_range("width", "1:100:3"),), {"lr_u": 2.0, "lr_ratio": 3.0}, "mup")
    assert fixed.formulas() == "κ = 1, σ_u = d^-1, σ_w = 1, η_u = 2·d^-1, η_w = 2·3·d"


def test_the_dataset_stores_the_absolute_values_and_formulas():
    spec = SweepSpec((parse_range("width", "1:100:3"),), {"lr_u": 2.0, "lr_ratio": 3.0}, "mup", seeds=1)
    ds = sweep(spec)
    d = ds["width"].values
    np.testing.assert_allclose(ds["cell_lr_u"].values, 2.0 / d, rtol=1e-15)
    np.testing.assert_allclose(ds["cell_lr_w"].values, 6.0 * d, rtol=1e-15)
    np.testing.assert_allclose(ds["cell_init_scale_u"].values, 1.0 / d, rtol=1e-15)
    assert ds.attrs["hyperparameters"].startswith("κ = 1, σ_u = d^-1")
    assert "absolute" in ds["cell_lr_w"].attrs["long_name"]


@pytest.mark.parametrize("param", list(BASE))
def test_parametrization_builds_the_documented_configuration(param):
    cfg = phasefl.parametrization(param, 400, init_scale=2.0, init_scale_w=0.5, lr_u=3.0, lr_ratio=0.25)
    want = documented(param, 400.0, {"init_scale": 2.0, "init_scale_w": 0.5, "lr_u": 3.0, "lr_ratio": 0.25})
    got = (cfg.output_scale, cfg.init_scale_u, cfg.init_scale_w, cfg.lr_u, cfg.lr_w)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert cfg.model == phasefl.Model(want[0], want[3], want[4], 1.0, 1.0)
    g = cfg.sample(seed=3)
    assert g == phasefl.sample_gram(400.0, want[1], want[2], seed=3)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(lr_w=1.0, lr_ratio=2.0), "--lr-w or --lr-ratio"),
        (dict(init_scale=1.0, init_scale_u=1.0, init_scale_w=1.0), "no effect"),
        (dict(lr_u=0.0), "lr_u"),
        (dict(output_scale=float("nan")), "output_scale"),
    ],
)
def test_parametrization_refuses_what_would_not_mean_what_it_says(kwargs, words):
    with pytest.raises(ValueError, match=words):
        phasefl.parametrization("ntk", 100, **kwargs)
    with pytest.raises(ValueError, match="unknown parametrization 'sp'"):
        phasefl.parametrization("sp", 100)
    with pytest.raises(ValueError, match="width"):
        phasefl.parametrization("ntk", 0.5)


def test_base_table_lists_every_parametrization():
    from phasefl.scalings import base_table

    lines = base_table().splitlines()
    assert [line.split()[0] for line in lines] == list(BASE)
    assert "  mup         κ = 1, σ_u = d^-1, σ_w = 1, η_u = d^-1, η_w = d" in lines


def test_parametrization_defaults_and_edges():
    """Each default and boundary as documented (found by mutation testing: these went unchecked)."""
    cfg = phasefl.parametrization("ntk", 100)
    assert (cfg.parametrization, cfg.width, cfg.target) == ("ntk", 100.0, 1.0)
    assert (cfg.output_scale, cfg.lr_u, cfg.lr_w) == (0.1, 1.0, 1.0)  # every multiplier defaults to 1
    assert phasefl.parametrization("ntk", 100, output_scale=2.0).output_scale == pytest.approx(0.2, rel=1e-15)
    assert phasefl.parametrization("ntk", 100, target=-0.5).model.target == -0.5
    assert phasefl.parametrization("mup", 1).width == 1.0  # width 1 is a network
    assert phasefl.parametrization("ntk", 1.5).width == 1.5
    assert cfg.sample(seed=1, size=3).uu.shape == (3,) and np.ndim(cfg.sample(seed=1).uu) == 0
    with pytest.raises(ValueError, match=r"choose from ntk, mean-field, mup, standard"):
        phasefl.parametrization("NTK", 100)
    with pytest.raises(ValueError, match=r"^target must be a finite number, got nan"):
        phasefl.parametrization("ntk", 100, target=float("nan"))


def test_parametrization_refuses_sizes_outside_float64():
    with pytest.raises(ValueError, match=r"^ntk at width 1e\+160: \|u0\|² \|w0\|² ≈ d² σ_u² σ_w² = inf is outside"):
        phasefl.parametrization("ntk", 1e160)
    with pytest.raises(ValueError, match=r"^width must be a finite number > 0, got 0.0"):
        phasefl.parametrization("ntk", 0.0)


@pytest.mark.parametrize(
    "values, width, first",
    [  # the first size outside [1e-290, 1e290], in the documented order of the checks
        (dict(output_scale=1e-300), 1.0, "the output scale κ"),
        (dict(init_scale_u=1e300), 1.0, "σ_u"),
        (dict(init_scale_w=1e-295), 1.0, "σ_w"),
        (dict(lr_u=1e-300), 1.0, "η_u"),
        (dict(lr_w=1e295), 1.0, "η_w"),
        (dict(init_scale_u=1e-146), 1.0, "|u0|² ≈ d σ_u²"),
        (dict(init_scale_w=1e146), 1.0, "|w0|² ≈ d σ_w²"),
        (dict(output_scale=1e-150, init_scale_u=1e-2), 1e4, "the NTK at init"),
        (
            dict(output_scale=1e150, lr_u=1e-200, lr_w=1e-200, init_scale_u=5e70, init_scale_w=5e70),
            1.0,
            "the initial output scale",
        ),
        (
            dict(init_scale_u=1e73, init_scale_w=1e73, output_scale=1e-10, lr_u=1e-100, lr_w=1e-100),
            1.0,
            "|u0|² |w0|²",
        ),
    ],
)
def test_check_sizes_names_the_first_size_out_of_range(values, width, first):
    from phasefl.scalings import check_sizes

    full = dict(output_scale=1.0, init_scale_u=1.0, init_scale_w=1.0, lr_u=1.0, lr_w=1.0) | values
    bad = check_sizes(width, full)
    assert bad is not None and bad[0].startswith(first), bad
    assert not (1e-290 <= bad[1] <= 1e290)
    arrays = {k: np.array([1.0, v, 1.0]) for k, v in full.items()}  # the index of the bad entry comes back
    assert check_sizes(np.array([1.0, width, 1.0]), arrays)[2] == (1,)
    assert check_sizes(1.0, dict(output_scale=1.0, init_scale_u=1.0, init_scale_w=1.0, lr_u=1.0, lr_w=1.0)) is None


@pytest.mark.parametrize(
    "values, first",
    [
        ({"lr_u": 1e290}, None),  # the bounds belong to the range
        ({"lr_u": 1e-290}, None),
        # K0 = kappa^2 (eta_u |w0|^2 + eta_w |u0|^2) = 1e-300 (1e20 + 1): in range although kappa^2 |u0|^2 is not
        ({"output_scale": 1e-150, "init_scale_w": 1e10}, None),
        ({"output_scale": 1e-150, "init_scale_u": 1e10}, None),
        ({"output_scale": 1e-150}, "k0"),  # K0 = 2e-300
    ],
)
def test_check_sizes_at_the_bounds_and_with_one_large_layer(values, first):
    """Worked out by hand at width 1 (|u0|^2 = sigma_u^2, |w0|^2 = sigma_w^2)."""
    from phasefl.scalings import SIZES, check_sizes

    bad = check_sizes(1.0, dict(output_scale=1.0, init_scale_u=1.0, init_scale_w=1.0, lr_u=1.0, lr_w=1.0) | values)
    assert (None if bad is None else bad[0]) == (None if first is None else SIZES[first]), bad


def test_formulas_print_every_exponent_and_multiplier():
    from phasefl.scalings import formulas

    assert (
        formulas("standard", {"init_scale_w": "3", "lr_w": "lr_w"})
        == "κ = 1, σ_u = d^(-1/2), σ_w = 3, η_u = 1, η_w = lr_w"
    )
    assert (
        formulas("mean-field", {"output_scale": "output_scale"})
        == "κ = output_scale·d^-1, σ_u = σ_w = 1, η_u = η_w = 1"
    )
    assert formulas("mup", {"lr_ratio": "2"}, math=True) == (
        r"$\kappa = 1$, $\sigma_u = d^{-1}$, $\sigma_w = 1$, $\eta_u = d^{-1}$, $\eta_w = 2\cdot d$"
    )
    assert formulas("ntk", {"init_scale_u": "3"}) == "κ = d^(-1/2), σ_u = 3, σ_w = 1, η_u = η_w = 1"
    assert formulas("ntk", {"init_scale": "2", "init_scale_w": "5"}) == "κ = d^(-1/2), σ_u = 2, σ_w = 5, η_u = η_w = 1"
    assert formulas("ntk", {"init_scale": "init_scale"}, math=True) == (  # a multiplier's name, underscore escaped
        r"$\kappa = d^{-1/2}$, $\sigma_u = \sigma_w = \mathrm{init\_scale}$, $\eta_u = \eta_w = 1$"
    )
