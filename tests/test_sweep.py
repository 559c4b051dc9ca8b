"""Sweeps: grids, exact sampling keyed by width, labelled datasets, the kernel-baseline distance."""

import json

import numpy as np
import pytest

from phasefl import LABELS, Model, classify, solve
from phasefl.baseline import baseline_distance_batch
from phasefl.sweep import Axis, SweepSpec, parse_range, sweep


def _spec(**kw):
    axes = kw.pop("axes", (parse_range("width", "1:1e6:9"), parse_range("init_scale", "1e-3:1e3:9")))
    return SweepSpec(axes=axes, fixed=kw.pop("fixed", {}), **kw)


def test_dataset_has_named_axes_units_and_provenance():
    ds = sweep(_spec(seeds=3, time=5.0))
    assert ds["label"].dims == ("width", "init_scale")
    assert ds["width"].attrs["units"] == "hidden units" and ds["width"].attrs["spacing"] == "log"
    assert list(ds["regime"].values) == list(LABELS)
    for name in ("margin", "ntk_ratio", "gamma", "gamma0", "zeta", "kernel_distance", "ntk_ratio_at_time"):
        assert ds[name].attrs["long_name"] and "units" in ds[name].attrs
    spec = json.loads(ds.attrs["spec"])
    assert spec["param"] == "ntk" and spec["seeds"] == 3 and spec["time"] == 5.0
    assert ds.attrs["phasefl_version"]


def test_cells_match_single_network_classification():
    """A sweep cell equals classify() of the same network (same hyperparameters and Gram numbers)."""
    spec = _spec(axes=(parse_range("output_scale", "1e-2:1e2:5"),), fixed={"width": 50.0})
    ds = sweep(spec)
    # reproduce the draw: width 50 under seed 0, scaled by the NTK base (sigma = 1)
    from phasefl.gram import bartlett, scale_bartlett
    from phasefl.sweep import width_key

    c1, c2, n = bartlett(50.0, 1, np.random.default_rng([0, width_key(50.0)]))
    g = scale_bartlett(c1[0], c2[0], n[0], 1.0, 1.0)
    # a concrete pair of vectors with exactly these Gram numbers
    u0 = np.zeros(50)
    w0 = np.zeros(50)
    u0[0] = np.sqrt(g.uu)
    w0[0], w0[1] = g.uw / np.sqrt(g.uu), np.sqrt(g.d2 / g.uu)
    for k, kappa_mult in enumerate(ds["output_scale"].values):
        res = classify(Model(50**-0.5 * kappa_mult, 1.0, 1.0), u0, w0)
        assert LABELS[int(ds["label"][k])] == res.label
        assert float(ds["ntk_ratio"][k]) == pytest.approx(res.ntk_ratio, rel=1e-9)


def test_refined_grid_keeps_the_labels():
    coarse = sweep(_spec(axes=(parse_range("width", "1:1e6:13"), parse_range("init_scale", "1e-3:1e3:13"))))
    fine = sweep(_spec(axes=(parse_range("width", "1:1e6:25"), parse_range("init_scale", "1e-3:1e3:25"))))
    sub = fine.isel(width=slice(None, None, 2), init_scale=slice(None, None, 2))
    np.testing.assert_allclose(sub["width"], coarse["width"], rtol=1e-12)
    away = (coarse["margin"].values > 1e-6) & (sub["margin"].values > 1e-6)
    assert away.mean() > 0.9
    np.testing.assert_array_equal(sub["label"].values[away], coarse["label"].values[away])


def test_kernel_distance_vanishes_in_the_kernel_regime_and_not_otherwise():
    from phasefl import sample_gram

    d = np.geomspace(1e2, 1e8, 7)[:, None]
    g = sample_gram(d, 1.0, 1.0, size=(7, 32), seed=3)
    ntk = np.median(baseline_distance_batch(d**-0.5, 1.0, 1.0, 1.0, 1.0, *g), axis=1)
    mf = baseline_distance_batch(1.0 / d, 1.0, 1.0, 1.0, 1.0, *g)
    small = baseline_distance_batch(d**-0.5, 1.0, 1.0, 1.0, 1.0, *sample_gram(d, 1e-3, 1e-3, size=(7, 32), seed=3))
    # NTK parametrization: the NTK changes by ~1/d (spec E.3), and so does the distance
    slope = np.polyfit(np.log(d[:, 0]), np.log(ntk), 1)[0]
    assert -1.3 < slope < -0.7 and ntk[-1] < 1e-6
    assert np.all(mf > 0.02)  # Theta(1): mean field learns features at every width
    assert np.all(small > 0.5)  # small init: F_kernel lags far behind F (distance 0.9 to 1 here)


