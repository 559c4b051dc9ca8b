"""Width -> infinity exponents (spec E.3) and the approach of finite-width labels to them."""

import numpy as np
import pytest

from phasefl import LABELS, classify_batch, sample_gram
from phasefl.asymptotics import PARAMETRIZATIONS, exponent_table, phase_exponents

# spec E.3 table: (alpha, b_u, b_w, c_u, c_w) -> (x, rho, gamma, phase)
TABLE = [
    ((0.5, 0, 0, 0, 0), (-0.5, 0, -0.5, "kernel")),
    ((1, 0, 0, 0, 0), (0, 0, 0, "alignment")),
    ((0, 1, 0, 1, -1), (0, 0, 0, "alignment")),
    ((0, 0.5, 0, 0, 0), (-0.5, -1, -1, "kernel")),
    ((0.5, 0.5, 0.5, 0, 0), (0.5, 0, 0.5, "alignment")),
    ((0.5, -0.25, -0.25, 0, 0), (-1, 0, -1, "kernel")),
    ((1, 0, 0, 0, -1), (0, 1, -0.5, "kernel")),
    ((2, 0, 0, 0, -2), (1, 2, 0, "rescaling")),
]


@pytest.mark.parametrize("setting, expected", TABLE, ids=[str(t[0]) for t in TABLE])
def test_spec_table(setting, expected):
    e = phase_exponents(*setting)
    assert (e.x, e.rho, e.gamma, e.label) == expected
    assert e.gamma0 == -(1 + abs(e.rho)) / 2 < 0
    assert e.phi0 == -0.5 - e.x


def test_named_parametrizations_are_the_spec_ones():
    labels = {name: phase_exponents(*exps).label for name, exps in PARAMETRIZATIONS.items()}
    assert labels == {"ntk": "kernel", "mean-field": "alignment", "mup": "alignment", "standard": "kernel"}


def test_exponent_table_broadcasts_and_validates():
    t = exponent_table(np.linspace(0, 2, 5)[:, None], 0.0, 0.0, np.linspace(-1, 1, 3)[None, :], 0.0)
    assert t["gamma"].shape == (5, 3)
    with pytest.raises(ValueError, match="alpha"):
        exponent_table(np.nan, 0, 0, 0, 0)


def _random_settings(n, rng):
    """Exponent settings away from the boundaries, where finite-d labels must match the rule by d = 1e10."""
    out = []
    while len(out) < n:
        alpha, b_u, b_w = rng.uniform(-0.5, 1.5), rng.uniform(-0.5, 0.75), rng.uniform(-0.5, 0.75)
        c_u, c_w = rng.uniform(-1, 1), rng.uniform(-1, 1)
        if rng.random() < 0.3:  # some exactly balanced settings (rho = 0: alignment possible)
            c_w = c_u + 2 * (b_w - b_u)
        e = phase_exponents(alpha, b_u, b_w, c_u, c_w)
        if abs(e.gamma) < 0.15 or (0 < abs(e.rho) < 0.3) or abs(e.gamma - e.gamma0) < 0.1:
            continue
        if max(abs(v) for v in (alpha, b_u, b_w, c_u, c_w)) * 10 > 15:  # keep kappa, sigma, eta representable
            continue
        out.append((alpha, b_u, b_w, c_u, c_w))
    return out


def _median_rel_change(setting, widths, seeds=32):
    alpha, b_u, b_w, c_u, c_w = setting
    d = np.asarray(widths, dtype=float)[:, None]
    g = sample_gram(d, d**-b_u, d**-b_w, size=(d.size, seeds), seed=1)
    res = classify_batch(d**-alpha, d**-c_u, d**-c_w, 1.0, 1.0, *g)
    return res


def test_finite_width_labels_and_exponents_approach_the_rule():
    rng = np.random.default_rng(0)
    settings = _random_settings(40, rng)
    widths = np.geomspace(1e6, 1e10, 5)
    kinds = set()
    for setting in settings:
        e = phase_exponents(*setting)
        kinds.add(e.label)
        res = _median_rel_change(setting, widths)
        labels_1e10 = [LABELS[c] for c in res.label[-1]]
        majority = max(set(labels_1e10), key=labels_1e10.count)
        assert majority == e.label, (setting, e, labels_1e10)
        size = np.median(np.abs(res.ntk_rel_change), axis=1)
        slope = np.polyfit(np.log(widths), np.log(size), 1)[0]
        assert abs(slope - e.ntk_change) < 0.1, (setting, e, slope)
    assert kinds == {"kernel", "alignment", "rescaling"}


def test_plane_markers_put_each_parametrization_where_its_x_and_rho_are():
    """On the (c_w, alpha) plane with b_u = b_w = c_u = 0, a parametrization off the plane is drawn at
    the point with its x = alpha + b_u + b_w - 1 and rho = c_u - c_w + 2 (b_w - b_u), i.e. at
    (c_w, alpha) = (-rho, x + 1), worked out by hand: standard (x = -1/2, rho = -1) at (1, 1/2); muP
    (x = 0, rho = 0) at mean-field's point (0, 1), sharing its marker; NTK on the plane at (0, 1/2). On
    the (c_u, c_w) plane (x does not move with the rates) the parametrizations off it have no point."""
    from phasefl.asymptotics import plane_markers, plane_settings

    axes, fixed = plane_settings(["c_w", "alpha"], {}, "mean-field")
    got = {m["name"]: (m["x"], m["y"], m["on_plane"]) for m in plane_markers(["c_w", "alpha"], axes, fixed)}
    assert got == {"NTK": (0.0, 0.5, True), "mean-field = μP": (0.0, 1.0, True), "standard": (1.0, 0.5, False)}
    axes, fixed = plane_settings(["c_u", "c_w"], {}, "mean-field")
    got = {m["name"]: (m["x"], m["y"], m["on_plane"]) for m in plane_markers(["c_u", "c_w"], axes, fixed)}
    assert got == {"mean-field": (0.0, 0.0, True)}
    axes, fixed = plane_settings(["c_w", "alpha"], {"c_w": "-0.5:0.5:11"}, "mean-field")  # standard out of range
    assert "standard" not in {m["name"] for m in plane_markers(["c_w", "alpha"], axes, fixed)}
