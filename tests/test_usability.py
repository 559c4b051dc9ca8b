"""What a user sees besides the numbers: versions, the console script, readable results."""

import subprocess
import sys

import numpy as np
import xarray as xr

import phasefl
from phasefl import diagram


def test_versions():
    for module in ("phasefl", "phasefl.diagram", "phasefl.empirical"):
        out = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.strip() == f"phasefl {phasefl.__version__}", (module, out)


def test_trajectory_repr_is_a_short_table():
    rng = np.random.default_rng(0)
    traj = phasefl.solve(phasefl.Model(0.01, 1, 1), rng.normal(size=100), rng.normal(size=100), np.linspace(0, 5, 50))
    lines = repr(traj).splitlines()
    assert lines[0].startswith("Trajectory(50 times from 0 to 5") and len(lines) == 5
    assert lines[-1].split()[1] == f"{traj.final.F:.6g}"


def test_labels_are_readable_by_name(tmp_path):
    out = tmp_path / "d"
    assert diagram.main(["--axis", "init_scale", "--init-scale", "1e-3:1e3:9", "--out", str(out), "--quiet"]) == 0
    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        names = np.array(["kernel", "alignment", "disalignment", "rescaling"])
        assert (ds["label_name"].values.astype(str) == names[ds["label"].values]).all()
        assert {"kernel", "alignment"} <= set(ds["label_name"].values.astype(str))