def test_kernel_distance_against_dense_sampling():
    """The exact maximum agrees with the maximum over a dense time grid, to the grid's resolution
    (tests/test_baseline_distance.py checks it to rounding)."""
    rng = np.random.default_rng(4)
    u0, w0 = rng.normal(size=30), rng.normal(size=30)
    model = Model(1 / 30, 1.0, 1.0)
    t = np.geomspace(1e-3, 1e4, 20000)
    from phasefl import gram, kernel_baseline

    dense = np.max(np.abs(solve(model, u0, w0, t).F - kernel_baseline(model, u0, w0, t).F)) / abs(
        1 - solve(model, u0, w0, [0]).F[0]
    )
    g = gram(u0, w0)
    exact = baseline_distance_batch(1 / 30, 1.0, 1.0, 1.0, 1.0, *g)
    assert exact == pytest.approx(dense, rel=2e-3)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("width", "1:1e6", "START:STOP:N"),
        ("width", "a:b:3", "START:STOP:N"),
        ("width", "1:10:0", "empty"),
        ("width", "-5:10:4", "START, STOP > 0"),
        ("width", "0.5", "width"),
        ("init_scale", "0:1:5:lin", "init-scale"),
        ("init_scale", "1:10:5:cubic", "spacing"),
        ("target", "nan", "target"),
    ],
)
def test_bad_ranges(name, text, match):
    with pytest.raises(ValueError, match=match):
        parse_range(name, text)


def test_bad_spec():
    with pytest.raises(ValueError, match="param"):
        _spec(param="sp")
    with pytest.raises(ValueError, match="seeds"):
        _spec(seeds=0)
    with pytest.raises(ValueError, match="axes"):
        SweepSpec(axes=(), fixed={})
    assert isinstance(parse_range("target", "-1:1:5"), Axis) and parse_range("target", "-1:1:5").spacing == "linear"


def _vectors(uu, ww, uw, d2):
    """A pair of 2-vectors with the given Gram numbers (the dynamics see nothing else)."""
    u0 = np.array([np.sqrt(uu), 0.0])
    w0 = np.array([uw / np.sqrt(uu), np.sqrt(d2 / uu)])
    return u0, w0


def test_seed_aggregation_and_time_outputs_by_hand():
    """Mode, label fractions, medians and the --time outputs of every cell, recomputed one network at a
    time with the public single-network API (solve at 0 and T, classify) and numpy's median."""
    from phasefl.regimes import KERNEL_THRESHOLD, ZETA_THRESHOLD
    from phasefl.sweep import cell_parameters, initializations

    T = 0.7
    axes = (parse_range("width", "2:1e4:3"), parse_range("init_scale", "1e-2:1e1:3"))
    spec = SweepSpec(axes=axes, fixed={"lr_ratio": 3.0}, param="mean-field", seeds=5, seed=2, time=T)
    ds, g, cells = sweep(spec), initializations(spec), cell_parameters(spec)
    assert g.uu.shape == (5, 3, 3)
    for i, j in np.ndindex(3, 3):
        model = Model(cells["output_scale"][i, j], cells["lr_u"][i, j], cells["lr_w"][i, j])
        per_seed = {k: [] for k in ("label", "ntk_ratio", "gamma", "zeta", "ratio_T", "loss_T", "label_T", "u")}
        for s in range(5):
            u0, w0 = _vectors(*(float(v[s, i, j]) for v in g))
            traj = solve(model, u0, w0, [0.0, T])
            res = classify(model, u0, w0)
            rk_t = traj.ntk[1] / traj.ntk[0] - 1
            label_t = 0 if abs(rk_t) < KERNEL_THRESHOLD else 3 if res.zeta >= ZETA_THRESHOLD else 2 if rk_t < 0 else 1
            for key, value in zip(
                per_seed,
                (LABELS.index(res.label), res.ntk_ratio, res.gamma, res.zeta, traj.ntk[1] / traj.ntk[0],
                 traj.loss_excess[1], label_t, float(res.dominant_layer == "u")),
            ):  # fmt: skip
                per_seed[key].append(value)
        counts = np.bincount(per_seed["label"], minlength=4)
        assert int(ds["label"][i, j]) == int(np.argmax(counts))  # ties: the lowest code
        np.testing.assert_array_equal(ds["label_fraction"][:, i, j].values, counts / 5)
        assert int(ds["label_at_time"][i, j]) == int(np.argmax(np.bincount(per_seed["label_T"], minlength=4)))
        for name, key in (("ntk_ratio", "ntk_ratio"), ("gamma", "gamma"), ("zeta", "zeta"),
                          ("ntk_ratio_at_time", "ratio_T"), ("loss_excess_at_time", "loss_T")):  # fmt: skip
            assert float(ds[name][i, j]) == pytest.approx(np.median(per_seed[key]), rel=1e-10, abs=1e-300), name
        assert float(ds["dominant_u"][i, j]) == np.mean(per_seed["u"])
        for q, level in (("q25", 0.25), ("q75", 0.75)):
            want = np.quantile(per_seed["ntk_ratio"], level)
            assert float(ds[f"ntk_ratio_{q}"][i, j]) == pytest.approx(want, rel=1e-10), q


