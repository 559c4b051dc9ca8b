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


def test_reprs_are_exact_tables():
    """The first and last rows and t = infinity, each observable in a 13-wide column (6 digits), and
    State as name=value pairs; an empty trajectory prints its header alone."""
    from phasefl.results import State, Trajectory

    names = phasefl.OBSERVABLES
    values = {name: np.array([1.0 + i, 2.0 + i, 3.5 + i]) * 10.0**i for i, name in enumerate(names)}
    final = State(**{name: 2 * float(v[-1]) for name, v in values.items()})
    header = "Trajectory({}, observables: F, ntk, ntk_plain, norm_u2, norm_w2, cos_uw, rot_u, rot_w, loss_excess)"
    columns = "            t            F          ntk    ntk_plain      norm_u2      norm_w2       cos_uw        rot_u"
    columns += "        rot_w  loss_excess"
    assert repr(Trajectory(times=np.array([0.0, 0.5, 2.0]), final=final, **values)).splitlines() == [
        header.format("3 times from 0 to 2"),
        columns,
        "            0            1           20          300         4000        50000       600000        7e+06"
        "        8e+07        9e+08",
        "            2          3.5           45          550         6500        75000       850000      9.5e+06"
        "     1.05e+08     1.15e+09",
        "          inf            7           90         1100        13000       150000      1.7e+06      1.9e+07"
        "      2.1e+08      2.3e+09",
    ]
    empty = Trajectory(times=np.array([]), **{name: np.array([]) for name in names})
    assert repr(empty).splitlines() == [header.format("0 times"), columns]
    state = State(**{name: float(i) for i, name in enumerate(names)})
    assert repr(state) == (
        "State(F=0.0, ntk=1.0, ntk_plain=2.0, norm_u2=3.0, norm_w2=4.0, cos_uw=5.0, rot_u=6.0, rot_w=7.0, "
        "loss_excess=8.0)"
    )


def test_labels_are_readable_by_name(tmp_path):
    out = tmp_path / "d"
    assert diagram.main(["--axis", "init_scale", "--init-scale", "1e-3:1e3:9", "--out", str(out), "--quiet"]) == 0
    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        names = np.array(["kernel", "alignment", "disalignment", "rescaling"])
        assert (ds["label_name"].values.astype(str) == names[ds["label"].values]).all()
        assert {"kernel", "alignment"} <= set(ds["label_name"].values.astype(str))
