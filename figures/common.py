"""Helpers shared by the figure scripts: command line, atomic data files, style, saving.

Every ``data_<name>.py`` computes and writes ``<data>/<name>.npz`` (or ``.nc``); every
``fig_<N>_<name>.py`` only reads data files and writes ``<out>/fig<N>_<name>.{pdf,png}``.
Both take ``--tiny`` (smoke mode: tiny grids, used by tests/test_figures.py) and the
folders ``--data`` / ``--out``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from phasefl.plot import REGIME_COLORS  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
OUT = HERE / "out"
_UMASK = os.umask(0)  # os.umask sets and returns: read the process umask, then put it back
os.umask(_UMASK)

#: Line style of each regime: colour (phasefl.plot.REGIME_COLORS, greyscale-ordered), dash and marker,
#: so that curves stay distinct in greyscale. The kernel's map colour (#e8e8e8) is too light for a
#: line on white, so kernel curves are dark grey and dotted.
STYLE = {
    "kernel": {"color": "0.3", "ls": ":", "marker": "D"},
    "alignment": {"color": REGIME_COLORS["alignment"], "ls": "-", "marker": "o"},
    "rescaling": {"color": REGIME_COLORS["rescaling"], "ls": "-.", "marker": "s"},
    "disalignment": {"color": "#d9822b", "ls": "--", "marker": "^"},  # REGIME_COLORS' orange, darkened for lines
}


def arguments(description: str, argv=None, plot: bool = False) -> argparse.Namespace:
    """Parse ``--tiny``, ``--data`` and (plot scripts) ``--out``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true", help="smoke mode: tiny grids and few points (for the tests)")
    p.add_argument("--data", type=Path, default=DATA, help=f"folder of the cached data files (default {DATA})")
    if plot:
        p.add_argument("--out", type=Path, default=OUT, help=f"folder of the figures (default {OUT})")
    return p.parse_args(argv)


def _atomic(path: Path, write) -> Path:
    """Write through a temporary file in the same folder, so make never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_npz(path: Path, **arrays) -> Path:
    """np.savez_compressed, atomically."""

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    return _atomic(path, write)


def load_npz(path: Path) -> dict:
    """All arrays of an npz file (0-d arrays become Python scalars or strings)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: (f[k].item() if f[k].ndim == 0 else f[k]) for k in f.files}


def save_netcdf(ds, path: Path) -> Path:
    """xarray Dataset to netCDF (scipy engine, as ``phasefl.diagram``), atomically."""
    return _atomic(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy"))


def setup_style() -> None:
    """Fonts and lines readable on a slide."""
    plt.rcParams.update(
        {
            "font.size": 13,
            "axes.titlesize": 14,
            "axes.labelsize": 14,
            "xtick.labelsize": 12,
            "ytick.labelsize": 12,
            "legend.fontsize": 12,
            "figure.titlesize": 16,
            "lines.linewidth": 2.4,
            "lines.markersize": 7,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "savefig.bbox": "tight",
        }
    )


def restyle(fig, title: str, size=(15.0, 6.4), ncol: int = 4) -> None:
    """Make a ``phasefl.plot`` figure slide-readable: no grid, fonts >= 12, one legend below, ``title``.

    ``phasefl.plot`` draws its legends with a fixed 8-point font under the first panel; they are
    moved into one figure legend below all panels.
    """
    fig.set_size_inches(*size)
    handles, labels = [], []
    for ax in fig.axes:
        ax.grid(False)
        legend = ax.get_legend()
        if legend is not None:
            handles += legend.legend_handles
            labels += [t.get_text() for t in legend.get_texts()]
            legend.remove()
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_fontsize() < 12:
            text.set_fontsize(12)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False, fontsize=12)
    fig.suptitle(title, fontsize=15)


def save_figure(fig, name: str, out: Path) -> list[Path]:
    """Write ``out/name.pdf`` and ``out/name.png`` (150 dpi), atomically, and close the figure."""
    paths = [
        _atomic(Path(out) / f"{name}.pdf", lambda tmp: fig.savefig(tmp, format="pdf")),
        _atomic(Path(out) / f"{name}.png", lambda tmp: fig.savefig(tmp, format="png", dpi=150)),
    ]
    plt.close(fig)
    print("wrote " + ", ".join(str(p) for p in paths))
    return paths


def panel_label(ax, letter: str) -> None:
    """Bold panel letter (a), (b), ... in the upper left corner, outside the axes."""
    ax.text(-0.02, 1.02, f"({letter})", transform=ax.transAxes, fontweight="bold", ha="right", va="bottom")


def pack_sweep(ds, boundaries):
    """One Dataset holding a sweep and its analytic boundaries (dims and variables prefixed ``boundary_``)."""
    dims = {name: f"boundary_{name}" for name in boundaries.dims}
    return ds.merge(boundaries.rename({**dims, **{v: f"boundary_{v}" for v in boundaries.data_vars}}))


def unpack_sweep(packed):
    """Inverse of ``pack_sweep``: (sweep Dataset, boundaries Dataset)."""
    bvars = [v for v in packed.data_vars if v.startswith("boundary_")]
    bdims = [d for d in packed.dims if d.startswith("boundary_")]
    strip = {n: n[len("boundary_") :] for n in bvars + bdims}
    boundaries = packed[bvars].rename(strip)
    return packed.drop_vars(bvars + bdims), boundaries


def run_sweep(axes: dict[str, str], fixed: dict[str, float], param: str, seeds: int):
    """``phasefl.sweep`` over ``axes`` (name -> "START:STOP:N") packed with its analytic boundaries."""
    from phasefl.sweep import SweepSpec, parse_range, sweep, typical_boundaries

    spec = SweepSpec(tuple(parse_range(n, r) for n, r in axes.items()), fixed, param, seeds)
    ds = sweep(spec)
    ds.attrs["command"] = "figures/" + Path(sys.argv[0]).name
    return pack_sweep(ds, typical_boundaries(spec))


def sweep_figure(doc: str, argv, data: str, caption: str, name: str) -> int:
    """The whole script of a phase-diagram figure: read the packed sweep ``<data>/DATA``, draw it with
    ``phasefl.plot.plot_diagram`` under ``caption`` and save it as NAME.FORMAT."""
    import xarray as xr
    from phasefl.plot import plot_diagram

    args = arguments(doc.splitlines()[0], argv, plot=True)
    setup_style()
    with xr.open_dataset(args.data / data, engine="scipy") as packed:
        ds, boundaries = unpack_sweep(packed.load())
    fig = plot_diagram(ds, boundaries)
    restyle(fig, caption)
    save_figure(fig, name, args.out)
    return 0
