"""The command line: outputs, progress, errors (exit 2, one line, nothing written)."""

import re
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from phasefl import LABELS, diagram

SMALL = ["--width", "1:1e4:6", "--init-scale", "1e-2:1e2:5", "--quiet"]


def test_writes_dataset_and_figures(tmp_path):
    out = tmp_path / "d"
    assert diagram.main(["--axis", "width,init_scale", *SMALL, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["diagram.nc", "diagram.png"]  # default: --format png
    ds = xr.open_dataset(out / "diagram.nc", engine="scipy")
    assert ds["label"].dims == ("width", "init_scale") and ds["label"].shape == (6, 5)
    assert "python -m phasefl.diagram" in ds.attrs["command"] and ds.attrs["parametrization"] == "ntk"
    assert ds["label"].attrs["flag_meanings"] == "kernel alignment disalignment rescaling"
    ds.close()


@pytest.mark.parametrize(
    "formats, names",
    [
        ("png,pdf", ["diagram.nc", "diagram.pdf", "diagram.png"]),
        ("pdf", ["diagram.nc", "diagram.pdf"]),
        ("svg, PNG,svg", ["diagram.nc", "diagram.png", "diagram.svg"]),
    ],
)
def test_format_chooses_the_figure_files(tmp_path, formats, names):
    out = tmp_path / "d"
    assert diagram.main(["--axis", "width,init_scale", *SMALL, "--format", formats, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == names
    assert (out / "diagram.nc").stat().st_size > 0
    if "diagram.pdf" in names:
        assert (out / "diagram.pdf").read_bytes().startswith(b"%PDF")
    if "diagram.svg" in names:
        assert b"<svg" in (out / "diagram.svg").read_bytes()[:1000]


def test_write_outputs_skips_only_the_distributed_import(tmp_path, monkeypatch):
    """write_outputs blocks ``import distributed`` during to_netcdf only, and only when it is not loaded."""
    import matplotlib.pyplot as plt

    from phasefl.cli import write_outputs

    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    ds = xr.Dataset({"a": (("x",), np.arange(3.0))}, coords={"x": [1.0, 2.0, 3.0]})
    paths = write_outputs(ds, plt.figure(), tmp_path / "w")
    assert [p.name for p in paths] == ["diagram.nc", "diagram.png"]
    assert sys.modules.get("distributed", "not loaded") is not None  # the block is lifted
    with xr.open_dataset(paths[0], engine="scipy") as back:
        xr.testing.assert_identical(back.load(), ds)


@pytest.mark.parametrize(
    "names",
    [
        np.array(["kernel", "rescaling", "alignment", "kernel", "disalignment", "kernel"]).reshape(2, 3),
        np.array(["kernel", "rescaling", "kernel"] * 2, dtype="U12").reshape(2, 3),  # narrower than the dtype
        np.array(["noyau", "alignement", "désalignement"] * 2).reshape(2, 3),  # not ASCII
        np.array(["kernel", "", "kernel"] * 2).T.reshape(3, 2).T,  # not contiguous, an empty string
        np.array(["\x7f", "\x80", "a"] * 2).reshape(2, 3),  # the last ASCII code point and the first beyond
        np.array([], dtype="U5").reshape(0, 3),  # no strings at all
    ],
)
def test_write_outputs_writes_strings_as_xarray_would(tmp_path, names):
    """The string variables, encoded to bytes before the write (a third of its time at 10^6 cells),
    give the very file xarray writes itself, and read back as the same strings."""
    import matplotlib.pyplot as plt

    from phasefl.cli import write_outputs

    z = np.arange(names.shape[0], dtype=float)
    ds = xr.Dataset({"name": (("x", "y"), names, {"long_name": "a regime"}), "z": (("x",), z)})
    ds.to_netcdf(tmp_path / "direct.nc", engine="scipy")
    paths = write_outputs(ds, plt.figure(), tmp_path / "w")
    assert paths[0].read_bytes() == (tmp_path / "direct.nc").read_bytes()
    with xr.open_dataset(paths[0], engine="scipy") as back:
        xr.testing.assert_identical(back.load(), ds)
        assert back["name"].values.tolist() == names.tolist()


def test_one_axis_with_seeds_and_time(tmp_path, capsys):
    out = tmp_path / "d"
    code = diagram.main(
        [
            "--axis",
            "init_scale",
            "--init-scale",
            "1e-3:1e3:9",
            "--seeds",
            "4",
            "--time",
            "3",
            "--param",
            "mean-field",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    ds = xr.open_dataset(out / "diagram.nc", engine="scipy")
    assert ds["label"].dims == ("init_scale",) and "ntk_ratio_at_time" in ds and ds.attrs["seeds"] == 4
    counts = {name: int((ds["label"].values == k).sum()) for k, name in enumerate(LABELS)}
    for name, count in counts.items():  # the summary's counts are the Dataset's
        assert f"{name:<13}{count:>8} cells" in printed, printed
    assert counts["kernel"] > 0 and counts["alignment"] > 0 and "wrote" in printed  # mean field: both at 1e-3..1e3
    ds.close()


def test_asymptotic_plane(tmp_path):
    out = tmp_path / "a"
    assert (
        diagram.main(
            [
                "--asymptotic",
                "--axis",
                "alpha,b_u",
                "--alpha",
                "0:2:41",
                "--b-u=-0.5:1:31",
                "--param",
                "ntk",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    ds = xr.open_dataset(out / "diagram.nc", engine="scipy")
    # NTK point (alpha = 1/2, b_u = 0) is kernel; mean field (alpha = 1, b_u = 0) sits on gamma = 0
    assert int(ds["label"].sel(alpha=0.5, b_u=0.0)) == 0
    assert float(ds["gamma"].sel(alpha=1.0, b_u=0.0)) == pytest.approx(0.0, abs=1e-12)
    assert ds.attrs["command"].startswith("python -m phasefl.diagram --asymptotic --axis alpha,b_u")
    ds.close()


def test_the_asymptotic_summary_counts_the_plane_and_the_figure_has_its_title(tmp_path, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # write_outputs closes the figure it saved: keep it
    argv = ["--asymptotic", "--axis", "alpha,c_w", "--alpha", "0:2:21", "--param", "ntk", "--out", str(tmp_path / "a")]
    assert diagram.main(argv) == 0
    printed = capsys.readouterr().out
    with xr.open_dataset(tmp_path / "a" / "diagram.nc", engine="scipy") as ds:
        labels = ds["label"].values
    for k, name in enumerate(LABELS):
        assert f"{name:<13}{int((labels == k).sum()):>8} grid points" in printed, printed
    assert np.unique(labels).size > 1  # the counts differ between labels
    (fig,) = figures
    assert fig.get_suptitle().startswith("Width → ∞ phase plane ($b_u = 0$, $b_w = 0$, $c_u = 0$)")  # NTK's


def test_an_in_memory_run_reports_each_block_to_its_progress(tmp_path, monkeypatch):
    seen = []

    class Recorder:
        def __init__(self, chunks, quiet):
            seen.append((chunks, quiet))

        def __enter__(self):
            return self

        def update(self, cells):
            seen.append(cells)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(diagram, "Progress", Recorder)
    argv = ["--axis", "width,init_scale", "--width", "1:1e4:5", "--init-scale", "1e-2:1e2:4", "--seeds", "2"]
    assert diagram.main([*argv, "--chunk-cells", "8", "--out", str(tmp_path / "d")]) == 0
    assert seen == [(3, False), 8, 8, 4]  # 5 x 4 cells in blocks of 2 x 4, 2 x 4, 1 x 4


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--axis", "init_scale", "--width", "50", "--target", "-0.5"], " · width d = 50 · target m = -0.5 · "),
        (["--axis", "init_scale"], " · width d = 1000 · target m = 1 · "),
        (["--axis", "width,target", "--target", "-1:1:3"], "parametrization · 2 seeds per cell"),
    ],
)
def test_the_title_states_the_fixed_width_and_target(tmp_path, monkeypatch, argv, says):
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # write_outputs closes the figure it saved: keep it
    ranges = {"init_scale": ["--init-scale", "1e-2:1e2:3"], "width": ["--width", "1:100:3"]}
    axes = argv[1].split(",")
    extra = [token for name in axes if name in ranges for token in ranges[name]]
    assert diagram.main([*argv, *extra, "--seeds", "2", "--chunk-cells", "1", "--quiet", "--out", str(tmp_path)]) == 0
    (fig,) = figures
    title = fig.get_suptitle().splitlines()[0]
    assert says in title, title
    assert ("width d =" in title) == ("width" not in axes) and ("target m =" in title) == ("target" not in axes)


def test_a_quiet_store_run_prints_nothing_and_a_talkative_one_says_what_it_computed(tmp_path, capsys):
    argv = ["--axis", "width", "--width", "1:100:5", "--seeds", "2", "--chunk-cells", "2"]
    assert diagram.main([*argv, "--quiet", "--out", str(tmp_path / "q.zarr")]) == 0
    assert capsys.readouterr() == ("", "")
    assert diagram.main([*argv, "--out", str(tmp_path / "t.zarr")]) == 0
    last = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.strip()][-1]  # after any bar
    assert re.fullmatch(r"computed 3 chunks in \d+\.\d\d s", last), last


def test_a_run_without_axis_options_is_the_default_plane_with_boundaries_and_says_what_it_wrote(
    tmp_path, capsys, monkeypatch
):
    """No --axis: width x init_scale. The 2-D figure carries the typical-init boundary, the title says
    "1 seed" (singular) and the formulas in mathtext; stdout lists the counts, then the files written.
    Called without argv, the command recorded is sys.argv's."""
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    out = tmp_path / "d"
    argv = ["--width", "1:100:3", "--init-scale", "1e-2:1e2:3", "--seeds", "1", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["phasefl-diagram", *argv])
    assert diagram.main() == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed[:4]] == list(LABELS)
    wrote = re.fullmatch(rf"wrote {out / 'diagram.nc'}, {out / 'diagram.png'}  \((\d+\.\d\d) s\)", printed[4])
    assert wrote and 0 < float(wrote[1]) < 600, printed[4]  # the run's own duration
    assert len(printed) == 5
    with xr.open_dataset(out / "diagram.nc", engine="scipy") as ds:
        assert ds["label"].dims == ("width", "init_scale")
        assert ds.attrs["command"] == "python -m phasefl.diagram " + " ".join(argv)
    (fig,) = figures
    title = fig.get_suptitle().splitlines()
    assert title[0].endswith(" · 1 seed per cell") and "$" in title[1]
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    legend_texts = [t.get_text() for legend in legends for t in legend.get_texts()]
    assert any(text.startswith("analytic |K∞/K₀ − 1| = 0.05") for text in legend_texts), legend_texts


def test_a_one_axis_diagram_has_no_boundary_line(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    argv = ["--axis", "init_scale", "--init-scale", "1e-2:1e2:5", "--seeds", "3", "--quiet", "--out", str(tmp_path)]
    assert diagram.main(argv) == 0
    (fig,) = figures
    assert fig.get_suptitle().splitlines()[0].endswith(" · 3 seeds per cell")
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    texts += [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert not any("analytic" in text for text in texts), texts


def test_the_in_memory_limit_is_stated_and_inclusive(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(diagram, "MAX_IN_MEMORY_CELLS", 12)
    argv = ["--axis", "width,init_scale", "--width", "1:1e4:3", "--init-scale", "1e-2:1e2:4", "--seeds", "1"]
    assert diagram.main([*argv, "--quiet", "--out", str(tmp_path / "a")]) == 0  # 12 cells: at the limit
    argv[argv.index("1:1e4:3")] = "1:1e4:4"
    assert diagram.main([*argv, "--quiet", "--out", str(tmp_path / "b")]) == 2
    assert capsys.readouterr().err.strip() == (
        "python -m phasefl.diagram: error: a 4 x 4 grid (16 cells) is more than a diagram held in memory may have "
        "(12 cells, about 1.2 GB of results): write it to a zarr store with --out NAME.zarr"
    )
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("chunk_cells, updates", [(12, [12, 12, 12, 4]), (4, [4] * 10)])  # 3 rows, 1 row a chunk
def test_a_store_run_counts_its_labels_chunk_by_chunk_and_reports_each_chunk(
    tmp_path, capsys, monkeypatch, chunk_cells, updates
):
    """The summary of a .zarr run is counted chunk by chunk from the store (here 3 widths per chunk
    of 10 widths), the store records the command, and the progress sees every chunk once."""
    import zarr

    seen = {}

    class Recorder:
        def __init__(self, chunks, quiet):
            seen.update(total=chunks, quiet=quiet, updates=[])

        def __enter__(self):
            return self

        def update(self, cells):
            seen["updates"].append(cells)

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(diagram, "Progress", Recorder)
    store = tmp_path / "s.zarr"
    argv = ["--axis", "width,init_scale", "--width", "1:1e4:10", "--init-scale", "1e-2:1e2:4", "--seeds", "2"]
    assert diagram.main([*argv, "--chunk-cells", str(chunk_cells), "--out", str(store)]) == 0
    printed = capsys.readouterr().out
    labels = zarr.open_group(str(store), mode="r")["label"][:]
    assert labels.shape == (10, 4)
    for k, name in enumerate(LABELS):
        assert f"{name:<13}{int((labels == k).sum()):>12} cells" in printed, printed
    assert f"open with: xarray.open_zarr({str(store)!r})" in printed
    assert zarr.open_group(str(store), mode="r").attrs["command"].endswith(f"--out {store}")
    assert seen == {"total": len(updates), "quiet": False, "updates": updates}


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--axis", "depth"], "unknown axis"),
        (["--axis", "width,init_scale,target"], "one or two"),
        (["--axis", "width", "--width", "1:1e4"], "START:STOP:N"),
        (["--axis", "width", "--width", "10:10:0"], "empty"),
        (["--axis", "width", "--width", "-3:100:4"], "width"),
        (["--axis", "init_scale", "--init-scale", "0:1:5:lin"], "init-scale"),
        (["--axis", "width", "--target", "1:2:3"], "not an axis"),
        (["--axis", "width", "--seeds", "0"], "seeds"),
        (["--axis", "width", "--seeds", "two"], "seeds"),
        (["--axis", "width", "--alpha", "1"], "needs --asymptotic"),
        (["--asymptotic", "--axis", "alpha,width"], "unknown axis"),
        (["--asymptotic", "--axis", "alpha,c_w", "--alpha", "2:1:5"], "START < STOP"),
        (["--axis", "width", "--time", "-1"], "time"),
        (["--param", "sp"], "param"),
        (["--axis", "width", "--format", "jpg"], "'jpg'"),
        (["--axis", "width", "--format", "png,eps"], "'eps'"),
        (["--axis", "width", "--format", ","], "--format"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "never"
    assert diagram.main([*argv, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and words in err, err
    assert not out.exists()


def test_format_with_a_zarr_store_exits_2(tmp_path, capsys):
    out = tmp_path / "never.zarr"
    assert diagram.main(["--axis", "width", "--format", "pdf", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--format" in err
    assert not out.exists()


def test_interrupt_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "d"
    out.mkdir()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", interrupted)
    assert diagram.main(["--axis", "width", "--width", "1:100:4", "--out", str(out), "--quiet"]) == 130
    assert list(out.iterdir()) == []
    assert capsys.readouterr().err == "python -m phasefl.diagram: interrupted; nothing written\n"


def test_the_default_output_folder_is_named_after_the_axes():
    from argparse import Namespace

    from phasefl.diagram_options import default_out

    assert str(default_out(Namespace(axis="width, init_scale"))) == "diagram-width-init_scale"
    assert str(default_out(Namespace(axis="target"))) == "diagram-target"


def test_help_explains_every_axis(capsys):
    with pytest.raises(SystemExit) as exc:
        diagram.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    words = ("width", "init-scale-u", "lr-ratio", "target", "--asymptotic", "--seeds", "--time", "--format")
    for word in (*words, "examples"):
        assert word in text


def test_default_command_runs_end_to_end(tmp_path):
    """The README's command, in a fresh process: exit 0, a summary, diagram.nc and diagram.png."""
    proc = subprocess.run(
        [sys.executable, "-m", "phasefl.diagram", "--axis", "width,init_scale"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "diagram-width-init_scale"
    assert sorted(p.name for p in out.iterdir()) == ["diagram.nc", "diagram.png"]
    ds = xr.open_dataset(out / "diagram.nc", engine="scipy")
    assert ds["label"].shape == (61, 64)  # 64 widths asked, 61 distinct whole widths (announced on stderr)
    assert "gives 61 distinct whole widths" in proc.stderr
    for k, name in enumerate(LABELS):  # the NTK default shows all four regimes, and the summary counts them
        count = int((ds["label"].values == k).sum())
        assert count > 0 and f"{name:<13}{count:>8} cells" in proc.stdout, (name, proc.stdout)
    ds.close()


def test_a_compile_during_a_diagram_is_announced_unless_quiet(tmp_path, capsys, monkeypatch):
    """A kernel that numba compiles (made to, here) is announced, naming the diagram; --quiet keeps still."""
    import numba

    from phasefl import kernels

    monkeypatch.setattr(kernels.NOTICE, "said", set())
    original = kernels.sweep_block
    monkeypatch.setattr(kernels, "sweep_block", lambda *a: (numba.njit(lambda x: x + 1)(1), original(*a))[1])
    assert diagram.main(["--axis", "width", "--width", "1:1e3:4", "--quiet", "--out", str(tmp_path / "w")]) == 0
    assert "compiling" not in capsys.readouterr().err
    assert diagram.main(["--axis", "width", "--width", "1:1e3:4", "--out", str(tmp_path / "d")]) == 0
    assert "phasefl: compiling the numba kernels of the diagram" in capsys.readouterr().err
