"""Scale-out: zarr stores, resume, and Dask clusters with real worker processes on loopback."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from phasefl import scaleout
from phasefl.sweep import SweepSpec, parse_range, sweep

dask_distributed = pytest.importorskip("dask.distributed", reason="scale-out tests need phasefl[distributed]")


def _spec(n=24, seeds=4):
    axes = (parse_range("width", f"1:1e6:{n}"), parse_range("init_scale", f"1e-3:1e3:{n}"))
    return SweepSpec(axes=axes, fixed={}, seeds=seeds, time=2.0)


def _assert_identical(store_path, reference: xr.Dataset):
    ds = scaleout.open_result(store_path).load()
    for name in reference.data_vars:
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)
    for name in reference.coords:
        np.testing.assert_array_equal(ds[name].values, reference[name].values, err_msg=name)
    assert ds.attrs["spec"] == reference.attrs["spec"]


def test_store_equals_in_memory_sweep_bit_for_bit(tmp_path):
    """Blocks of 10 cells split both axes (rows of 24 init scales into 10 + 10 + 4), so every block
    must be written to its own place and marked done under its own name."""
    spec = _spec()
    chunks = scaleout.chunk_shape(spec.shape, 10)
    assert chunks[0] < spec.shape[0] and chunks[1] < spec.shape[1]
    scaleout.run(spec, tmp_path / "a.zarr", block_cells=10, log=lambda _: None)
    _assert_identical(tmp_path / "a.zarr", sweep(spec))
    assert len(list((tmp_path / "a.zarr" / scaleout.MANIFEST / "done").iterdir())) == len(
        scaleout.blocks(spec.shape, chunks)
    )


def test_resume_refuses_a_different_specification(tmp_path):
    scaleout.run(_spec(), tmp_path / "a.zarr", log=lambda _: None)
    with pytest.raises(scaleout.ScaleOutError, match="already exists"):
        scaleout.run(_spec(), tmp_path / "a.zarr", log=lambda _: None)
    with pytest.raises(scaleout.ScaleOutError, match="--seeds"):
        scaleout.run(_spec(seeds=5), tmp_path / "a.zarr", resume=True, log=lambda _: None)


def test_a_store_of_another_dynamics_equals_its_sweep_and_resume_names_the_dynamics(tmp_path):
    spec = replace(_spec(), dynamics="kernel")
    scaleout.run(spec, tmp_path / "k.zarr", block_cells=10, log=lambda _: None)
    _assert_identical(tmp_path / "k.zarr", sweep(spec))
    with pytest.raises(scaleout.ScaleOutError, match="the dynamics"):
        scaleout.run(_spec(), tmp_path / "k.zarr", resume=True, log=lambda _: None)


def test_an_existing_cluster_computes_every_block_once_with_progress(tmp_path):
    """--scheduler tcp://HOST:PORT, here an in-process cluster (threads: its workers run this
    process's code, so a mutation tester's mutants reach them): the store equals the embedded sweep,
    progress counts every cell once, and the client leaves the cluster running."""
    from dask.distributed import Client, LocalCluster

    spec = _spec(n=8, seeds=2)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None)
    with cluster:
        counted = []
        scaleout.run(spec, tmp_path / "t.zarr", scheduler=cluster.scheduler_address, block_cells=7,
                     progress=counted.append, log=lambda _: None)  # fmt: skip
        _assert_identical(tmp_path / "t.zarr", sweep(spec))
        blocks = scaleout.blocks(spec.shape, scaleout.chunk_shape(spec.shape, 7))
        assert sorted(counted) == sorted(int(np.prod([sl.stop - sl.start for sl in b])) for b in blocks)
        assert sum(counted) == 64
        with Client(cluster.scheduler_address) as client:  # still up, and holding no leftover task
            assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


def test_local_cluster_with_two_workers_equals_embedded(tmp_path):
    spec = _spec()
    lines = []
    scaleout.run(spec, tmp_path / "d.zarr", scheduler="local:2", block_cells=100, log=lines.append)
    _assert_identical(tmp_path / "d.zarr", sweep(spec))
    assert lines and "computed" in lines[-1]


class _HoldOneTask:
    """Worker plugin: in the worker with process id ``pid``, the first task that starts executing is
    held (the worker's event loop sleeps) after its key is written to ``flag``: a kill that follows the
    flag certainly finds that worker holding unfinished work."""

    def __init__(self, pid: int, flag: str):
        self.pid, self.flag, self.held = pid, flag, False

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and not self.held and os.getpid() == self.pid:
            self.held = True
            with open(self.flag + ".tmp", "w") as f:
                f.write(str(key))
            os.replace(self.flag + ".tmp", self.flag)
            time.sleep(120)


def test_killing_a_worker_that_holds_a_block_loses_nothing(tmp_path):
    from dask.distributed import Client, LocalCluster, WorkerPlugin

    class Hold(_HoldOneTask, WorkerPlugin):
        pass

    spec = _spec(n=40, seeds=8)
    store = tmp_path / "k.zarr"
    flag = tmp_path / "held"
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        victim = list(client.run(os.getpid).values())[0]
        client.register_plugin(Hold(victim, str(flag)))
        errors = []

        def run():
            try:
                scaleout.run(spec, store, scheduler=cluster.scheduler_address, block_cells=20, log=lambda _: None)
            except Exception as err:  # surfaced below
                errors.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.time() + 180
        while time.time() < deadline and not flag.exists():  # the event: the victim holds a block
            time.sleep(0.01)
        held = flag.read_text()
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=300)
        assert not thread.is_alive() and not errors, errors
    finally:
        client.close()
        cluster.close()
    assert held.startswith("compute_block")  # the killed worker held a block, unfinished when it died
    total = len(scaleout.blocks(spec.shape, scaleout.chunk_shape(spec.shape, 20)))
    assert len(list((store / scaleout.MANIFEST / "done").iterdir())) == total
    _assert_identical(store, sweep(spec))


class _HoldAfter:
    """Worker plugin: once ``count`` tasks have started executing in this worker, the next one is held
    (the event loop sleeps) after its key is written to ``flag``. With one worker thread, exactly
    ``count`` blocks are then done and no other can finish."""

    def __init__(self, count: int, flag: str):
        self.count, self.flag, self.started = count, flag, 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing":
            return
        self.started += 1
        if self.started == self.count + 1:
            with open(self.flag + ".tmp", "w") as f:
                f.write(str(key))
            os.replace(self.flag + ".tmp", self.flag)
            time.sleep(300)


def test_sigint_then_resume_recomputes_only_missing_chunks(tmp_path):
    """SIGINT while a worker holds the eleventh block (an event, not a chunk count polled for): the
    command exits 130 with one line naming --resume, exactly 10 chunks are done, and --resume (here
    in-process) computes only the others, to the same dataset as one sweep."""
    from dask.distributed import Client, LocalCluster, WorkerPlugin

    class Hold(_HoldAfter, WorkerPlugin):
        pass

    store, flag = tmp_path / "r.zarr", tmp_path / "held"
    ranges = ["--width", "1:1e6:60", "--init-scale", "1e-3:1e3:60", "--seeds", "8", "--chunk-cells", "30"]
    argv = [sys.executable, "-m", "phasefl.diagram", "--axis", "width,init_scale", *ranges, "--out", str(store)]
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        worker = list(client.run(os.getpid).values())[0]
        client.register_plugin(Hold(10, str(flag)))
        proc = subprocess.Popen(
            argv + ["--scheduler", cluster.scheduler_address, "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 180
        while time.time() < deadline and not flag.exists() and proc.poll() is None:  # the event: block 11 held
            time.sleep(0.01)
        assert flag.read_text().startswith("compute_block")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        os.kill(worker, signal.SIGKILL)  # the held task never finishes
    finally:
        client.close()
        cluster.close()
    assert proc.returncode == 130, (out, err)
    assert len(err.strip().splitlines()) == 1 and "--resume" in err and "Traceback" not in err, err
    done = store / scaleout.MANIFEST / "done"
    grid = SweepSpec(axes=(parse_range("width", "1:1e6:60"), parse_range("init_scale", "1e-3:1e3:60")), fixed={})
    total = len(scaleout.blocks(grid.shape, scaleout.chunk_shape(grid.shape, 30)))
    assert len(list(done.iterdir())) == 10

    resumed = subprocess.run(argv + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resume: 10 of {total} chunks already complete; computing {total - 10}" in resumed.stderr
    spec = SweepSpec(
        axes=(parse_range("width", "1:1e6:60"), parse_range("init_scale", "1e-3:1e3:60")), fixed={}, seeds=8
    )
    _assert_identical(store, sweep(spec))


def test_a_local_cluster_beside_another_says_nothing_about_ports(tmp_path):
    """Two local clusters at once (two runs, or a run beside a notebook's cluster): the scheduler's HTTP
    server takes a free port instead of 8787, so the run prints no "Port 8787 is already in use"."""
    import warnings

    from dask.distributed import LocalCluster

    other = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)  # takes 8787
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scaleout.run(_spec(n=4, seeds=1), tmp_path / "p.zarr", scheduler="local:1", log=lambda _: None)
    finally:
        other.close()
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_an_uncomputed_store_reads_as_missing_in_its_documented_chunks(tmp_path):
    """create_store alone: every label is -1 (int8 has no nan), every float nan, and each data variable is
    chunked as the blocks are (a block then writes whole chunks; the regime axis is one chunk)."""
    import zarr

    spec = _spec(n=6, seeds=2)
    chunks = scaleout.chunk_shape(spec.shape, 10)
    scaleout.create_store(tmp_path / "e.zarr", spec, chunks)
    group = zarr.open_group(str(tmp_path / "e.zarr"), mode="r", zarr_format=2)
    ds = xr.open_zarr(str(tmp_path / "e.zarr"), consolidated=True, chunks=None, mask_and_scale=False)
    assert set(ds.data_vars) == set(scaleout.data_variables(spec)) and len(ds.data_vars) > 10
    for name, var in ds.data_vars.items():
        values = var.values
        if values.dtype == np.int8:
            assert np.all(values == -1), name
        elif values.dtype.kind == "f":
            assert np.all(np.isnan(values)), name
        lead = (4,) if var.dims[0] == "regime" else ()
        assert group[name].chunks == lead + chunks, name


def test_resume_says_how_many_chunks_are_done_and_the_run_how_long_it_took(tmp_path):
    """The log lines of a resumed run: the counts of done and remaining chunks, and a duration that is
    the run's own (a few seconds here, not the clock's reading)."""
    spec = _spec(n=6, seeds=2)
    store = tmp_path / "r.zarr"
    scaleout.run(spec, store, block_cells=10, log=lambda _: None)
    done = sorted((store / scaleout.MANIFEST / "done").iterdir())
    for marker in done[:2]:
        marker.unlink()
    lines: list[str] = []
    scaleout.run(spec, store, resume=True, block_cells=10, log=lines.append)
    assert lines[0] == f"resume: {len(done) - 2} of {len(done)} chunks already complete; computing 2"
    seconds = float(re.fullmatch(r"computed 2 chunks in (\S+) s", lines[-1]).group(1))
    assert 0 <= seconds < 600
    _assert_identical(store, sweep(spec))


def test_resume_of_a_folder_that_is_not_a_store_says_so(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(
        scaleout.ScaleOutError, match=r"plain is not a phasefl sweep store \(no \.phasefl/spec\.json\)$"
    ):
        scaleout.run(_spec(), tmp_path / "plain", resume=True, log=lambda _: None)


def test_resume_of_a_new_store_computes_it_and_two_changed_options_are_both_named(tmp_path):
    """--resume where nothing exists yet starts the store (it is not 'not a phasefl store'); a resume that
    changes two options names both, separated by '; '."""
    spec = _spec(n=6, seeds=2)
    lines: list[str] = []
    scaleout.run(spec, tmp_path / "n.zarr", resume=True, block_cells=10, log=lines.append)
    assert lines[0].startswith("resume: 0 of ")
    _assert_identical(tmp_path / "n.zarr", sweep(spec))
    changed = replace(spec, seeds=3, time=5.0)
    with pytest.raises(scaleout.ScaleOutError) as err:
        scaleout.run(changed, tmp_path / "n.zarr", resume=True, block_cells=10, log=lambda _: None)
    assert re.search(
        r"needs the same: --seeds \(store: 2, now: 3\); --time \(store: 2\.0, now: 5\.0\)$", str(err.value)
    )
