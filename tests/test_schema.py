"""One schema: the names, long names and units of the inputs, observables and order parameters come
from the symbolic side (``lowering.INTERFACE``), and every consumer is built from them."""

import pickle

import numpy as np
import pytest

import phasefl
from phasefl import kernels, schema
from phasefl.results import State, Trajectory
from phasefl.scaleout import create_store, open_result
from phasefl.solve import CELL_ARGS
from phasefl.sweep import SweepSpec, data_variables, parse_range, sweep
from phasefl.symbolic import lowering


def test_the_tables_are_the_symbolic_interface_in_program_order():
    """The generated names are INTERFACE's, in the order of the programs' arguments and results, so a
    position in a kernel's output and a name in the schema cannot drift apart."""
    public = {symbol: name for symbol, (name, _, _) in lowering.INTERFACE.items()}
    assert schema.INPUTS == tuple(public[s] for s in lowering.INPUTS) == CELL_ARGS
    assert schema.OBSERVABLES == tuple(public[s] for s in lowering.OBSERVED)
    assert schema.ORDER_PARAMETERS == tuple(public[s] for s in lowering.ORDER_OUTPUTS)
    assert schema.OBSERVABLES[:2] == ("F", "ntk")  # one spelling: the NTK is "ntk" everywhere
    for name in schema.INPUTS + schema.OBSERVABLES + schema.ORDER_PARAMETERS:
        long_name, units = schema.describe(name)
        assert long_name and units
    with pytest.raises(KeyError, match="'K' is not an input"):
        schema.describe("K")


def test_state_and_trajectory_have_one_field_per_observable():
    tr = phasefl.solve(phasefl.Model(1.0, 1.0, 1.0), [1.0, 0.5], [0.3, 0.2], [0.0, 1.0])
    assert Trajectory.FIELDS == ("times", *schema.OBSERVABLES, "final")
    for name in schema.OBSERVABLES:  # each field is the row of the kernels' output at its position
        assert getattr(tr, name).shape == (2,) and isinstance(getattr(tr.final, name), float)
    assert tr.F[0] == pytest.approx(0.4) and tr.ntk[0] == pytest.approx(1.38)  # kappa u.w; (|u|^2 + |w|^2)
    assert tr.at(1) == State(**{name: float(getattr(tr, name)[1]) for name in schema.OBSERVABLES})
    assert pickle.loads(pickle.dumps(tr.final)) == tr.final


def test_records_refuse_missing_unknown_and_changed_fields():
    values = dict.fromkeys(schema.OBSERVABLES, 1.0)
    with pytest.raises(TypeError, match=r"^State takes exactly F, ntk, ntk_plain, .*; missing \['loss_excess'\]"):
        State(**{k: v for k, v in values.items() if k != "loss_excess"})
    with pytest.raises(TypeError, match=r"unknown \['K'\]"):
        State(**values, K=1.0)
    state = State(**values)
    with pytest.raises(AttributeError, match="read-only"):
        state.F = 2.0  # type: ignore[misc]
    with pytest.raises(AttributeError, match="^State has no attribute 'K'; it has F, ntk"):
        _ = state.K


@pytest.mark.parametrize("time", [None, 3.0])
def test_sweep_and_store_variables_come_from_one_table(tmp_path, time):
    """The Dataset of a sweep, its zarr store and ``data_variables`` name the same variables, with the
    same dims and dtypes; each order parameter but the dominant layer has its median, described as
    the schema describes it."""
    spec = SweepSpec(axes=(parse_range("init_scale", "1e-2:1e2:3"),), fixed={"width": 10.0}, seeds=3, time=time)
    ds = sweep(spec)
    table = data_variables(spec)
    assert set(ds.data_vars) == set(table) | {"label_name"}
    for name, (dims, dtype) in table.items():
        assert ds[name].dims == dims and ds[name].dtype == np.dtype(dtype), name
    for name in schema.ORDER_PARAMETERS:
        if name == "dominant_w":
            assert name not in ds and "dominant_u" in ds
            continue
        long_name, units = schema.describe(name)
        assert ds[name].attrs == {"long_name": f"{long_name} (median)", "units": units}
        assert name in kernels.MEDIANS
    create_store(tmp_path / "s.zarr", spec, spec.shape)
    store = open_result(tmp_path / "s.zarr")
    assert set(store.data_vars) == set(ds.data_vars)
    for name in table:
        assert store[name].dims == ds[name].dims and store[name].dtype == ds[name].dtype, name
        assert store[name].attrs["long_name"] == ds[name].attrs["long_name"], name
