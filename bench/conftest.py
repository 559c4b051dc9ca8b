"""pytest-benchmark set-up of ``make bench``: the ``--tiny`` option and the ``bench`` fixture.

``bench(fn, cells, rounds=5)`` times ``fn`` with ``benchmark.pedantic`` (one untimed warm-up round,
then ``rounds`` rounds of one call) and records in the benchmark's ``extra_info`` the number of
cells one call processes (the table's cells/s) and its peak memory.

Peak memory is measured with ``tracemalloc`` over one extra, untimed call: the high-water mark of
the memory allocated during the call (NumPy reports every array buffer to tracemalloc, and every
phasefl kernel gets its output and scratch arrays from NumPy, so this is the call's whole footprint
for phasefl and the NumPy/SciPy baselines). It does not see PyTorch's tensors (the torch baseline
records ``None``). The start-up benchmarks pass ``peak_mib`` themselves (a function called after
the timing): the largest peak resident set size (VmHWM) the child processes report.

With ``--tiny`` every benchmark runs on tiny sizes; with ``--benchmark-disable`` once, untimed (the
smoke test, tests/test_bench.py). Each benchmark checks its result, so a broken one fails.
"""

from __future__ import annotations

import tracemalloc

import pytest


def pytest_addoption(parser):
    parser.addoption("--tiny", action="store_true", help="tiny sizes (the smoke test); the timings mean nothing")


@pytest.fixture(scope="session")
def tiny(request) -> bool:
    return request.config.getoption("--tiny")


def traced_peak_mib(fn) -> float:
    """Peak MiB allocated (and traced by tracemalloc) during one call of ``fn``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.fixture
def bench(benchmark, tiny):
    def run(fn, cells: int, rounds: int = 5, peak_mib="traced", **info):
        result = benchmark.pedantic(fn, rounds=1 if tiny else rounds, warmup_rounds=0 if tiny else 1, iterations=1)
        if peak_mib == "traced":
            peak_mib = traced_peak_mib(fn)
        elif callable(peak_mib):
            peak_mib = peak_mib()
        benchmark.extra_info.update(cells=cells, peak_mib=peak_mib, **info)
        return result

    return run
