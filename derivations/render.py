"""Render the derivation notebooks: execute each MyST Markdown notebook, write .ipynb and .html.

Usage (from the repository root; ``make derivations`` runs the first form)::

    python derivations/render.py                 # every derivations/[0-9][0-9]_*.md
    python derivations/render.py 04 06           # only notebooks whose name starts with 04 or 06
    python derivations/render.py --no-html       # executed .ipynb only (nbconvert not needed)

Outputs go to ``derivations/_build/`` (gitignored): ``NN_name.ipynb`` (executed, with outputs),
``NN_name.html`` and an ``index.html`` linking them. Each notebook runs with its working
directory set to ``derivations/`` and with the repository root on ``PYTHONPATH``, exactly as
``tests/test_derivations.py`` runs them. Exits with status 1 if any notebook fails.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = HERE / "_build"
TIMEOUT = 120  # seconds per cell, as in the tests


def notebooks(prefixes: list[str] | None = None) -> list[Path]:
    """The numbered MyST notebooks, in order (optionally only names starting with a prefix)."""
    paths = sorted(HERE.glob("[0-9][0-9]_*.md"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(pre) for pre in prefixes)]
    return paths


def kernel_env() -> dict[str, str]:
    """The environment of the kernel: ours, with the repository root first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execute a notebook in place (raises CellExecutionError on failure, leaving the outputs so far)."""
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    client.execute(env=kernel_env())
    return nb


def to_html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter  # only needed for rendering, not for the tests

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose file name starts with one of these")
    parser.add_argument("--no-html", action="store_true", help="write executed .ipynb only")
    args = parser.parse_args(argv)

    BUILD.mkdir(exist_ok=True)
    failed, rendered = [], []
    for path in notebooks(args.prefixes):
        start = time.perf_counter()
        nb = jupytext.read(path)
        try:
            execute(nb)
            status = "ok"
        except CellExecutionError as err:
            status = "FAILED"
            failed.append(path.name)
            print(err, file=sys.stderr)
        elapsed = time.perf_counter() - start
        print(f"{status:6s} {elapsed:6.1f} s  {path.name}")
        nbformat.write(nb, BUILD / f"{path.stem}.ipynb")  # a failed one too, to read where it stopped
        if status != "ok":
            continue
        if not args.no_html:
            (BUILD / f"{path.stem}.html").write_text(to_html(nb), encoding="utf-8")
        title = next((c.source.lstrip("# ").splitlines()[0] for c in nb.cells if c.cell_type == "markdown"), path.stem)
        rendered.append((path.stem, title))
    if rendered and not args.no_html:
        items = "\n".join(f'<li><a href="{stem}.html">{html.escape(title)}</a></li>' for stem, title in rendered)
        (BUILD / "index.html").write_text(
            f"<!doctype html><title>phasefl derivations</title><h1>phasefl derivations</h1><ol>\n{items}\n</ol>\n",
            encoding="utf-8",
        )
    summary = f"wrote {len(rendered)} notebook(s) to {BUILD.relative_to(ROOT)}/"
    print(summary + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
