"""The fault and bad-input matrix of the command-line tools.

Every case must end in one line on stderr that names the bad value or the failing place, exit code 2
(128 + signal for an interrupt), no traceback, and no partial or overwritten output. The commands are
called in-process where that is faithful (fast), in a subprocess for signals and resource limits.
"""

import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from phasefl import __main__ as top
from phasefl import diagram, scaleout

SMALL = ["--axis", "width", "--width", "1:100:4", "--seeds", "1"]


def _one_line_error(capsys, rc, code=2):
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith("note:")]
    assert rc == code, captured
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0], captured.out


# --- bad values: (argv, words the one line must contain) -------------------------------------------
BAD_VALUES = [
    (["--axis", "width", "--width", "0"], ["--width", ">= 1", "got 0"]),
    (["--axis", "target", "--width", "0"], ["--width", ">= 1"]),
    (["--axis", "width", "--init-scale", "0"], ["--init-scale", "> 0", "got 0"]),
    (["--axis", "width", "--lr-ratio", "0"], ["--lr-ratio", "> 0", "got 0"]),
    (["--axis", "width", "--lr-u", "-1"], ["--lr-u", "> 0", "got -1"]),
    (["--axis", "width", "--init-scale", "nan"], ["--init-scale", "got nan"]),
    (["--axis", "target", "--width", "inf"], ["--width", "got inf"]),
    (["--axis", "width", "--target=-inf"], ["--target", "got -inf"]),
    (["--axis", "init_scale", "--init-scale", "1:1:5"], ["--init-scale", "degenerate"]),
    (["--axis", "width", "--width", "1:1e4:5000"], ["--width", "4096"]),
    (["--axis", "width", "--width", "1e-3:1:5"], ["--width", ">= 1"]),
    (["--axis", "width", "--width", "1:10:x"], ["--width", "START:STOP:N"]),
    (["--axis", "target", "--width", "1e300"], ["|u0|²", "1e+300"]),
    (["--axis", "init_scale", "--init-scale", "1e-200:1:4"], ["init_scale = 1e-200"]),
    (["--axis", "width", "--seeds", "0"], ["--seeds", "0"]),
    (["--axis", "width", "--kernel-threshold", "0"], ["--kernel-threshold", "> 0"]),
    (["--axis", "width", "--zeta-threshold", "2"], ["--zeta-threshold", "[0, 1]"]),
    (["--axis", "width", "--kernel-threshold", "inf"], ["--kernel-threshold", "got inf"]),
    (["--axis", "width", "--zeta-threshold", "-0.5"], ["--zeta-threshold", "got -0.5"]),
    (["--axis", "width,width"], ["--axis", "must differ", "'width,width'"]),
    (["--axis", "width", "--time", "nan"], ["--time", "nan"]),
    (["--axis", "width", "--chunk-cells", "0"], ["--chunk-cells", "0"]),
    (["--axis", "width,init_scale", "--width", "1:1e6:4096", "--init-scale", "1:2:4096"], [".zarr", "cells"]),
    # options that conflict
    (["--axis", "width", "--lr-w", "2", "--lr-ratio", "3"], ["--lr-w", "--lr-ratio"]),
    (["--axis", "width", "--init-scale", "2", "--init-scale-u", "3", "--init-scale-w", "4"], ["--init-scale"]),
    (["--axis", "lr_ratio", "--lr-w", "2"], ["--lr-w", "--lr-ratio"]),
    (["--axis", "width", "--resume"], ["--resume", ".zarr"]),
    (["--axis", "width", "--target", "1:2:3"], ["--target", "not an axis"]),
    (["--axis", "width", "--alpha", "1"], ["--alpha", "--asymptotic"]),
    (["--asymptotic", "--scheduler", "local:2"], ["--scheduler", "--asymptotic"]),
    (["--axis", "width", "--scheduler", "local:x"], ["local:N"]),
    (["--axis", "width", "--scheduler", "local:0"], ["local:N", "'local:0'"]),
    (["--axis", "width", "--scheduler", "ssh://x"], ["--scheduler", "'ssh://x'"]),
    # finite-width options with --asymptotic, and the exponents' own values
    (["--asymptotic", "--width", "10"], ["--width", "--asymptotic"]),
    (["--asymptotic", "--init-scale-u", "2"], ["--init-scale-u applies to finite-width diagrams, not --asymptotic"]),
    (["--asymptotic", "--time", "2"], ["error: --seeds and --time apply to finite-width diagrams, not --asymptotic"]),
    (["--axis", "width", "--chunk-cells", "0"], ["error: --chunk-cells must be >= 1, got 0"]),
    (["--asymptotic", "--axis", "alpha"], ["--axis", "two exponents", "'alpha'"]),
    (["--axis", "width", "--format", " , "], ["--format", "expects formats from png, pdf, svg, got ' , '"]),
    (["--axis", "width", "--format", "png,gif"], ["unknown format 'gif'; choose comma-separated from png, pdf, svg"]),
    (["--asymptotic", "--seeds", "2"], ["--seeds", "--asymptotic"]),
    (["--asymptotic", "--axis", "alpha,c_w", "--b-u", "x"], ["--b-u", "'x'"]),
    (["--asymptotic", "--axis", "alpha,c_w", "--b-u", "inf"], ["--b-u", "finite", "got inf"]),
    (["--asymptotic", "--axis", "alpha,c_w", "--alpha", "1:2:3:log"], ["--alpha", "linear", "'1:2:3:log'"]),
    (["--asymptotic", "--axis", "alpha,c_w", "--alpha", "0:1:5000"], ["--alpha", "4096", "5000"]),
]


