"""Sweeps that outgrow one process: chunked zarr stores, a manifest, resume, and Dask.

The grid is split into blocks (``phasefl.sweep.blocks``); one block is one task and one zarr
chunk of every variable. A task computes its block, writes it into the store, and only then
records it in the manifest (``RUN.zarr/.phasefl/done/``): a block interrupted mid-write is not
in the manifest and is computed again on ``--resume``. Memory is bounded by the block size,
whatever the grid. Results are identical, bit for bit, to ``phasefl.sweep.sweep`` with the
same seeds, because every cell's result depends only on its own parameters.

Schedulers: "embedded" (this process, numba threads), "local:N" (a ``dask.distributed``
LocalCluster with N worker processes) or "tcp://HOST:PORT" (an existing Dask cluster whose
workers can import phasefl and reach the store's path). Dask is the optional extra
``phasefl[distributed]``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .regimes import LABELS
from .sweep import (
    SweepSpec,
    blocks,
    chunk_shape,
    coordinates,
    data_variables,
    dataset_attrs,
    default_block_cells,
    evaluate_block,
    variable_attrs,
    with_label_names,
)

MANIFEST = ".phasefl"


class ScaleOutError(ValueError):
    """Bad scale-out request (reported to the user in one line)."""


def spec_fingerprint(spec: SweepSpec) -> str:
    """Hash of everything that determines the results, including the exact axis values."""
    h = hashlib.sha256(json.dumps(spec.describe(), sort_keys=True, default=float).encode())
    for axis in spec.axes:
        h.update(axis.name.encode())
        h.update(np.ascontiguousarray(axis.values, dtype=np.float64).tobytes())
    return h.hexdigest()


def _jsonable(attrs: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in attrs.items()}


def create_store(path: Path, spec: SweepSpec, chunks: tuple[int, ...]) -> None:
    """An empty zarr store (format 2) with every variable, coordinate and attribute, and the manifest."""
    import zarr

    group = zarr.open_group(str(path), mode="w", zarr_format=2)
    group.attrs.update(_jsonable(dataset_attrs(spec)))
    for name, (dim, values, attrs) in coordinates(spec).items():
        arr = group.create_array(name, shape=values.shape, chunks=values.shape, dtype=values.dtype)
        arr[:] = values
        arr.attrs.update({**attrs, "_ARRAY_DIMENSIONS": [dim]})
    for name, (dims, dtype) in data_variables(spec).items():
        lead = (len(LABELS),) if dims[0] == "regime" else ()
        fill = -1 if dtype == "int8" else np.nan
        arr = group.create_array(name, shape=lead + spec.shape, chunks=lead + chunks, dtype=dtype, fill_value=fill)
        arr.attrs.update({**_jsonable(variable_attrs(name)), "_ARRAY_DIMENSIONS": list(dims)})
    consolidate(path)
    manifest = path / MANIFEST
    (manifest / "done").mkdir(parents=True)
    (manifest / "spec.json").write_text(
        json.dumps({"fingerprint": spec_fingerprint(spec), "chunks": chunks, "spec": spec.describe()}, default=float)
    )


def consolidate(path: Path) -> None:
    """Consolidate the store's metadata (the manifest folder is not zarr; its warning is expected)."""
    import warnings

    import zarr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr hierarchy.*")
        zarr.consolidate_metadata(str(path))


def _block_id(block: tuple[slice, ...]) -> str:
    return "_".join(str(sl.start) for sl in block)


def compute_block(spec: SweepSpec, block: tuple[slice, ...], path: str) -> int:
    """Task: evaluate one block, write it into the store, then mark it done. Returns its cell count."""
    import zarr

    results = evaluate_block(spec, block)
    group = zarr.open_group(path, mode="r+", zarr_format=2)
    for name, value in results.items():
        array = group[name]
        assert isinstance(array, zarr.Array)  # every result variable is an array of the store
        array[(Ellipsis,) + block] = value
    marker = Path(path) / MANIFEST / "done" / _block_id(block)
    tmp = marker.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("")
    os.replace(tmp, marker)  # atomic: the block counts as done only once all its data is written
    return int(np.prod([sl.stop - sl.start for sl in block]))


def _option(key: str) -> str:
    """The command-line option behind a field of ``SweepSpec.describe()``."""
    return {"axes": "--axis and its ranges", "dynamics": "the dynamics"}.get(key, f"--{key.replace('_', '-')}")


def _differences(saved: dict, now: dict) -> list[str]:
    """Options whose values differ between a store's specification and the requested one."""
    out = []
    for key in sorted(set(saved) | set(now)):
        if key == "exponents":
            continue  # follows --param
        if key == "fixed":
            for name in sorted(set(saved.get(key, {})) | set(now.get(key, {}))):
                old, new = saved[key].get(name), now[key].get(name)
                if old != new:
                    out.append(f"--{name.replace('_', '-')} (store: {old}, now: {new})")
        elif json.dumps(saved.get(key), default=float) != json.dumps(now.get(key), default=float):
            out.append(f"{_option(key)} (store: {saved.get(key)}, now: {now.get(key)})")
    return out


def _read_manifest(path: Path) -> dict:
    manifest = path / MANIFEST / "spec.json"
    if not manifest.exists():
        raise ScaleOutError(f"{path} is not a phasefl sweep store (no {MANIFEST}/spec.json)")
    try:
        saved = json.loads(manifest.read_text())
        saved["fingerprint"], saved["chunks"], saved["spec"]  # noqa: B018 (all three must be there)
    except (ValueError, KeyError, TypeError) as err:
        raise ScaleOutError(f"{manifest} is corrupted ({type(err).__name__}: {err}); start a new --out store") from None
    return saved


