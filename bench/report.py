"""The speed targets (met / missed, with the numbers) and the Markdown rendering of results.json."""

from __future__ import annotations


def _fmt_s(s) -> str:
    if s is None:
        return "–"
    s = float(s)
    if s >= 100:
        return f"{s:,.0f} s"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e9:.1f} ns"


def _fmt_x(x) -> str:
    if x is None:
        return "–"
    x = float(x)
    return f"{x:.3g}×" if x < 1000 else f"{x:.2e}×"


def targets(res: dict) -> list[dict]:
    """Evaluate the issue's targets on the measured numbers."""
    smoke = res["smoke"]
    out = []
    t = res.get("targets_1e6")
    if t:
        lab = t["labels"]["classify_batch (public, total)"]["median_s"]
        out.append({
            "target": f"labels + order parameters at t = ∞, {t['n_cells']:,} cells, warm ≤ 1 s",
            "measured": f"{lab:.3f} s (classify_batch, median); kernels.orders + rule alone "
                        f"{t['labels']['kernels.orders + label_codes (no validation)']['median_s']:.3f} s; "
                        f"final_batch (t = ∞ observables) "
                        f"{t['labels']['final_batch (public, t = inf observables)']['median_s']:.3f} s",
            "met": lab <= 1.0 if not smoke else None,
        })  # fmt: skip
        tr = t["trajectories"]["phasefl_kernels"]
        best = min(t["trajectories"].values(), key=lambda r: r["median_s"])
        mem_ok = tr["peak_increment_mib"] <= 1.05 * tr["output_mib"] + 64
        out.append({
            "target": f"full trajectories, {t['n_cells']:,} cells × {t['n_times']} times ≤ 4 s, memory ≤ output",
            "measured": f"{tr['median_s']:.2f} s (kernels.trajectories, 9 observables float64); peak RSS "
                        f"+{tr['peak_increment_mib']:,.0f} MiB for a {tr['output_mib']:,.0f} MiB output; "
                        f"solve_batch {t['trajectories']['phasefl_solve_batch']['median_s']:.2f} s "
                        f"(+{t['trajectories']['phasefl_solve_batch']['peak_increment_mib']:,.0f} MiB); "
                        f"fastest variant {best['variant']} {best['median_s']:.2f} s",
            "met": (tr["median_s"] <= 4.0 and mem_ok) if not smoke else None,
            "time_met": tr["median_s"] <= 4.0,
            "memory_met": mem_ok,
        })  # fmt: skip
    c = res.get("methods")
    if c:
        sp = c["speedup_vs_fastest"]
        out.append({
            "target": "per cell ≥ 10⁴ × faster than the fastest simulation baseline at matched accuracy (1e-6 on F)",
            "measured": f"fastest baseline {c['fastest_baseline']}, phasefl amortized over many cells: "
                        f"{_fmt_x(sp['slope_amortized'])} for F(t) at {c['grid']['times'].split()[0]} times + labels "
                        f"(phasefl.slope_batch: what the reduced ODE computes); {_fmt_x(sp['amortized'])} for all 9 "
                        f"observables at each time + labels; {_fmt_x(sp['labels_only_amortized'])} for labels at "
                        f"t = ∞ only; "
                        f"{_fmt_x(sp['on_grid'])} on the {c['grid']['n_cells']}-cell grid in one call "
                        f"(fixed call overhead included)",
            "met": sp["slope_amortized"] >= 1e4 if not smoke else None,
        })  # fmt: skip
    s = res.get("scaling")
    if s:
        sp = s["width"]["spread"]
        pipes = ("labels", "finals", "trajectories_16", "sample_gram")
        worst = max(pipes[:3], key=lambda p: sp[p]["best_of_spread"])
        out.append({
            "target": "time independent of width within 10 % from 10 to 10¹²",
            "measured": f"max/min − 1 over 12 widths of the best of {s['width']['repeats']} interleaved rounds "
                        "(round-normalized medians in brackets; slowest / fastest width): "
                        + ", ".join(f"{p} {sp[p]['best_of_spread']:.1%} ({sp[p]['round_normalized_spread']:.1%}; "
                                    f"{sp[p]['slowest_width']:.0e} / {sp[p]['fastest_width']:.0e})" for p in pipes),
            "met": sp[worst]["best_of_spread"] <= 0.10 if not smoke else None,
        })  # fmt: skip
    cs = res.get("cold_start")
    if cs:
        warm = cs["cli_warm"]["median_s"]
        lean = cs.get("cli_warm_without_dask", {}).get("median_s")
        out.append({
            "target": "python -m phasefl.diagram --axis width,init_scale end to end "
                      "(cold process, warm numba cache) ≤ 3 s",
            "measured": (f"{lean:.2f} s as installed by the README's first command (no dask; median of "
                         f"{cs['cli_warm'].get('repeats')}); {warm:.2f} s with the optional dask installed"
                         if lean is not None else f"{warm:.2f} s (median of {cs['cli_warm'].get('repeats')})")
                        + (f"; {cs['cli_warm_with_pyc']['median_s']:.2f} s with phasefl .pyc"
                           if "median_s" in cs.get("cli_warm_with_pyc", {}) else "")
                        + (f"; cold numba cache {cs['cli_cold']['median_s']:.2f} s"
                           if "median_s" in cs.get("cli_cold", {}) else ""),
            "met": (lean if lean is not None else warm) <= 3.0 if not smoke else None,
        })  # fmt: skip
    m = res.get("machine_limit")
    if m:
        k = m["kernels"]
        out.append({
            "target": "how close the kernel is to the machine's limit (measured / estimated from the op count)",
            "measured": "; ".join(
                f"{name}: {r['measured_units_per_s'] / 1e6:.2f} M/s measured vs "
                f"{r['estimated_units_per_s'] / 1e6:.2f} M/s "
                f"estimated ({r['efficiency']:.0%})" for name, r in k.items() if r["measured_ns"]),
            "met": None,
        })  # fmt: skip
    d = res.get("diagram_256")
    if d:
        out.append({
            "target": f"(issue 3) {d['n']} × {d['n']} diagram sweep warm ≤ 2 s",
            "measured": f"{d['sweep_warm']['median_s']:.2f} s",
            "met": d["sweep_warm"]["median_s"] <= 2.0 if d["n"] == 256 else None,
        })  # fmt: skip
    return out