@pytest.mark.parametrize("argv, words", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_value_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "never"
    line, _ = _one_line_error(capsys, diagram.main([*argv, "--out", str(out), "--quiet"]))
    for word in words:
        assert word in line, line
    assert not out.exists()


def test_a_store_run_refuses_a_chunk_size_below_one(tmp_path, capsys):
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--chunk-cells", "0", "--out", str(tmp_path / "s.zarr")]))
    assert line == "python -m phasefl.diagram: error: --chunk-cells must be >= 1, got 0"


def test_a_range_that_starts_with_a_minus_sign_needs_no_equals_sign(tmp_path):
    out = tmp_path / "t"
    assert (
        diagram.main(["--axis", "target", "--target", "-2:2:5:lin", "--seeds", "1", "--out", str(out), "--quiet"]) == 0
    )
    import xarray as xr

    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        assert list(ds["target"].values) == [-2.0, -1.0, 0.0, 1.0, 2.0]


# --- the output place -------------------------------------------------------------------------------


def test_out_is_an_existing_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("keep me")
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(target), "--quiet"]))
    assert str(target) in line and "not a folder" in line and target.read_text() == "keep me"


def test_out_below_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(tmp_path / "file" / "sub"), "--quiet"]))
    assert "is a file" in line


@pytest.mark.parametrize("place", ["/proc/phasefl-never", "/sys/phasefl-never/sub"])
def test_out_where_nothing_can_be_written(capsys, place):
    probe = Path(place)
    while not probe.exists():
        probe = probe.parent
    try:
        os.rmdir(tempfile.mkdtemp(dir=probe))
        pytest.skip(f"{probe} is writable on this machine")
    except OSError:
        pass
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", place, "--quiet"]))
    assert "cannot write" in line and not Path(place).exists()


def test_results_are_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "d"
    assert diagram.main([*SMALL, "--out", str(out), "--quiet"]) == 0
    before = (out / "diagram.nc").stat().st_mtime_ns
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(out), "--quiet"]))
    assert "--force" in line and (out / "diagram.nc").stat().st_mtime_ns == before
    assert diagram.main([*SMALL, "--out", str(out), "--quiet", "--force", "--seeds", "2"]) == 0
    assert (out / "diagram.nc").stat().st_mtime_ns != before


def test_the_default_folder_is_not_overwritten(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert diagram.main([*SMALL, "--quiet"]) == 0
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--quiet"]))
    assert "diagram-width" in line and "--force" in line


def test_zarr_output_without_zarr_installed(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr raises ImportError
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(tmp_path / "a.zarr"), "--quiet"]))
    assert "phasefl[distributed]" in line and not (tmp_path / "a.zarr").exists()


def test_an_existing_store_without_resume(tmp_path, capsys):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--out", str(store), "--quiet"]) == 0
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(store), "--quiet"]))
    assert "--resume" in line


# --- resume against a different specification: each option is named ----------------------------------