def open_store(path: Path, spec: SweepSpec, resume: bool, block_cells: int | None) -> tuple[list, list]:
    """Create the store (or check it for --resume); return (all blocks, blocks still to compute)."""
    if path.exists() and not resume:
        raise ScaleOutError(f"{path} already exists; pass --resume to continue it, or choose another --out")
    if resume and path.exists():
        saved = _read_manifest(path)
        if saved["fingerprint"] != spec_fingerprint(spec):
            now = json.loads(json.dumps(spec.describe(), default=float))
            differ = _differences(saved["spec"], now) or ["the exact axis values"]
            raise ScaleOutError(f"{path} was made with other options; --resume needs the same: {'; '.join(differ)}")
        chunks = tuple(saved["chunks"])
        if block_cells is not None and chunk_shape(spec.shape, block_cells) != chunks:
            raise ScaleOutError(
                f"--chunk-cells {block_cells} differs from the store's chunks {chunks}: drop --chunk-cells to resume"
            )
    else:
        chunks = chunk_shape(spec.shape, default_block_cells(spec) if block_cells is None else block_cells)
        create_store(path, spec, chunks)
    everything = blocks(spec.shape, chunks)
    done = {p.name for p in (path / MANIFEST / "done").iterdir()}
    return everything, [b for b in everything if _block_id(b) not in done]


@contextmanager
def writer_lock(path: Path):
    """Hold ``RUN.zarr/.phasefl/lock`` (our pid) while computing: a second run on the same store is
    refused instead of writing the same chunks. A lock whose process is gone is taken over."""
    lock = path / MANIFEST / "lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid > 0 and _alive(pid):
                raise ScaleOutError(f"{path} is being written by another run (pid {pid}); wait for it to end") from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise ScaleOutError(f"could not take the lock {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(
    spec: SweepSpec,
    path: Path,
    scheduler: str = "embedded",
    resume: bool = False,
    block_cells: int | None = None,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    """Compute every missing block of the store at ``path``; ``progress(cells)`` after each block."""
    path = Path(path)
    everything, todo = open_store(path, spec, resume, block_cells)
    if resume:
        done = len(everything) - len(todo)
        log(f"resume: {done} of {len(everything)} chunks already complete; computing {len(todo)}")
    with writer_lock(path):
        execute(spec, path, todo, scheduler, progress, log)
    return path


def execute(spec: SweepSpec, path: Path, todo: list, scheduler: str, progress=None, log=print) -> None:
    """Compute and store the given blocks with the scheduler; ``progress(cells)`` after each block."""
    started = time.perf_counter()
    if scheduler == "embedded":
        for block in todo:
            cells = compute_block(spec, block, str(path))
            if progress is not None:
                progress(cells)
    else:
        _run_dask(spec, path, scheduler, todo, progress)
    log(f"computed {len(todo)} chunks in {time.perf_counter() - started:.2f} s")


def _client(scheduler: str):
    try:
        from dask.distributed import Client
    except ImportError:
        raise ScaleOutError(
            "--scheduler needs Dask: pip install 'phasefl[distributed]' (dask[distributed] and zarr)"
        ) from None
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ScaleOutError(f"--scheduler local:N needs a worker count N >= 1, got {scheduler!r}")
        # The worker processes ignore ^C (they inherit SIG_IGN): an interrupt reaches the whole process
        # group, and only this process should answer it, cancelling the tasks and closing the cluster.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = _local_cluster(n)
        finally:
            signal.signal(signal.SIGINT, previous)
        return Client(cluster), cluster
    if scheduler.startswith("tcp://"):
        return Client(scheduler, timeout="20s"), None
    raise ScaleOutError(f"--scheduler must be embedded, local:N or tcp://HOST:PORT, got {scheduler!r}")


def _local_cluster(n: int):
    from dask.distributed import LocalCluster

    return LocalCluster(  # one numba thread per worker process: the processes are the parallelism
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # the scheduler serves HTTP (health, metrics) even without a dashboard, on port 8787 unless
        # told otherwise; a free port keeps two runs at once from printing "Port 8787 is already in use"
        scheduler_kwargs={"dashboard_address": ":0"},
        env={"NUMBA_NUM_THREADS": "1"},
        silence_logs=logging.CRITICAL,  # an interrupt cancels tasks: say it once, not in every worker's log
    )


def _run_dask(spec, path: Path, scheduler: str, todo: list, progress) -> None:
    from dask.distributed import as_completed

    client, cluster = _client(scheduler)
    futures = []
    try:
        spec_future = client.scatter(spec, broadcast=True)
        futures = [
            client.submit(compute_block, spec_future, block, str(path.resolve()), pure=False, retries=3)
            for block in todo
        ]
        for future in as_completed(futures):
            cells = future.result()
            if progress is not None:
                progress(cells)
    finally:
        for f in futures:
            f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()


def open_result(path: Path):
    """The store as an ``xarray.Dataset``, with ``label_name`` beside the label codes."""
    import xarray as xr

    ds = xr.open_zarr(str(path), consolidated=True, chunks=None, mask_and_scale=False)  # labels stay int8
    return with_label_names(ds)
