"""The table of ``make bench``: pytest-benchmark's JSON as Markdown, one row per benchmark.

    python bench/table.py RESULTS.json [OUT.md]

Columns: median time of the rounds, cells per second (cells one call processes / median; draws for
the sweep, runs for start-up), peak memory (see bench/conftest.py) and the max error of F where a
benchmark records one. Prints the table and writes it to OUT.md when given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def table(results: dict) -> str:
    m = results["machine_info"]
    lines = [
        f"# make bench, {results['datetime'][:19]}",
        "",
        f"{m.get('cpu', {}).get('brand_raw', m.get('processor', '?'))}, {m.get('cpu', {}).get('count', '?')} cores, "
        f"Python {m['python_version']}; commit {results.get('commit_info', {}).get('id', '?')[:10]}",
        "",
        "| benchmark | median | rounds | cells/s | peak MiB | max error of F |",
        "|---|---|---:|---:|---:|---:|",
    ]
    group = None

    def order(b):  # by group, then the parameters in their natural order (numbers as numbers)
        params = (b.get("params") or {}).values()
        return b["group"] or "", b["name"].split("[")[0], [(isinstance(v, str), v) for v in params]

    for b in sorted(results["benchmarks"], key=order):
        if b["group"] != group:
            group = b["group"]
            lines.append(f"| **{group}** | | | | | |")
        info, median = b["extra_info"], b["stats"]["median"]
        rate = f"{info['cells'] / median:,.0f}" if "cells" in info and info["cells"] > 1 else ""
        peak = "" if info.get("peak_mib") is None else f"{info['peak_mib']:.3g}"
        error = f"{info['max_error']:.1e}" if "max_error" in info else ""
        name = b["name"].split("[", 1)[-1].rstrip("]") if "[" in b["name"] else b["name"]
        lines.append(f"| {name} | {fmt_time(median)} | {b['stats']['rounds']} | {rate} | {peak} | {error} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = table(json.loads(Path(argv[0]).read_text()))
    print(text)
    if len(argv) > 1:
        Path(argv[1]).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