CHANGES = [
    (["--seeds", "2"], "--seeds"),
    (["--seed", "5"], "--seed"),
    (["--time", "3"], "--time"),
    (["--param", "mup"], "--param"),
    (["--kernel-threshold", "0.02"], "--kernel-threshold"),
    (["--zeta-threshold", "0.5"], "--zeta-threshold"),
    (["--target", "2"], "--target"),
    (["--lr-ratio", "2"], "--lr-ratio"),
]


@pytest.mark.parametrize("change, option", CHANGES, ids=[c[1] for c in CHANGES])
def test_resume_names_the_option_that_differs(tmp_path, capsys, change, option):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--out", str(store), "--quiet"]) == 0
    manifest = (store / scaleout.MANIFEST / "spec.json").read_text()
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, *change, "--out", str(store), "--resume", "--quiet"]))
    # the one option, by its flag, with both values (--param alone, not the exponents that follow it)
    assert re.search(rf"needs the same: {re.escape(option)} \(store: [^;]+, now: [^;]+\)$", line), line
    assert (store / scaleout.MANIFEST / "spec.json").read_text() == manifest


def test_resume_names_both_values_of_a_changed_fixed_value(tmp_path, capsys):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--lr-ratio", "3", "--time", "1", "--out", str(store), "--quiet"]) == 0
    argv = [*SMALL, "--lr-ratio", "2", "--time", "1", "--out", str(store), "--resume", "--quiet"]
    line, _ = _one_line_error(capsys, diagram.main(argv))
    assert line.endswith("needs the same: --lr-ratio (store: 3.0, now: 2.0)"), line
    argv = [*SMALL, "--lr-ratio", "3", "--time", "2", "--out", str(store), "--resume", "--quiet"]
    line, _ = _one_line_error(capsys, diagram.main(argv))
    assert line.endswith("needs the same: --time (store: 1.0, now: 2.0)"), line


def test_resume_of_a_store_from_before_a_setting_existed_names_it(tmp_path, capsys):
    """A store written before SweepSpec had ``dynamics`` (its manifest lacks the key, and its fingerprint
    differs) is not resumed as if it matched: the line names the setting."""
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--out", str(store), "--quiet"]) == 0
    path = store / scaleout.MANIFEST / "spec.json"
    manifest = json.loads(path.read_text())
    del manifest["spec"]["dynamics"]
    manifest["fingerprint"] = hashlib.sha256(json.dumps(manifest["spec"], sort_keys=True).encode()).hexdigest()
    path.write_text(json.dumps(manifest))
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(store), "--resume", "--quiet"]))
    assert line.endswith("needs the same: the dynamics (store: None, now: flow)"), line


def test_resume_names_a_changed_range_and_chunking(tmp_path, capsys):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--chunk-cells", "2", "--out", str(store), "--quiet"]) == 0
    argv = ["--axis", "width", "--width", "1:100:5", "--seeds", "1", "--out", str(store), "--resume", "--quiet"]
    line, _ = _one_line_error(capsys, diagram.main(argv))
    assert "--axis and its ranges" in line
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--chunk-cells", "3", "--out", str(store), "--resume"]))
    assert "--chunk-cells 3" in line
    assert diagram.main([*SMALL, "--chunk-cells", "2", "--out", str(store), "--resume", "--quiet"]) == 0


