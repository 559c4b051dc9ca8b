"""Behaviour pinned: the README's diagram commands and a set of exact trajectories against
``tests/golden.json``, so that a refactor that changes any number is caught.

Checked per command: every cell's label (exactly), and, on a fixed subsample of about 40 cells,
every variable of diagram.nc. Per trajectory cell: all nine observables at 12 times and at
t = infinity. Floats are stored as float.hex (exact) and compared to 1e-13 relative, which
leaves room only for the last-bit differences of the C library's exp and log between machines
(glibc picks its code path by CPU); the kernel-baseline distance, found by a Newton search whose
stopping step such a difference can move, to 1e-10 relative or 1e-14 absolute (its own accuracy
is ~1e-12 relative plus a few eps of max(|F0|, |m|) / |F0 - m|), and the margin (numpy's log10
against the C library's) to 1e-10. A change made on purpose regenerates the file, and says so in its commit:

    python tests/test_golden.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import phasefl
from phasefl import diagram

GOLDEN = Path(__file__).with_name("golden.json")
COMMANDS = {  # the README's diagram commands (the first is its opening command)
    "default": ["--axis", "width,init_scale"],
    "mean-field output_scale x lr_ratio": [
        "--axis", "output_scale,lr_ratio", "--param", "mean-field", "--width", "1e4",
    ],
    "init_scale, 16 seeds, --time 10": [
        "--axis", "init_scale", "--init-scale", "1e-4:1e4:200", "--seeds", "16", "--time", "10",
    ],
    "width x target": ["--axis", "width,target", "--target", "-2:2:81"],
    "mup width": ["--axis", "width", "--param", "mup", "--lr-u", "2", "--lr-ratio", "3"],
    "asymptotic c_w x alpha": ["--asymptotic", "--axis", "c_w,alpha"],
}  # fmt: skip
LOOSE = {"kernel_distance", "kernel_distance_q25", "kernel_distance_q75", "margin"}
RTOL, RTOL_LOOSE = 1e-13, 1e-10
SUBSAMPLE = 40


def _diagram(argv: list[str], out: Path) -> xr.Dataset:
    assert diagram.main([*argv, "--quiet", "--out", str(out)]) == 0
    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        return ds.load()


def _picks(size: int) -> np.ndarray:
    """About SUBSAMPLE flat indices spread over the grid (fixed by the size alone)."""
    return np.unique(np.linspace(0, size - 1, min(size, SUBSAMPLE)).round().astype(int))


def _record(ds: xr.Dataset) -> dict:
    label = ds["label"].values if "label" in ds else ds["regime"].values
    size = label.size
    picks = _picks(size)
    values = {}
    for name, var in ds.data_vars.items():
        if var.dtype.kind != "f":
            continue
        flat = var.values.reshape(-1, size) if var.ndim > label.ndim else var.values.reshape(1, size)
        values[name] = [[float(v).hex() for v in row[picks]] for row in flat]
    return {
        "dims": list(ds["label" if "label" in ds else "regime"].dims),
        "shape": list(label.shape),
        "label": "".join(str(int(v)) for v in label.ravel()),
        "picks": picks.tolist(),
        "values": values,
    }


TRAJECTORY_CELLS = [  # (output_scale, lr_u, lr_w, width, init_scale, seed): every regime, both signs of F0
    (1e-2, 1.0, 1.0, 10_000, 1.0, 0),  # NTK, kernel
    (1e-3, 1.0, 1.0, 1_000_000, 1e-2, 1),  # mean field, small init: alignment
    (1.0, 1.0, 1.0, 2, 3.0, 2),  # width 2, large init: disalignment or rescaling
    (0.5, 3.0, 0.1, 50, 0.3, 3),  # unequal rates
    (1.0, 1.0, 1.0, 1, 1.0, 4),  # width 1: parallel
    (1e-4, 1e3, 1e-3, 1000, 10.0, 5),  # extreme rate ratio
]
TIMES = np.concatenate([[0.0], np.geomspace(1e-3, 1e4, 11)])


def _trajectories() -> list[dict]:
    out = []
    for kappa, lr_u, lr_w, width, sigma, seed in TRAJECTORY_CELLS:
        rng = np.random.default_rng(seed)
        u0, w0 = sigma * rng.standard_normal(width), sigma * rng.standard_normal(width)
        traj = phasefl.solve(phasefl.Model(kappa, lr_u, lr_w), u0, w0, TIMES)
        obs = {name: [float(v).hex() for v in getattr(traj, name)] for name in phasefl.OBSERVABLES}
        obs |= {f"final_{name}": [float(getattr(traj.final, name)).hex()] for name in phasefl.OBSERVABLES}
        out.append(obs)
    return out


def compute(tmp: Path) -> dict:
    return {
        "commands": {key: _record(_diagram(argv, tmp / str(i))) for i, (key, argv) in enumerate(COMMANDS.items())},
        "trajectories": _trajectories(),
    }


def _close(got: list[str], want: list[str], rtol: float, what: str, atol: float = 1e-300) -> None:
    g = np.array([float.fromhex(v) for v in got])
    w = np.array([float.fromhex(v) for v in want])
    np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("key", list(COMMANDS))
def test_readme_commands_unchanged(tmp_path, golden, key):
    want = golden["commands"][key]
    got = _record(_diagram(COMMANDS[key], tmp_path / "d"))
    assert (got["dims"], got["shape"]) == (want["dims"], want["shape"])
    mismatch = [i for i, (a, b) in enumerate(zip(got["label"], want["label"])) if a != b]
    assert not mismatch, f"{len(mismatch)} labels changed, first at flat index {mismatch[0]}"
    assert sorted(got["values"]) == sorted(want["values"])
    for name, rows in want["values"].items():
        for k, row in enumerate(rows):
            loose = name in LOOSE
            _close(got["values"][name][k], row, RTOL_LOOSE if loose else RTOL, f"{key}: {name}[{k}]", 1e-14 * loose)


def test_trajectories_unchanged(golden):
    for i, (got, want) in enumerate(zip(_trajectories(), golden["trajectories"], strict=True)):
        assert sorted(got) == sorted(want)
        for name in want:
            _close(got[name], want[name], RTOL, f"cell {i}: {name}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_golden.py --write   (regenerates tests/golden.json)")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(compute(Path(tmp)), indent=1) + "\n")
    print(f"wrote {GOLDEN}")