def test_dominant_u_is_the_fraction_of_seeds_not_their_median():
    """With equal rates the dominant layer (sign of C = eta_w |u0|^2 - eta_u |w0|^2) is a coin flip per
    seed: the stored dominant_u is the share of seeds where u dominates (k/8), which a median of the
    0/1 values (0, 0.5 or 1) is not."""
    from phasefl.sweep import initializations

    spec = SweepSpec(axes=(parse_range("width", "2:200:12"),), fixed={}, seeds=8, seed=4)
    ds, g = sweep(spec), initializations(spec)
    want = (g.uu >= g.ww).mean(axis=0)  # eta_u = eta_w: C >= 0 iff |u0|^2 >= |w0|^2
    np.testing.assert_array_equal(ds["dominant_u"].values, want)
    assert np.any((want != 0) & (want != 0.5) & (want != 1))  # a median would differ here


def test_block_reductions_are_numpys_to_the_bit():
    """The fused block program sorts each cell's seeds itself (insertion sort up to 32, numba's above):
    its medians and quartiles equal np.median and np.quantile bit for bit, NaN, infinities, ties and
    signed zeros included, for 1 to 40 seeds."""
    from phasefl.kernels import sort_nan_last, sorted_median, sorted_quantile

    rng = np.random.default_rng(7)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0, 1e-300, -1e300])
    for n in list(range(1, 41)) * 20:
        v = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 5, n)
        k = rng.integers(0, n + 1)
        v[:k] = rng.choice(specials, k) if rng.random() < 0.5 else v[:k]
        rng.shuffle(v)
        s = v.copy()
        sort_nan_last(s)
        np.testing.assert_array_equal(s, np.sort(v))
        with np.errstate(invalid="ignore"):
            assert np.array_equal(sorted_median(s), np.median(v), equal_nan=True), v
            for q in (0.25, 0.75):
                assert np.array_equal(sorted_quantile(s, q), np.quantile(v, q), equal_nan=True), (q, v)


def test_block_label_and_margin_match_the_public_rules():
    """The fused program's label code and margin (numba scalars) against regimes.label_codes and
    regimes.margin, at and around the thresholds and at 0, NaN and infinite inputs (the margin to a
    few ulps: numpy's log10 and the C library's may differ in the last bit)."""
    from phasefl.kernels import label_code, margin
    from phasefl.regimes import label_codes
    from phasefl.regimes import margin as margin_np

    rk = np.array([0.0, 0.05, -0.05, 0.0499999, 0.2, -0.2, 3.0, -1.0, np.inf, np.nan, 1e-300])
    zeta = np.array([0.0, 0.9, 0.89999, 1.0, 0.5, np.nan])
    for kt, zt in ((0.05, 0.9), (0.2, 0.0), (1e-3, 1.0)):
        for r in rk:
            for z in zeta:
                assert label_code(r, z, kt, zt) == int(label_codes(r, z, kt, zt)), (r, z, kt, zt)
                with np.errstate(divide="ignore", invalid="ignore"):
                    want = float(margin_np(r, z, kt, zt))
                np.testing.assert_allclose(margin(r, z, kt, zt), want, rtol=4 * np.finfo(float).eps, err_msg=(r, z))