def test_an_interrupted_store_run_says_the_completed_chunks_are_kept(tmp_path, capsys, monkeypatch):
    """^C during a .zarr run: exit 130 and one line that points to --resume (in-process: no signal needed)."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scaleout, "execute", interrupted)
    store = tmp_path / "a.zarr"
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(store), "--quiet"]), code=130)
    assert line == f"python -m phasefl.diagram: interrupted; completed chunks are kept in {store}: rerun with --resume"


def test_a_corrupted_manifest(tmp_path, capsys):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--out", str(store), "--quiet"]) == 0
    (store / scaleout.MANIFEST / "spec.json").write_text('{"fingerprint": ')
    line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(store), "--resume", "--quiet"]))
    assert "corrupted" in line


def test_two_runs_on_one_store_at_once(tmp_path, capsys):
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--out", str(store), "--quiet"]) == 0
    with scaleout.writer_lock(store):  # this process holds the store, as a running sweep would
        line, _ = _one_line_error(capsys, diagram.main([*SMALL, "--out", str(store), "--resume", "--quiet"]))
        assert f"pid {os.getpid()}" in line
    (store / scaleout.MANIFEST / "lock").write_text("999999999")  # a lock left by a process that is gone
    assert diagram.main([*SMALL, "--out", str(store), "--resume", "--quiet"]) == 0
    assert not (store / scaleout.MANIFEST / "lock").exists()


# --- python -m phasefl --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--width", "1e160"], ["1e+160", "|u0|² |w0|²"]),
        (["--width", "0"], ["--width"]),
        (["--width", "100", "--lr-w", "2", "--lr-ratio", "3"], ["--lr-w", "--lr-ratio"]),
        (["explain", "--param", "sp"], ["--param"]),
        (["explain", "--rows", "1"], ["--rows"]),
        (["--target", "nan"], ["--target"]),
        (["--target", "-inf"], ["--target", "got -inf"]),
        # a cell float64 cannot carry (K_inf = g|m| ~ 2e400): named before any table ("Geometric sequence" before)
        (["--output-scale", "1e100", "--target", "1e300", "explain"], ["K_inf overflows", "outside float64's range"]),
    ],
)
def test_phasefl_bad_input_prints_nothing_else(capsys, argv, words):
    line, out = _one_line_error(capsys, top.main(argv))
    assert out == "", "no partial table"
    for word in words:
        assert word in line


def test_an_unexpected_error_is_one_line_exit_1_and_phasefl_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    def bug(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(diagram, "sweep_spec", bug)
    argv = [*SMALL, "--out", str(tmp_path / "d"), "--quiet"]
    line, _ = _one_line_error(capsys, diagram.main(argv), code=1)
    assert "internal error: RuntimeError: a bug" in line and "PHASEFL_DEBUG=1" in line, line
    monkeypatch.setenv("PHASEFL_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        diagram.main(argv)
    assert not (tmp_path / "d").exists()


def test_in_process_calls_leave_the_signal_handlers_as_they_were(tmp_path):
    """main() catches SIGTERM (and ignores SIGXFSZ) only while it runs: a notebook or a caller keeps its own."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGXFSZ)}
    assert diagram.main([*SMALL, "--out", str(tmp_path / "d"), "--quiet"]) == 0
    assert diagram.main(["--axis", "width", "--width", "0", "--out", str(tmp_path / "e"), "--quiet"]) == 2
    assert {sig: signal.getsignal(sig) for sig in before} == before


# --- signals and resource limits (subprocesses) -------------------------------------------------------


