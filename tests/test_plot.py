"""The figures' encodings: one regime colour language, both sides of the NTK colour bar labelled,
images for uniform grids and meshes otherwise with every cell where its coordinates say, the
seed spread in 1-D diagrams, readable text, mathtext in the exponent plane."""

from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgb  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from phasefl import plot  # noqa: E402
from phasefl.regimes import LABELS  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------------------------
# synthetic sweeps (the plotting code reads only these variables and attributes)


def _sweep(xname, x, yname=None, y=None, seeds=8, rng=0, xspacing="log", yspacing="log", label=None):
    rng = np.random.default_rng(rng)
    dims = (xname,) if yname is None else (xname, yname)
    shape = (x.size,) if yname is None else (x.size, y.size)
    if label is None:
        label = rng.integers(0, len(LABELS), size=shape).astype(np.int8)
    fraction = rng.dirichlet(np.ones(len(LABELS)), size=shape)  # (..., regime)
    fraction = np.moveaxis(fraction, -1, 0)
    ratio = 10.0 ** rng.uniform(-0.3, 3.0, size=shape)
    coords = {xname: (xname, x, {"spacing": xspacing})}
    if yname is not None:
        coords[yname] = (yname, y, {"spacing": yspacing})
    axes = [{"name": xname, "spacing": xspacing}] + ([{"name": yname, "spacing": yspacing}] if yname else [])
    spec = {"fixed": {}, "param": "ntk", "axes": axes, "exponents": dict(alpha=0.5, b_u=0, b_w=0, c_u=0, c_w=0)}
    return xr.Dataset(
        {
            "label": (dims, label),
            "label_fraction": (("regime",) + dims, fraction),
            "ntk_ratio": (dims, ratio),
            "ntk_plain_ratio": (dims, ratio * 1.1),
            "kernel_distance": (dims, 10.0 ** rng.uniform(-7, 0, size=shape)),
        },
        coords=coords,
        attrs=dict(seeds=seeds, seed=0, kernel_threshold=0.05, zeta_threshold=0.9, spec=json.dumps(spec)),
    )


def _widths(n_points, stop=1e6):
    """A width axis as the sweep makes it: log-spaced, rounded to whole units, each once."""
    return np.unique(np.round(10.0 ** np.linspace(0, np.log10(stop), n_points)))


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def _pixel_at(fig, image, ax, x, y):
    px, py = ax.transData.transform((x, y))
    return image[int(round(fig.bbox.height - py)), int(round(px))]


# ----------------------------------------------------------------------------------------------
# colours


def _lab(rgb):
    c = np.asarray(rgb, dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a, b):
    return float(np.linalg.norm(_lab(a) - _lab(b)))


