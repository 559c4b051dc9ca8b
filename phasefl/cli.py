"""Command-line plumbing shared by phasefl's commands: one-line errors, progress, atomic outputs."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no usage dump
        raise UsageError(message)


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


def write_outputs(ds, fig, out: Path) -> list[Path]:
    """Write diagram.nc/.png/.pdf into a temporary folder, then move them into ``out`` together."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".phasefl-", dir=out))
    try:
        ds.to_netcdf(tmp / "diagram.nc", engine="scipy")
        fig.savefig(tmp / "diagram.png", dpi=150)
        fig.savefig(tmp / "diagram.pdf")
        plt.close(fig)
        paths = []
        for name in ("diagram.nc", "diagram.png", "diagram.pdf"):
            os.replace(tmp / name, out / name)
            paths.append(out / name)
        return paths
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
