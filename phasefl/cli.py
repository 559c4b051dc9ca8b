"""Command-line plumbing shared by phasefl's commands: one-line errors, progress, atomic outputs."""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

FIGURE_FORMATS = ("png", "pdf", "svg")
DEFAULT_FORMATS = ("png",)
# 150 dpi; zlib level 1: a third of the encoding time of the default level 6, files ~15 % larger
PNG_OPTIONS = {"dpi": 150, "pil_kwargs": {"compress_level": 1}}


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM: the command stops, keeping only complete outputs (exit 128 + signal)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no usage dump
        raise UsageError(message)

    def parse_args(self, args=None, namespace=None):
        return super().parse_args(_attach_negative_values(self, sys.argv[1:] if args is None else args), namespace)


_NEGATIVE = re.compile(r"^-\d|^-\.\d|^-inf|^-nan", re.IGNORECASE)


def _attach_negative_values(parser: argparse.ArgumentParser, argv) -> list[str]:
    """``--target -2:2:81`` as ``--target=-2:2:81``: argparse would read a value that starts with a
    minus sign as an option."""
    takes_value = {
        flag
        for action in parser._actions
        if action.nargs is None and action.option_strings
        for flag in action.option_strings
    }
    out: list[str] = []
    for token in argv:
        if out and out[-1] in takes_value and _NEGATIVE.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def run_main(
    prog: str, body: Callable[[], int], interrupted: Callable[[], str] = lambda: "interrupted; nothing written"
) -> int:
    """Run a command's body with one-line errors: bad input or an unwritable output -> exit 2, SIGINT
    or SIGTERM -> 128 + signal number with ``interrupted()``'s message, never a traceback (unless
    PHASEFL_DEBUG=1 is set, for an unexpected error)."""

    def stop(signum, _frame):
        raise Interrupted(signum)

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGXFSZ", None)):
        if sig is not None:  # SIGTERM stops like ^C; past a file-size limit, writes fail with EFBIG
            previous[sig] = signal.signal(sig, stop if sig == signal.SIGTERM else signal.SIG_IGN)
    try:
        return body()
    except (UsageError, ValueError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        signum = err.signum if isinstance(err, Interrupted) else signal.SIGINT
        print(f"{prog}: {interrupted()}", file=sys.stderr)
        return 128 + int(signum)
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        reason = err.strerror or errno.errorcode.get(err.errno or 0, str(err))
        print(f"{prog}: error: could not write{where}: {reason}; nothing was written", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: one line, and the traceback on request
        if os.environ.get("PHASEFL_DEBUG"):
            raise
        print(
            f"{prog}: internal error: {type(err).__name__}: {err} (PHASEFL_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_threshold_options(kernel_threshold: float, zeta_threshold: float) -> None:
    """UsageError naming the flag unless --kernel-threshold > 0 (finite) and 0 <= --zeta-threshold <= 1."""
    if not (math.isfinite(kernel_threshold) and kernel_threshold > 0):
        raise UsageError(f"--kernel-threshold must be a finite number > 0, got {kernel_threshold:g}")
    if not 0 <= zeta_threshold <= 1:
        raise UsageError(f"--zeta-threshold must be in [0, 1], got {zeta_threshold:g}")


#: The files ``write_outputs`` may write into an output folder.
OUTPUT_FILES = ("diagram.nc",) + tuple(f"diagram.{fmt}" for fmt in FIGURE_FORMATS)


def check_output_folder(out: Path, force: bool, holds: tuple[str, ...] = OUTPUT_FILES) -> None:
    """Before any work: ``out`` must be a folder we can create and write in, and must not hold any of
    ``holds`` already unless ``force``. UsageError in one line otherwise."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if not force and any((out / name).exists() for name in holds):
        raise UsageError(
            f"{out} already holds results; pass --force to overwrite them, or --out to choose another folder"
        )
    probe = out.absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--out {out}: {probe} is a file, not a folder")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".phasefl-probe-", dir=probe))
    except OSError as err:
        raise UsageError(f"--out {out}: cannot write in {probe} ({err.strerror or err})") from None


def parse_axes(text: str, allowed) -> list[str]:
    """One or two distinct comma-separated axis names out of ``allowed`` (UsageError otherwise)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not 1 <= len(names) <= 2:
        raise UsageError(f"--axis takes one or two comma-separated names, got {text!r}")
    for n in names:
        if n not in allowed:
            raise UsageError(f"unknown axis {n!r}; choose from {', '.join(allowed)}")
    if len(set(names)) != len(names):
        raise UsageError(f"--axis names must differ, got {text!r}")
    return names


class Progress:
    """Progress bar on stderr (chunks done / total, cells per second), shown for runs over a second."""

    def __init__(self, chunks: int, quiet: bool):
        self.chunks, self.quiet, self.cells = chunks, quiet, 0

    def __enter__(self):
        from tqdm import tqdm

        self.bar = tqdm(
            total=self.chunks,
            unit="chunk",
            file=sys.stderr,
            disable=self.quiet,
            delay=1.0,
            desc="phase diagram",
            leave=False,
        )
        self.started = time.perf_counter()
        return self

    def update(self, cells: int) -> None:
        self.cells += cells
        self.bar.update(1)
        rate = self.cells / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{rate:,.0f} cells/s", refresh=False)

    def __exit__(self, *exc):
        self.bar.close()
        return False


def parse_formats(text: str) -> tuple[str, ...]:
    """The figure formats of ``--format``: comma-separated names out of ``FIGURE_FORMATS``, in order."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expects formats from {', '.join(FIGURE_FORMATS)}, got {text!r}")
    for name in names:
        if name not in FIGURE_FORMATS:
            raise argparse.ArgumentTypeError(
                f"unknown format {name!r}; choose comma-separated from {', '.join(FIGURE_FORMATS)}"
            )
    return tuple(dict.fromkeys(names))


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    """``--format``: which figure files ``write_outputs`` writes besides diagram.nc (None when not given:
    ``DEFAULT_FORMATS``)."""
    parser.add_argument(
        "--format",
        default=None,
        type=parse_formats,
        metavar="FORMATS",
        help=f"figure files to write, comma-separated from {', '.join(FIGURE_FORMATS)} (default png; "
        "e.g. png,pdf); diagram.nc is always written",
    )


@contextmanager
def _distributed_not_imported():
    """Make ``import distributed`` fail for the duration, unless it is imported already.

    xarray's ``to_netcdf`` asks dask which scheduler is active, and both dask and xarray import
    dask.distributed (about 0.2 s) to look for a Client, even for in-memory numpy data. A Client
    cannot exist while distributed has never been imported, so the answer does not change; the
    import is only skipped. (Single-threaded use: another thread importing distributed meanwhile
    would fail.)
    """
    if "distributed" in sys.modules:
        yield
        return
    sys.modules["distributed"] = None  # import raises ImportError, which xarray and dask handle
    try:
        yield
    finally:
        if sys.modules.get("distributed", "not loaded") is None:  # still our block
            del sys.modules["distributed"]


def _with_encoded_names(ds):
    """ds with its string variables as UTF-8 bytes, marked to read back as strings: the same
    netCDF file, without xarray encoding a million strings one at a time (a third of the write)."""
    strings = [name for name, v in ds.data_vars.items() if v.dtype.kind == "U"]
    if not strings:
        return ds
    ds = ds.copy()
    for name in strings:
        v = ds[name]
        ds[name] = (v.dims, _utf8(v.values), v.attrs | {"_Encoding": "utf-8"})
    return ds


def _utf8(strings: np.ndarray) -> np.ndarray:
    """A str array as UTF-8 bytes, as wide as its longest string (as xarray encodes it). ASCII text
    is converted code point by code point (a million labels in 10 ms, against 160 ms through Python
    strings)."""
    per_string = strings.dtype.itemsize // 4  # code points
    points = np.ascontiguousarray(strings).view(np.uint32).reshape(*strings.shape, per_string)
    used = np.flatnonzero(points.reshape(-1, per_string).any(axis=0))
    if points.size and used.size and points.max() < 128:
        width = int(used[-1]) + 1
        return np.ascontiguousarray(points[..., :width].astype(np.uint8)).view(f"S{width}")[..., 0]
    if not strings.size:
        return np.zeros(strings.shape, dtype="S1")  # xarray's width for no strings
    values, codes = np.unique(strings, return_inverse=True)
    return np.array([s.encode("utf-8") for s in values])[codes.reshape(strings.shape)]


def write_outputs(ds, fig, out: Path, formats=DEFAULT_FORMATS) -> list[Path]:
    """Write diagram.nc and diagram.FORMAT for each figure format (png at 150 dpi) into a temporary
    folder, then move them into ``out`` together: an error or an interrupt leaves nothing partial.
    The netCDF file is written in a second thread while the figures render (both mostly wait on
    memory and the disk, or run outside the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".phasefl-", dir=out))
    try:
        names = ["diagram.nc"]
        with _distributed_not_imported(), ThreadPoolExecutor(1) as pool:  # leaving it waits for the write
            netcdf = pool.submit(_with_encoded_names(ds).to_netcdf, tmp / "diagram.nc", engine="scipy")
            for fmt in formats:
                names.append(f"diagram.{fmt}")
                fig.savefig(tmp / names[-1], format=fmt, **(PNG_OPTIONS if fmt == "png" else {}))
            netcdf.result()
        plt.close(fig)
        paths = []
        for name in names:
            os.replace(tmp / name, out / name)
            paths.append(out / name)
        return paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