#: Machado, Oliveira & Fernandes (2009), severity 1: linear-RGB simulation of dichromacy.
_DICHROMAT = {
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def _simulate(rgb, kind):
    c = np.asarray(rgb, dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.clip(np.array(_DICHROMAT[kind]) @ lin, 0, 1)
    return np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055)


def test_regime_colours_are_distinct_for_every_viewer_and_greyscale_ordered():
    colours = {name: to_rgb(REGIME) for name, REGIME in plot.REGIME_COLORS.items()}
    assert list(plot.REGIME_CMAP.colors) == [plot.REGIME_COLORS[name] for name in LABELS]
    for kind in (None, "protan", "deutan", "tritan"):
        seen = {n: (c if kind is None else _simulate(c, kind)) for n, c in colours.items()}
        for i, a in enumerate(LABELS):
            for b in LABELS[i + 1 :]:
                assert _delta_e(seen[a], seen[b]) > 25, (kind, a, b)
    lightness = [_lab(colours[n])[0] for n in ("kernel", "disalignment", "alignment", "rescaling")]
    assert lightness == sorted(lightness, reverse=True)  # the module's greyscale claim
    assert lightness[0] < 92  # the kernel colour is not a near-white that reads as blank


def test_regime_colours_stay_apart_from_the_ntk_change_colours():
    for name, colour in plot.REGIME_COLORS.items():
        for end in (0.0, 0.1, 0.9, 1.0):  # the saturated shrink and grow ends
            assert _delta_e(to_rgb(colour), plot.NTK_CMAP(end)[:3]) > 30, (name, end)
        for end in (0.0, 1.0):  # nor is a regime one of the distance greys' ends
            assert _delta_e(to_rgb(colour), plot.DISTANCE_CMAP(end)[:3]) > 15, (name, end)


def test_every_panel_draws_the_regimes_in_the_same_colours():
    ds = _sweep("width", _widths(30, 1e4), "init_scale", 10.0 ** np.linspace(-2, 2, 20))
    fig = plot.plot_diagram(ds, None, "t")
    regime_artists = [a for a in fig.axes[0].get_children() if isinstance(a, (AxesImage, QuadMesh))]
    assert regime_artists and all(a.cmap is plot.REGIME_CMAP for a in regime_artists)
    key = [a for a in fig.axes if any(t.get_text() == "kernel" for t in a.get_yticklabels())]
    assert len(key) == 1  # the categorical key, drawn from the same map
    assert np.allclose(
        plot.REGIME_CMAP(plot.REGIME_NORM(np.arange(4)))[:, :3], [to_rgb(plot.REGIME_COLORS[n]) for n in LABELS]
    )
    fig1 = plot.plot_diagram(_sweep("init_scale", 10.0 ** np.linspace(-2, 2, 12)), None, "t")
    steps = [p for p in fig1.axes[0].patches if isinstance(p, StepPatch)]
    assert [to_rgb(p.get_facecolor()[:3]) for p in steps] == [to_rgb(plot.REGIME_COLORS[n]) for n in LABELS]
    from phasefl.empirical import plot as empirical

    assert empirical.REGIME_CMAP is plot.REGIME_CMAP and empirical.NTK_CMAP is plot.NTK_CMAP


# ----------------------------------------------------------------------------------------------
# colour bars and keys


@pytest.mark.parametrize("lo, hi", [(-0.05, 0.05), (-0.338, 6.09), (-0.05, 2.99), (-2.5, 0.3), (-0.12, 12.0)])
def test_ntk_ticks_label_both_sides_of_one(lo, hi):
    ticks = plot.ntk_ratio_ticks(lo, hi)
    assert ticks == sorted(ticks) and 0.0 in ticks
    assert any(t < 0 for t in ticks) and any(t > 0 for t in ticks)
    assert all(lo - 1e-12 <= t <= hi + 1e-12 for t in ticks)
    assert len(ticks) <= 9


def test_ntk_colour_bar_is_labelled_on_both_sides_with_its_quantity():
    ds = _sweep("width", _widths(20, 1e4), "init_scale", 10.0 ** np.linspace(-2, 2, 9))
    ds["ntk_ratio"][0, :2] = [10**-0.338, 10**6.09]  # the default diagram's range, where the shrink side went blank
    fig = plot.plot_diagram(ds, None, "t")
    fig.canvas.draw()
    (bar,) = [a for a in fig.axes if "K_\\infty/K_0" in a.get_ylabel()]
    lo, hi = sorted(bar.get_ylim())
    labelled = [(t.get_position()[1], t.get_text()) for t in bar.get_yticklabels() if t.get_text()]
    labelled = [(v, text) for v, text in labelled if lo <= v <= hi]  # shown: inside the bar
    assert any(v < 0 for v, _ in labelled) and any(v > 0 for v, _ in labelled), labelled
    texts = {t.get_text() for t in bar.texts}
    assert {"grows", "shrinks"} <= texts
    (dist,) = [a for a in fig.axes if "F_{\\rm kernel}" in a.get_ylabel()]
    assert all(t.get_text() for t in dist.get_yticklabels()) and {"far", "≈ kernel"} <= {
        t.get_text() for t in dist.texts
    }


def test_the_regime_key_has_no_cell_shares_and_says_which_regimes_are_absent():
    x, y = _widths(20, 1e4), 10.0 ** np.linspace(-2, 2, 9)
    label = np.zeros((x.size, y.size), dtype=np.int8)
    label[:, :4] = 1  # kernel and alignment only
    fig = plot.plot_diagram(_sweep("width", x, "init_scale", y, label=label), None, "t")
    (key,) = [a for a in fig.axes if any(t.get_text() == "kernel" for t in a.get_yticklabels())]
    names = [t.get_text() for t in key.get_yticklabels()]
    assert names == ["kernel", "alignment", "disalignment\n(none here)", "rescaling\n(none here)"]
    shares = re.compile(r"(kernel|alignment|rescaling)\s*\(\s*\d+\s*%\s*\)")  # "rescaling (0 %)"
    assert not any(shares.search(t.get_text()) for t in fig.findobj(matplotlib.text.Text))


# ----------------------------------------------------------------------------------------------
# images and meshes


def test_uniform_grids_are_images_and_others_meshes():
    uniform = _sweep("init_scale", 10.0 ** np.linspace(-3, 3, 40), "output_scale", 10.0 ** np.linspace(-2, 2, 30))
    fig = plot.plot_diagram(uniform, None, "t")
    for ax in fig.axes[:3]:
        assert len(ax.images) == 1 and not any(isinstance(c, QuadMesh) for c in ax.collections)
    rounded = _sweep("width", _widths(64), "init_scale", 10.0 ** np.linspace(-3, 3, 64))  # widths: not uniform
    assert not plot.is_uniform(rounded["width"].values, log=True)
    fig = plot.plot_diagram(rounded, None, "t")
    for ax in fig.axes[:3]:
        assert not ax.images and sum(isinstance(c, QuadMesh) for c in ax.collections) == 1
    large = _sweep("width", _widths(300), "init_scale", 10.0 ** np.linspace(-3, 3, 200))  # many cells: an image
    assert large["label"].size >= plot.IMAGE_MIN_CELLS
    fig = plot.plot_diagram(large, None, "t")
    for ax in fig.axes[:3]:
        assert len(ax.images) == 1 and not any(isinstance(c, QuadMesh) for c in ax.collections)


GRIDS = {
    "uniform log": (10.0 ** np.linspace(-3, 3, 7), True, 10.0 ** np.linspace(-1, 2, 5), True),
    "uniform linear": (np.linspace(-2, 2, 6), False, np.linspace(0, 1, 4), False),
    "rounded widths": (np.array([1.0, 2, 3, 5, 8, 13, 40, 100]), True, 10.0 ** np.linspace(-2, 2, 5), True),
    "uneven linear": (np.array([0.0, 0.1, 0.5, 0.6, 2.0]), False, np.array([-1.0, 0.0, 3.0]), False),
}


@pytest.mark.parametrize("method", ["image", "mesh"])
@pytest.mark.parametrize("grid", list(GRIDS))
def test_every_cell_is_centred_at_its_coordinates(grid, method):
    """Each cell shows its own colour at its coordinates and up to the midpoints (in the plotted
    scale) to its neighbours, whether drawn as an image (resampled when not uniform) or a mesh."""
    x, xlog, y, ylog = GRIDS[grid]
    rng = np.random.default_rng(1)
    z = np.arange(x.size * y.size).reshape(y.size, x.size)
    colours = rng.permutation(np.linspace(0.05, 0.95, z.size))[:, None] * [1.0, 0.6, 0.3] + [0.0, 0.2, 0.4]
    cmap, norm = ListedColormap(colours), BoundaryNorm(np.arange(z.size + 1) - 0.5, z.size)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    artist = plot.draw_map(ax, x, y, z, xlog=xlog, ylog=ylog, cmap=cmap, norm=norm, method=method)
    assert isinstance(artist, AxesImage if method == "image" else QuadMesh)
    image = _pixels(fig)
    xe, ye = plot.cell_edges(x, xlog), plot.cell_edges(y, ylog)
    assert ax.get_xlim() == pytest.approx((xe[0], xe[-1])) and ax.get_ylim() == pytest.approx((ye[0], ye[-1]))
    to_screen = ax.transData.transform
    for j in range(y.size):
        for i in range(x.size):
            want = np.round(255 * colours[z[j, i]])
            assert np.abs(_pixel_at(fig, image, ax, x[i], y[j]) - want).max() <= 2, (i, j)
            if i + 1 < x.size:  # 2 pixels either side of the edge between cells i and i + 1
                ex = to_screen((xe[i + 1], y[j]))
                for dx, k in ((-2.5, i), (2.5, i + 1)):
                    px = ax.transData.inverted().transform((ex[0] + dx, ex[1]))
                    got = _pixel_at(fig, image, ax, px[0], y[j])
                    assert np.abs(got - np.round(255 * colours[z[j, k]])).max() <= 2, (i, j, dx)


def test_cell_edges_are_midpoints_in_the_plotted_scale():
    assert plot.cell_edges(np.array([1.0, 100.0]), log=True) == pytest.approx([0.1, 10.0, 1000.0])
    assert plot.cell_edges(np.array([0.0, 1.0, 3.0]), log=False) == pytest.approx([-0.5, 0.5, 2.0, 4.0])
    assert plot.cell_edges(np.array([5.0]), log=True) == pytest.approx([5 / 10**0.5, 5 * 10**0.5])
    assert plot.is_uniform(10.0 ** np.linspace(-3, 3, 1000), log=True)
    assert not plot.is_uniform(10.0 ** np.linspace(-3, 3, 1000), log=False)


# ----------------------------------------------------------------------------------------------
# 1-D diagrams


def test_one_axis_diagram_shows_the_share_of_seeds_in_each_regime():
    x = 10.0 ** np.linspace(-3, 3, 15)
    ds = _sweep("init_scale", x, seeds=16)
    fig = plot.plot_diagram(ds, None, "t")
    steps = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    assert len(steps) == len(LABELS)
    fraction = ds["label_fraction"].values
    below = np.zeros(x.size)
    for k, patch in enumerate(steps):
        values, edges, baseline = patch.get_data()
        assert edges == pytest.approx(plot.cell_edges(x, log=True))
        assert baseline == pytest.approx(100 * below) and values == pytest.approx(100 * (below + fraction[k]))
        below += fraction[k]
    assert below == pytest.approx(1.0)  # the band covers all seeds, 0 to 100 %
    (curve,) = [line for line in fig.axes[1].lines if "learning-rate-weighted" in line.get_label()]
    assert curve.get_ydata() == pytest.approx(ds["ntk_ratio"].values)
    regime_rgb = [to_rgb(c) for c in plot.REGIME_COLORS.values()]
    for ax in fig.axes[1:3]:  # no regime bands behind the curves: only the thin kernel band
        bands = [p for p in ax.patches if to_rgb(p.get_facecolor()[:3]) in regime_rgb]
        assert [(b.get_y(), b.get_y() + b.get_height()) for b in bands] == ([(0.95, 1.05)] if ax is fig.axes[1] else [])


@pytest.mark.parametrize("kind", ["2-D", "1-D"])
def test_a_long_title_is_wrapped_inside_the_figure(kind):
    title = "Exact phase diagram, mean-field parametrization " + ", ".join(
        f"parameter {k} = {k / 7:.3f}" for k in range(12)
    )
    ds = _sweep("width", _widths(30, 1e4), *(("init_scale", 10.0 ** np.linspace(-2, 2, 12)) if kind == "2-D" else ()))
    fig = plot.plot_diagram(ds, None, title)
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent(fig.canvas.get_renderer())
    assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig._suptitle.get_text().count("\n") >= 1