def test_sweeps_and_draws_are_reproducible():
    from phasefl import sample_gram

    spec = _spec(seeds=3, seed=11)
    a, b = sweep(spec), sweep(spec)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    other = sweep(_spec(seeds=3, seed=12))
    assert not np.array_equal(a["ntk_ratio"].values, other["ntk_ratio"].values)
    g1, g2 = sample_gram(100, 0.5, 2.0, size=4, seed=9), sample_gram(100, 0.5, 2.0, size=4, seed=9)
    for x, y in zip(g1, g2):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(g1.uw, sample_gram(100, 0.5, 2.0, size=4, seed=10).uw)


def test_the_stored_specification_says_what_was_run():
    """The ``spec`` attribute (what --resume compares, and what a reader of the file has to go on) names
    every setting, each axis by its first and last value, count and spacing, and the width exponents of
    the parametrization (mean field: kappa ~ d^-1, everything else d^0)."""
    axes = (parse_range("width", "2:2000:4"), parse_range("target", "-1:1:3"))
    spec = SweepSpec(axes=axes, fixed={"lr_ratio": 3.0}, param="mean-field", seeds=2, seed=5, time=0.5)
    stored = json.loads(sweep(spec).attrs["spec"])
    assert stored == {
        "fixed": {"lr_ratio": 3.0},
        "param": "mean-field",
        "seeds": 2,
        "seed": 5,
        "time": 0.5,
        "kernel_threshold": 0.05,
        "zeta_threshold": 0.9,
        "dynamics": "flow",
        "axes": [
            {"name": "width", "start": 2.0, "stop": 2000.0, "n": 4, "spacing": "log"},
            {"name": "target", "start": -1.0, "stop": 1.0, "n": 3, "spacing": "linear"},
        ],
        "exponents": {"alpha": 1.0, "b_u": 0.0, "b_w": 0.0, "c_u": 0.0, "c_w": 0.0},
    }


@pytest.mark.parametrize(
    "shape, block_cells, chunks",
    [((3, 5), 1, (1, 1)), ((3, 5), 7, (1, 5)), ((4, 3), 7, (2, 3)), ((4, 3), 100, (4, 3)), ((10,), 4, (4,))],
)
def test_blocks_have_at_most_the_asked_cells_and_cover_the_grid_once(shape, block_cells, chunks):
    """chunk_shape fills the last axes first with whole numbers of cells and never exceeds block_cells
    (worked out by hand); blocks partitions the grid: every cell in exactly one block."""
    from phasefl.sweep import blocks, chunk_shape

    assert chunk_shape(shape, block_cells) == chunks
    assert all(isinstance(c, int) for c in chunks) and int(np.prod(chunks)) <= block_cells
    hits = np.zeros(shape, dtype=int)
    for block in blocks(shape, chunks):
        assert all(sl.stop - sl.start <= c for sl, c in zip(block, chunks))
        hits[block] += 1
    assert (hits == 1).all()


def test_an_unrepresentable_grid_is_refused_naming_its_corner():
    """Sizes are power laws in every axis, so the grid's corners bound them: the refusal names the first
    corner (axis ends, in axis order) where one leaves float64's safe range, and the fixed values. By
    hand: at width 1 and init scale 1e140, |u0|^2 |w0|^2 ~ d^2 sigma^4 = 1e560 overflows; every other
    size of that corner (d sigma^2 = 1e280) is still inside 1e290."""
    from phasefl.scalings import OUT_OF_RANGE

    axes = (parse_range("width", "1:1e6:3"), parse_range("init_scale", "1e-3:1e140:3"))
    where = "at width = 1, init_scale = 1e+140, lr_ratio = 2"
    with pytest.raises(ValueError) as err:
        SweepSpec(axes, {"lr_ratio": 2.0})
    assert str(err.value) == f"|u0|² |w0|² ≈ d² σ_u² σ_w² = inf {where}: {OUT_OF_RANGE}"
    with pytest.raises(ValueError, match=r"at init_scale = 1e\+140, width = 1, lr_ratio = 2: "):
        SweepSpec((parse_range("init_scale", "1e140:1e-3:3"), axes[0]), {"lr_ratio": 2.0})
    SweepSpec((axes[0], parse_range("init_scale", "1e-3:1e60:3")), {"lr_ratio": 2.0})  # at most 1e252: accepted
