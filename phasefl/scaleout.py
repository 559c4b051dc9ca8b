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
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .sweep import (
    CELL_VARIABLES,
    SweepSpec,
    blocks,
    chunk_shape,
    coordinates,
    dataset_attrs,
    default_block_cells,
    evaluate_block,
    variable_attrs,
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


def _variables(spec: SweepSpec) -> dict[str, tuple[tuple[str, ...], str, object]]:
    """name -> (dims, dtype, fill value) of every data variable of a sweep."""
    dims = tuple(a.name for a in spec.axes)
    names = [
        "label",
        "label_fraction",
        "margin",
        "ntk_ratio",
        "ntk_rel_change",
        "ntk_plain_ratio",
        "gamma",
        "gamma0",
        "zeta",
        "imbalance",
        "dominant_u",
        "kernel_distance",
    ]
    if spec.time is not None:
        names += ["ntk_ratio_at_time", "label_at_time", "loss_excess_at_time"]
    names += [f"cell_{n}" for n in CELL_VARIABLES]
    out = {}
    for name in names:
        is_label = name in ("label", "label_at_time")
        out[name] = (
            (("regime",) if name == "label_fraction" else ()) + dims,
            "int8" if is_label else "float64",
            -1 if is_label else np.nan,
        )
    return out


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
    for name, (dims, dtype, fill) in _variables(spec).items():
        lead = (4,) if dims[0] == "regime" else ()
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
        group[name][(Ellipsis,) + block] = value
    marker = Path(path) / MANIFEST / "done" / _block_id(block)
    tmp = marker.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("")
    os.replace(tmp, marker)  # atomic: the block counts as done only once all its data is written
    return int(np.prod([sl.stop - sl.start for sl in block]))


def open_store(path: Path, spec: SweepSpec, resume: bool, block_cells: int | None) -> tuple[list, list]:
    """Create the store (or check it for --resume); return (all blocks, blocks still to compute)."""
    manifest = path / MANIFEST / "spec.json"
    if path.exists() and not resume:
        raise ScaleOutError(f"{path} already exists; pass --resume to continue it, or choose another --out")
    if resume and path.exists():
        if not manifest.exists():
            raise ScaleOutError(f"{path} is not a phasefl sweep store (no {MANIFEST}/spec.json)")
        saved = json.loads(manifest.read_text())
        if saved["fingerprint"] != spec_fingerprint(spec):
            raise ScaleOutError(f"{path} was made by a different sweep specification; --resume needs the same options")
        chunks = tuple(saved["chunks"])
    else:
        chunks = chunk_shape(spec.shape, default_block_cells(spec) if block_cells is None else block_cells)
        create_store(path, spec, chunks)
    everything = blocks(spec.shape, chunks)
    done = {p.name for p in (path / MANIFEST / "done").iterdir()}
    return everything, [b for b in everything if _block_id(b) not in done]


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
        from dask.distributed import Client, LocalCluster
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
        # one numba thread per worker process: the processes are the parallelism
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"}
        )
        return Client(cluster), cluster
    if scheduler.startswith("tcp://"):
        return Client(scheduler, timeout="20s"), None
    raise ScaleOutError(f"--scheduler must be embedded, local:N or tcp://HOST:PORT, got {scheduler!r}")


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
    """The store as an ``xarray.Dataset`` (lazy where dask is installed)."""
    import xarray as xr

    return xr.open_zarr(str(path), consolidated=True, chunks=None, mask_and_scale=False)  # labels stay int8


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