def _verdict(met, smoke: bool) -> str:
    if met is None:
        return "n/a (smoke)" if smoke else "reported (no threshold)"
    return "**met**" if met else "**missed**"


def markdown(res: dict) -> str:
    L: list[str] = []
    mach = res["machine"]
    L.append("# phasefl benchmark" + (" (smoke run: tiny sizes, numbers meaningless)" if res["smoke"] else ""))
    L.append("")
    L.append(f"{mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB; Python {mach['python']}, NumPy "
             f"{mach['numpy']}, SciPy {mach['scipy']}, numba {mach['numba']} ({mach['numba_threads']} threads), "
             f"torch {mach['torch'] or 'not installed'}; {mach['date']}. Load average at start "
             f"{res['load_start']}, at end {res['load_end']}. Total {res['total_s']:.0f} s.")  # fmt: skip
    metas = [(name, res[name + "_meta"]) for name in res.get("sections", []) if name + "_meta" in res]
    if metas:
        L.append("")
        L.append("Sections (start, seconds, load average at start → end): " + "; ".join(
            f"{name} {m['date'][11:19]}, {m['seconds']:.0f} s, {m['load_start'][0]} → {m['load_end'][0]}"
            for name, m in metas) + ".")  # fmt: skip
    if res.get("contention"):
        L.append("")
        L.append("Contention probe (a 4-cell numba call with 2 threads; ~3 µs on an idle machine): "
                 + ", ".join(f"{k} {v * 1e6:,.0f} µs" for k, v in res["contention"].items()) + ".")  # fmt: skip
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    for t in res["targets"]:
        L.append(f"| {t['target']} | {t['measured']} | {_verdict(t['met'], res['smoke'])} |")
    c = res.get("methods")
    if c:
        L.append("")
        L.append("## Methods side by side")
        L.append("")
        g = c["grid"]
        L.append(f"Grid: widths {list(g['widths'])} × init scales {list(g['init_scales'])} = {g['n_cells']} cells "
                 f"(seed {g['seed']}; {g['parametrization']}); times: {g['times']}. Every method gets the same "
                 f"vectors. Error: max over times of |F − F_ref| / max |F_ref| per cell, the table shows the max over "
                 f"cells. Matched accuracy: each baseline is timed per cell at its cheapest setting with error ≤ "
                 f"{c['target_accuracy']:g}. Labels: spec F rule on each method's K(t_end)/K0 − 1 vs phasefl's t = ∞ "
                 f"labels ({', '.join(f'{k} {v}' for k, v in c['label_counts'].items())}).")  # fmt: skip
        L.append("")
        L.append(
            "| method | setting at matched accuracy | time per cell (mean / median) "
            "| × phasefl (amortized / this grid) | peak RSS (MiB; + over start) | max rel. error of F "
            "| labels agree | repeats |"
        )
        L.append("|---|---|---|---|---|---|---|---|")
        for r in c["rows"]:
            if "skipped" in r:
                L.append(f"| {r['name']} | skipped: {r['skipped']} | | | | | | |")
                continue
            rep = f"{r['repeats']}" + (" (extrapolated)" if r["extrapolated"] else "")
            L.append(f"| {r['name']} | {r['config']} | {_fmt_s(r['time_per_cell_mean_s'])} / "
                     f"{_fmt_s(r['time_per_cell_median_s'])} | {_fmt_x(r['ratio_to_phasefl_amortized'])} / "
                     f"{_fmt_x(r['ratio_to_phasefl'])} | {r['peak_rss_mib']:.0f} "
                     f"(+{r['peak_increment_mib']:.0f}) "
                     f"| {r['max_rel_error_F']:.1e} | {r['label_agreement']:.0%} | {rep} |")  # fmt: skip
        ph = c["details"]["phasefl"]
        one_thread = ph["grid_trajectories_1thread_s"]["median_s"] + ph["grid_labels_1thread_s"]["median_s"]
        one_thread /= g["n_cells"]
        L.append("")
        L.append(f"phasefl: per cell on this grid {_fmt_s(ph.get('time_per_cell_all_threads_s'))} with "
                 f"{mach['numba_threads']} threads, {_fmt_s(one_thread)} on one thread (kernels.trajectories + orders "
                 f"+ label rule, one call each for the {g['n_cells']} cells, so the fixed cost of a call is shared by "
                 f"them; the table's 'this grid' uses the better of the two); amortized "
                 f"over {ph['amortized_cells']:,} cells {_fmt_s(ph['amortized_per_cell_s'])} (labels only "
                 f"{_fmt_s(ph['amortized_labels_per_cell_s'])}; F(t) alone + labels "
                 f"{_fmt_s(ph['amortized_slope_per_cell_s'])}, F bit-identical to the trajectories' F: "
                 f"{ph['slopes_equal_trajectories_F']}). Public calls on the grid: solve_batch "
                 f"{_fmt_s(ph['grid_solve_batch_s']['median_s'])}, classify_batch "
                 f"{_fmt_s(ph['grid_classify_batch_s']['median_s'])}; Gram numbers from the vectors (phasefl.gram, "
                 f"O(d)) {_fmt_s(ph['grid_gram_from_vectors_s']['median_s'])} for the grid. "
                 f"First call ({'compile: empty numba cache' if ph['numba_cache_dir'] else 'numba cache load'}, "
                 "one kernel each): " + ", ".join(f"{k} {v:.2f} s" for k, v in ph["first_call_s"].items())
                 + f"; import phasefl {ph['import_s']:.2f} s.")  # fmt: skip
        gd = c["details"].get("gd_numpy", {})
        if "order" in gd:
            orders = sorted(gd["order"])
            v = gd.get("verification", {})
            L.append("")
            L.append(f"Gradient descent: pilots at c = {gd['pilots']} (h = c/(a K0)); "
                     f"observed order of the error in c: "
                     f"median {orders[len(orders) // 2]:.2f} (range {orders[0]:.2f}–{orders[-1]:.2f}); the time at "
                     f"matched accuracy is the finest pilot's time × c_pilot / c_match. "
                     + (f"Verification on cell {v['cell']}: predicted {_fmt_s(v['predicted_s'])}, measured "
                        f"{_fmt_s(v['measured_s'])}, error {v['error']:.2e}." if "measured_s" in v
                        else f"Verification skipped ({v.get('skipped', '')}).")
                     )  # fmt: skip
        tg = c["details"].get("gd_torch", {})
        if "batches" in tg:
            L.append("")
            L.append("PyTorch batches (one per width): " + "; ".join(
                f"d = {b['width']}: {b['us_per_batch_step']:.0f} µs/step, {b['batch_steps_match']:,} steps at matched "
                f"accuracy (step model at the pilot: {b['step_model_at_pilot']:,} vs {b['pilot_batch_steps'][-1]:,} "
                f"taken)" for b in tg["batches"]) + ".")  # fmt: skip
        dis = [(m, d) for m, r in c["details"].items() if isinstance(r, dict) for d in r.get("label_disagreements", [])]
        if dis:
            L.append("")
            L.append("Label disagreements: " + "; ".join(
                f"{m} on d = {d['width']}, σ = {d['init_scale']}: {d['method']} vs {d['phasefl']} "
                f"(K/K0 − 1 = {d['rel_change']:.4f})" for m, d in dis) + ".")  # fmt: skip
    t = res.get("targets_1e6")
    if t:
        L.append("")
        L.append(f"## {t['n_cells']:,} cells")
        L.append("")
        L.append("| labels and order parameters at t = ∞ | median | best |")
        L.append("|---|---|---|")
        for name, v in t["labels"].items():
            L.append(f"| {name} | {_fmt_s(v['median_s'])} | {_fmt_s(v['min_s'])} |")
        L.append("")
        L.append(
            f"Trajectories of {t['n_cells']:,} cells × {t['n_times']} times, each variant in its own process "
            "(peak RSS over the process's size before the call):"
        )
        L.append("")
        diffs = [f"{name} {v['max_rel_diff_from_phasefl']:.1e}" for name, v in t["trajectories"].items()
                 if v.get("max_rel_diff_from_phasefl") is not None]  # fmt: skip
        if diffs:
            L.append(f"(Largest relative difference of a prototype from phasefl's output: {', '.join(diffs)}.)")
            L.append("")
        L.append("| variant | median | best | ns per cell × time (median) | output | peak RSS increase |")
        L.append("|---|---|---|---|---|---|")
        for name, v in t["trajectories"].items():
            L.append(f"| {t['descriptions'][name]} | {_fmt_s(v['median_s'])} | {_fmt_s(v['min_s'])} | "
                     f"{v['ns_per_cell_time']:.1f} | "
                     f"{v['output_mib']:,.0f} MiB | {v['peak_increment_mib']:,.0f} MiB |")  # fmt: skip
    s = res.get("scaling")
    if s:
        L.append("")
        L.append("## Scaling")
        L.append("")
        L.append(
            "| cells | labels (classify_batch) | per cell | t = ∞ observables (final_batch) | trajectories × 16 times |"
        )
        L.append("|---|---|---|---|---|")
        for r in s["cells"]:
            tr = r.get("trajectories_16_s")
            L.append(f"| {r['n_cells']:.0e} | {_fmt_s(r['labels_s']['median_s'])} | "
                     f"{_fmt_s(r['labels_s']['median_s'] / r['n_cells'])} | {_fmt_s(r['finals_s']['median_s'])} | "
                     f"{_fmt_s(tr['median_s']) if tr else '–'} |")  # fmt: skip
        L.append("")
        L.append("| times (cells = {:,}) | trajectories | ns per cell × time |".format(s["times"][0]["n_cells"]))
        L.append("|---|---|---|")
        for r in s["times"]:
            L.append(f"| {r['n_times']} | {_fmt_s(r['trajectories_s']['median_s'])} | {r['ns_per_cell_time']:.1f} |")
        w = s["width"]
        L.append("")
        L.append(f"Width (exact Gram sampling; {w['n_cells']:,} cells per width, trajectories on "
                 f"{w['n_cells_trajectories']:,}"
                 f" × 16 times; {w['repeats']} rounds over all widths, each in a new random order; medians, and "
                 "best-of in the first spread row: external load only ever adds time):")  # fmt: skip
        L.append("")
        L.append("| width | sample_gram | labels | finals | trajectories |")
        L.append("|---|---|---|---|---|")
        for r in w["rows"]:
            L.append(f"| {r['width']:.0e} | {_fmt_s(r['sample_gram_s'])} | {_fmt_s(r['labels_s'])} | "
                     f"{_fmt_s(r['finals_s'])} | {_fmt_s(r['trajectories_16_s'])} |")  # fmt: skip
        pipes = ("sample_gram", "labels", "finals", "trajectories_16")
        L.append("| spread of the best-of times (max/min − 1) | " + " | ".join(
            f"{w['spread'][p]['best_of_spread']:.1%}" for p in pipes) + " |")  # fmt: skip
        L.append(
            "| spread of medians (max/min − 1) | "
            + " | ".join(f"{w['spread'][p]['median_spread']:.1%}" for p in pipes)
            + " |"
        )
        L.append(
            "| spread, round-normalized | "
            + " | ".join(f"{w['spread'][p]['round_normalized_spread']:.1%}" for p in pipes)
            + " |"
        )
        L.append(
            "| trend of the best-of times per decade of width | "
            + " | ".join(f"{w['spread'][p]['trend_per_decade']:+.1%}" for p in pipes)
            + " |"
        )
    cs = res.get("cold_start")
    if cs:
        L.append("")
        L.append("## Cold start")
        L.append("")
        L.append(f"Command: `{cs['command']}`.")
        L.append("")
        L.append("| measurement | median |")
        L.append("|---|---|")
        for key, name in (
            ("python_pass", "python -c pass"),
            ("import_phasefl_diagram", "python -c 'import phasefl.diagram'"),
            ("import_phasefl_diagram_with_pyc", "… with phasefl's .pyc (PYTHONPYCACHEPREFIX)"),
            ("cli_warm", "CLI, warm numba cache"),
            ("cli_warm_without_dask", "CLI, warm numba cache, without dask (as `pip install -e .` installs it)"),
            ("cli_warm_with_pyc", "CLI, warm numba cache, with .pyc"),
            ("cli_cold", "CLI, cold numba cache (NUMBA_CACHE_DIR empty)"),
        ):
            v = cs.get(key, {})
            L.append(f"| {name} | {_fmt_s(v['median_s']) if 'median_s' in v else v.get('skipped', '–')} |")
        it = cs["importtime_cli"]
        L.append("")
        top = list(it["by_package_self_s"].items())[:12]
        L.append(f"`-X importtime` of the CLI: {it['total_import_s']:.2f} s of imports. Self time by top-level "
                 "package: " + ", ".join(f"{k} {v:.2f}" for k, v in top) + " s.")  # fmt: skip
        L.append("")
        L.append("Largest top-level imports (cumulative): " + ", ".join(
            f"{e['module']} {e['cumulative_s']:.2f} s" for e in it["top_level_cumulative"][:10]) + ".")  # fmt: skip
        for key, title in (("phases_warm", "warm numba cache"), ("phases_cold", "cold numba cache")):
            ph = cs.get(key)
            if not ph or "imports" not in ph:
                continue
            L.append("")
            rest = ph["process_wall_s"] - ph["startup_s"] - ph["imports_total_s"] - ph["main_s"] - ph["exit_s"]
            L.append(f"Phases, {title} (process wall {ph['process_wall_s']:.2f} s = interpreter start-up "
                     f"{ph['startup_s']:.2f} s + imports {ph['imports_total_s']:.2f} s + main {ph['main_s']:.2f} s "
                     f"+ exit {ph['exit_s']:.2f} s + bench overhead {rest:.2f} s):")  # fmt: skip
            L.append("")
            L.append("| phase | seconds |")
            L.append("|---|---|")
            for e in ph["imports"]:
                L.append(f"| {e['what']} | {e['s']:.3f} |")
            for e in ph["calls"]:
                rerun = ph["kernel_rerun_s"].get(e["what"])
                extra = f" (re-run warm: {rerun:.3f})" if rerun is not None else ""
                L.append(f"| {e['what']}{extra} | {e['s']:.3f} |")
            accounted = sum(e["s"] for e in ph["calls"])
            L.append(f"| rest of main (argument parsing, sweep bookkeeping, …) | {ph['main_s'] - accounted:.3f} |")
    m = res.get("machine_limit")
    if m:
        L.append("")
        L.append("## Machine limit")
        L.append("")
        costs = m["op_costs_ns"]
        L.append(f"Clock ≈ {m['clock_ghz_estimate']:.2f} GHz (dependent-add chain); memory bandwidth (write, touched) "
                 f"{m['bandwidth']['write_touched_gbs']:.1f} GB/s, (write, fresh pages) "
                 f"{m['bandwidth']['write_fresh_gbs']:.1f} GB/s. Cost per operation (ns, one thread): "
                 + ", ".join(f"{k} {v:.2f}" for k, v in costs.items() if isinstance(v, float) and k != "loop_ns")
                 + " (add, mul, compare, abs: one cycle).")  # fmt: skip
        if costs.get("uniform_args"):
            L[-1] += (" Math-library calls are timed on the arguments the sampled cells pass them (their cost "
                      "depends on the arguments); on uniform arguments in [0.1, 3] instead: "
                      + ", ".join(f"{k} {v:.2f}" for k, v in costs["uniform_args"].items()) + ".")  # fmt: skip
        L.append("")
        L.append(
            "| kernel (unit) | arithmetic ops | math-library calls | estimate (ns/unit, "
            f"{m['threads']} threads) | measured | efficiency | measured cycles/unit (1 thread) |"
        )
        L.append("|---|---|---|---|---|---|---|")
        for name, r in m["kernels"].items():
            calls = ", ".join(f"{k} {v:g}" for k, v in sorted(r["math_calls"].items(), key=lambda kv: -kv[1]))
            L.append(f"| {name} | {r['arith_ops']:.0f} | {calls} | {r['estimate_ns']:.1f} | "
                     f"{r['measured_ns']:.1f} | {r['efficiency']:.0%} | "
                     f"{r['cycles_per_unit_measured_1thread']:.0f} |")  # fmt: skip
        L.append("")
        L.append(f"({m['note']}; branch mix of the sampled cells: kind {m['op_counts']['kind_fraction']}.)")
    b = res.get("baseline_distance")
    if b:
        c = b["sampled_vs_exact"]
        L.append("")
        L.append("## Kernel-baseline distance: exact vs 128 samples")
        L.append("")
        L.append("| | exact | 128 samples (previous) | ratio |")
        L.append("|---|---|---|---|")
        L.append(f"| {b['n_cells']:,} cells, kernel alone (median of {b['repeats']}, {b['threads']} threads) | "
                 f"{_fmt_s(b['exact_s']['median_s'])} ({b['exact_ns_per_cell']:.0f} ns/cell) | "
                 f"{_fmt_s(b['sampled_s']['median_s'])} ({b['sampled_ns_per_cell']:.0f} ns/cell) | "
                 f"{_fmt_x(b['speedup'])} |")  # fmt: skip
        sw = b["sweep"]
        L.append(f"| phasefl.sweep.sweep, {sw['draws']:,} draws (median of {sw['exact']['repeats']}) | "
                 f"{_fmt_s(sw['exact']['median_s'])} | {_fmt_s(sw['sampled']['median_s'])} | "
                 f"{_fmt_x(sw['sampled']['median_s'] / sw['exact']['median_s'])} |")  # fmt: skip
        L.append("")
        L.append(f"`{b['command']}`, end to end, numba cache warm (figure included): "
                 f"{_fmt_s(b['command_warm']['median_s'])} (median of {b['command_warm']['repeats']}).")  # fmt: skip
        if c["max_rel_diff"] is not None:
            L.append(f"The samples' maximum differs from the exact one by up to {c['max_rel_diff']:.2g} (median "
                     f"{c['median_rel_diff']:.2g}) relative, over the {c['cells_with_distance_above_1e-6']:,} "
                     f"cells with a distance above 1e-6; it is below it in "
                     f"{c['fraction_sampled_below_exact']:.0%}.")  # fmt: skip
    d = res.get("diagram_256")
    if d:
        L.append("")
        L.append(f"## {d['n']} × {d['n']} diagram (sweep)")
        L.append("")
        L.append(f"First call {d['first_call_s']:.2f} s; warm {d['sweep_warm']['median_s']:.3f} s "
                 f"({d['cells'] / d['sweep_warm']['median_s']:,.0f} cells/s); parts: "
                 + ", ".join(f"{k} {v:.4f} s" for k, v in d["parts_s"].items()) + ".")  # fmt: skip
    L.append("")
    return "\n".join(L)