def _diagram_process(args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "phasefl.diagram", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_a_full_disk_leaves_nothing(tmp_path):
    """Past RLIMIT_FSIZE a write fails with EFBIG (SIGXFSZ is ignored): one line, nothing left behind."""

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    # compile and cache the kernels, and let matplotlib build its font cache, before the limit applies
    assert diagram.main(["--axis", "width,init_scale", "--seeds", "1", "--out", str(tmp_path / "warm"), "--quiet"]) == 0
    out = tmp_path / "d"
    proc = _diagram_process(
        ["--axis", "width,init_scale", "--seeds", "1", "--out", str(out), "--quiet"], preexec_fn=limit
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and "File too large" in err and "nothing was written" in err, err
    assert not out.exists() or list(out.iterdir()) == []


# The command, with its sweep held after the first block until a signal arrives: the test sends the
# signal once the child says so (an event, not a time), and the real handlers of the command answer it.
HELD_AFTER_FIRST_BLOCK = """
import sys, threading
from phasefl import diagram, kernels
original, calls = kernels.sweep_block, []
def held(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        print("FIRST BLOCK DONE", file=sys.stderr, flush=True)
        threading.Event().wait(120)  # interruptible: the signal's handler raises here
    return original(*args, **kwargs)
kernels.sweep_block = held
sys.exit(diagram.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_an_in_memory_sweep(tmp_path, signum, code):
    """A signal in the middle of the sweep (after its first block): exit 128 + signal, one line, no output."""
    out = tmp_path / "d"
    args = ["--axis", "width,init_scale", "--width", "1:1e3:20", "--init-scale", "1e-3:1e3:20", "--chunk-cells", "50"]
    proc = subprocess.Popen(
        [sys.executable, "-c", HELD_AFTER_FIRST_BLOCK, *args, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = ""
    while "FIRST BLOCK DONE" not in seen and proc.poll() is None:
        seen += proc.stderr.readline()
    assert "FIRST BLOCK DONE" in seen, seen
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    err = (seen + err).split("\r")[-1]
    assert proc.returncode == code, err
    assert err.splitlines()[-1] == "python -m phasefl.diagram: interrupted; nothing written" and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.slow
def test_an_interrupt_of_a_dask_run_is_one_line(tmp_path):
    """^C reaches the whole process group: the workers ignore it, the command says one line."""
    pytest.importorskip("dask.distributed")
    store = tmp_path / "s.zarr"
    args = ["--axis", "width,init_scale", "--width", "1:1e6:500", "--init-scale", "1e-3:1e3:500"]
    proc = _diagram_process(
        [*args, "--chunk-cells", "500", "--scheduler", "local:2", "--out", str(store), "--quiet"],
        start_new_session=True,
    )
    done = store / scaleout.MANIFEST / "done"
    deadline = time.time() + 180
    while time.time() < deadline and not (done.exists() and len(list(done.iterdir())) >= 4):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        f"python -m phasefl.diagram: interrupted; completed chunks are kept in {store}: rerun with --resume"
    ], err
    spec = json.loads((store / scaleout.MANIFEST / "spec.json").read_text())
    assert spec["chunks"] and len(list(done.iterdir())) >= 4


def test_a_dask_run_into_a_folder_equals_the_embedded_run(tmp_path):
    """--scheduler local:2 --out DIR used to fail after the whole sweep (the store's string fill value)."""
    pytest.importorskip("dask.distributed")
    import numpy as np
    import xarray as xr

    args = ["--axis", "width,init_scale", "--width", "1:1e4:6", "--init-scale", "1e-2:1e2:5", "--quiet"]
    assert diagram.main([*args, "--out", str(tmp_path / "e")]) == 0
    assert diagram.main([*args, "--scheduler", "local:2", "--out", str(tmp_path / "d")]) == 0
    with xr.open_dataset(tmp_path / "e" / "diagram.nc", engine="scipy") as e:
        with xr.open_dataset(tmp_path / "d" / "diagram.nc", engine="scipy") as d:
            for name in ("label", "label_name", "ntk_ratio", "kernel_distance", "cell_lr_w"):
                np.testing.assert_array_equal(d[name].values, e[name].values, err_msg=name)
            assert d["label"].dtype == np.int8


def test_a_diagram_on_an_existing_cluster_equals_the_embedded_one_and_leaves_no_store(tmp_path):
    """--scheduler tcp://HOST:PORT --out DIR, on an in-process cluster (threads: under a mutation
    tester, the mutants reach its workers): every data variable and attribute of diagram.nc equal
    the embedded run's (but the command), and the temporary store next to the output is gone."""
    pytest.importorskip("dask.distributed")
    import xarray as xr
    from dask.distributed import LocalCluster

    args = ["--axis", "width,init_scale", "--width", "1:1e4:6", "--init-scale", "1e-2:1e2:5", "--quiet"]
    assert diagram.main([*args, "--out", str(tmp_path / "e")]) == 0
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", dashboard_address=None)
    with cluster:
        assert diagram.main([*args, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "d")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "e"]
    with xr.open_dataset(tmp_path / "e" / "diagram.nc", engine="scipy") as e:
        with xr.open_dataset(tmp_path / "d" / "diagram.nc", engine="scipy") as d:
            d.attrs.pop("command"), e.attrs.pop("command")
            xr.testing.assert_identical(d.load(), e.load())  # values, attributes and encodings alike


def test_resume_takes_the_chunking_from_the_store(tmp_path, capsys):
    """Without --chunk-cells, --resume uses the store's chunks, not today's default: one missing chunk
    means one chunk computed."""
    store = tmp_path / "a.zarr"
    assert diagram.main([*SMALL, "--chunk-cells", "1", "--out", str(store), "--quiet"]) == 0
    done = sorted((store / scaleout.MANIFEST / "done").iterdir())
    assert len(done) == 4
    done[2].unlink()
    capsys.readouterr()
    assert diagram.main([*SMALL, "--out", str(store), "--resume"]) == 0
    assert "resume: 3 of 4 chunks already complete; computing 1" in capsys.readouterr().err
