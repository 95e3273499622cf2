#!/usr/bin/env python3
"""exp_tools.py: the small pieces of logic the experiment scripts need between litelab
commands (standard library only, so it runs on the GPU machine and here alike):

  derive IN OUT [--smoke] [--set KEY=JSON ...]    an experiment config from another: dotted keys
                                                  overridden (trajectory.steps=3), --smoke turns a
                                                  Wan-shaped GPU config into a tiny CPU one
  refine SWEEP_CFG CALLS_CSV OUT_CFG OUT_JSON     ablation: per target sparsity, the LiteAttention
                                                  threshold that lands on it at the last step
                                                  (interpolated over the sweep's last-step sparsity)
  bench-kept CALLS_CSV                            kept fractions for `litelab bench` random masks:
                                                  the targets' and the refined masks'
  tuning-config TEMPLATE OUT_CFG [--smoke]        policy comparison: the bracketing variants of
                                                  every policy of the template (tuning pass)
  matched TEMPLATE TUNING_CFG CALLS_CSV OUT_CFG OUT_JSON [--target S]
                                                  the template with each policy's parameter set so
                                                  its mean sparsity matches S (from the tuning pass)
  ablation-table RAW OUT   sweep-table RAW OUT   comparison-table RAW OUT   scaling-table RAW OUT
  calibration-table DIR OUT   predict-table CALLS OUT DIR...
                                                  Markdown and CSV tables for experiments/results/
  caption REPORT_JSON...                          the line a figure prints under its title: the
                                                  traces' shape, maps and hardware, from the JSON of
                                                  `litelab report` (report.json, or `-o - --format
                                                  json` on stdin as -); traces that differ only in N
                                                  give one line with N's range
  config-caption PROVENANCE CONFIG...             the same line for results whose traces are not
                                                  kept: N, maps and backend from the configs that
                                                  ran, the GPU from provenance.txt

Sparsity everywhere is the skipped fraction of (query tile, key tile) pairs of a call,
1 - tiles_kept / tiles_total, as `litelab bench` reports kept_fraction for its random masks.
Numbers in the tables come from the CSV files litelab writes (calls.csv of `litelab report`,
the CSV of `litelab bench`, calibrate's prediction/verification CSVs); the paper's figures come
from experiments/data/paper_figures.json.
"""
import argparse
import csv
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = [0.21, 0.42, 0.57, 0.77]      # the paper's ablation sparsities
CALLS_PER_GENERATION = 40 * 50 * 2      # Wan2.1-14B: 40 layers x 50 steps x 2 CFG passes
MATCH_TARGET = 0.5                      # policy comparison: mean sparsity every policy is tuned to

# Bracketing parameters of the tuning pass, per policy kind. The static masks' candidates
# bracket 50% sparsity on the Wan 480p grid (21 x 30 x 52) at 128x64 and 128x128 tiles.
THRESHOLD_BRACKETS = {
    "lite": [-20, -12, -6, 0],
    "warmup": [-16, -8, -3, 0],
    "refresh": [-16, -8, -3, 0],
    "static": [-16, -8, -3, 0],
    "dynamic": [-12, -6, -2, 0],
    "oracle": [-12, -6, -2, 0],
    "lite_schedule": [-14, -7, -2],     # the ramp's centre (ramp below)
}
WINDOW_CANDIDATES = [(5, 12, 22), (6, 15, 28), (7, 16, 30), (8, 18, 34)]
RADIAL_CANDIDATES = [(1, 0.25), (1, 0.5), (1, 0.75), (2, 0.5)]
RAMP_HALF_WIDTH = 6.0                   # lite_schedule: centre - 6 at the first step ... centre + 6 at the last


def ramp(centre, steps):
    """Strict early, aggressive late: a linear ramp of thresholds around centre, capped at 0."""
    if steps == 1:
        return [min(0.0, centre)]
    return [round(min(0.0, centre - RAMP_HALF_WIDTH + 2 * RAMP_HALF_WIDTH * i / (steps - 1)), 3)
            for i in range(steps)]


def fmt_t(t):
    """Threshold in a policy name: -10, -9.25."""
    return ("%g" % t).replace("+", "")


# ---------------------------------------------------------------------------
# Files

def load_json(path):
    with open(path) as f:
        return json.load(f)


def save_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def num(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return float("nan")
    return v


def read_calls(path):
    """Whole-layer rows of a calls.csv (litelab report), numbers converted."""
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if int(r["head"]) != -1:
                continue
            for k in ("step", "layer", "head", "n_kernels"):
                r[k] = int(r[k])
            for k in ("threshold", "gpu_ms", "host_ms", "tensor_work_ratio", "rel_l2", "max_abs", "cosine",
                      "worst_row_rel_l2", "skipped_mass"):
                r[k] = num(r[k])
            for k in ("tiles_total", "tiles_kept", "flops_dense", "flops_executed"):
                r[k] = int(r[k])
            r["ms"] = r["gpu_ms"] if not math.isnan(r["gpu_ms"]) else r["host_ms"]
            r["sparsity"] = 1.0 - r["tiles_kept"] / r["tiles_total"] if r["tiles_total"] else float("nan")
            rows.append(r)
    return rows


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def mean(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return sum(xs) / len(xs) if xs else float("nan")


def md_table(header, rows, align=None):
    align = align or ["---:"] * len(header)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        out.append("| " + " | ".join("" if c is None else str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


def f(v, fmt="%.3f"):
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt % v


def pct(v, digits=1):
    return "n/a" if v is None or math.isnan(v) else "%.*f%%" % (digits, 100 * v)


def partial_note(tables_dir):
    """A line for the tables of a trace a stopped run left incomplete (exp_common.sh tables)."""
    if os.path.exists(os.path.join(tables_dir, "PARTIAL")):
        return ("\n**Incomplete trace**: the run was stopped at the session's deadline; the rows above are its "
                "finished steps.\n")
    return ""


def provenance_text(raw):
    p = os.path.join(raw, "provenance.txt")
    return open(p).read().strip() if os.path.exists(p) else "(no provenance.txt)"


def runtime_label(rows):
    return "GPU ms (CUPTI)" if any(not math.isnan(r["gpu_ms"]) for r in rows) else "CPU ms (wall, CPU reference)"


# ---------------------------------------------------------------------------
# derive

SMOKE_GRIDS = {"wan720p": (4, 8, 16), "wan480p": (4, 6, 12)}


def smoke(cfg):
    """A Wan-shaped GPU experiment as a tiny CPU one with the same structure."""
    t = cfg["trajectory"]
    preset = t.get("synthetic", "tiny")
    grid = SMOKE_GRIDS.get(preset, (4, 6, 8))
    t["synthetic"] = "tiny"
    t["frames"], t["height"], t["width"] = grid
    t["heads"] = 2
    t["head_dim"] = 64
    cfg["backend"] = "cpu"
    cfg["tiling"] = {"block_m": 16, "block_n": 16}
    for k in ("kernel", "counters", "flop_rate_tflops"):
        cfg.pop(k, None)
    return cfg


def set_key(cfg, dotted, value):
    keys = dotted.split(".")
    d = cfg
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    if value is None:
        d.pop(keys[-1], None)
    else:
        d[keys[-1]] = value


def cmd_derive(a):
    cfg = load_json(a.inp)
    if a.smoke:
        cfg = smoke(cfg)
    for s in a.set or []:
        k, _, v = s.partition("=")
        set_key(cfg, k, json.loads(v))
    save_json(cfg, a.out)


# ---------------------------------------------------------------------------
# Ablation: thresholds that land on the target sparsities

def last_step_by_policy(calls):
    last = max(r["step"] for r in calls)
    out = {}
    for r in calls:
        if r["step"] == last:
            out.setdefault(r["policy"], []).append(r)
    return last, out


def interpolate_threshold(points, target):
    """points: (threshold, sparsity) sorted by threshold. The threshold whose sparsity is
    target, linear between the two points around it; the nearest point when target is out of
    reach. Returns (threshold, predicted sparsity, how)."""
    for (t0, s0), (t1, s1) in zip(points, points[1:]):
        if (s0 - target) * (s1 - target) <= 0 and s0 != s1:
            t = t0 + (target - s0) * (t1 - t0) / (s1 - s0)
            return round(t, 2), target, "interpolated between %g and %g" % (t0, t1)
    t, s = min(points, key=lambda p: abs(p[1] - target))
    return t, s, "target out of the bracket's reach: nearest bracket point %g" % t


def cmd_refine(a):
    cfg = load_json(a.sweep_cfg)
    calls = read_calls(a.calls)
    kinds = {p["name"]: p for p in cfg["policies"]}
    last, by = last_step_by_policy(calls)
    points = sorted((kinds[n]["threshold"], mean([r["sparsity"] for r in rs]))
                    for n, rs in by.items() if kinds.get(n, {}).get("kind") == "lite")
    if not points:
        sys.exit("refine: no lite policy in the sweep")
    chosen = []
    pols = [{"name": "dense", "kind": "dense"}]
    for target in TARGETS:
        t, s, how = interpolate_threshold(points, target)
        name = "lite_s%02d_t%s" % (round(100 * target), fmt_t(t))
        chosen.append({"target": target, "threshold": t, "sweep_prediction": s, "how": how, "policy": name})
        pols.append({"name": name, "kind": "lite", "threshold": t})
    cfg["name"] = "ablation_" + cfg["trajectory"].get("synthetic", "trajectory")
    cfg["description"] = ("Ablation at the paper's sparsities: LiteAttention at thresholds chosen from the "
                          "threshold sweep to land on %s sparsity at the last step (%d)."
                          % ("/".join("%d%%" % round(100 * x) for x in TARGETS), last))
    cfg["policies"] = pols
    cfg.pop("output", None)
    save_json(cfg, a.out_cfg)
    save_json({"sweep_last_step": last, "sweep_points": points, "chosen": chosen}, a.out_json)
    for c in chosen:
        print("target %4.0f%%: threshold %-7g (%s; sweep at last step: %.1f%%)"
              % (100 * c["target"], c["threshold"], c["how"], 100 * c["sweep_prediction"]))


def cmd_bench_kept(a):
    kept = [1 - t for t in TARGETS]
    if a.calls and os.path.exists(a.calls):
        _, by = last_step_by_policy(read_calls(a.calls))
        for n, rs in sorted(by.items()):
            if n != "dense":
                kept.append(1 - mean([r["sparsity"] for r in rs]))
    out = []
    for k in sorted(kept, reverse=True):
        k = max(0.01, min(0.999, k))
        if all(abs(k - o) > 0.005 for o in out):
            out.append(round(k, 4))
    print(",".join("%g" % k for k in out))


# ---------------------------------------------------------------------------
# Policy comparison: tuning pass and matched parameters

def variants(p, steps):
    """The bracketing variants of one template policy: (name, config, family, parameter)."""
    kind = p["kind"]
    fam = p["name"]
    out = []
    if kind == "dense":
        return [("dense", dict(p), fam, None)]
    if kind in ("lite", "warmup", "refresh", "static", "dynamic", "oracle"):
        for t in THRESHOLD_BRACKETS[kind]:
            q = dict(p)
            q["threshold"] = t
            q["name"] = "%s_t%s" % (fam, fmt_t(t))
            out.append((q["name"], q, fam, t))
    elif kind == "lite_schedule":
        for c in THRESHOLD_BRACKETS[kind]:
            q = dict(p)
            q["thresholds"] = ramp(c, steps)
            q["name"] = "%s_c%s" % (fam, fmt_t(c))
            out.append((q["name"], q, fam, c))
    elif kind == "window":
        for fw, hw, ww in WINDOW_CANDIDATES:
            q = dict(p, frame_window=fw, height_window=hw, width_window=ww)
            q["name"] = "%s_%dx%dx%d" % (fam, fw, hw, ww)
            out.append((q["name"], q, fam, [fw, hw, ww]))
    elif kind == "radial":
        for df, decay in RADIAL_CANDIDATES:
            q = dict(p, dense_frames=df, decay=decay)
            q["name"] = "%s_f%d_d%g" % (fam, df, decay)
            out.append((q["name"], q, fam, [df, decay]))
    else:
        out.append((p["name"], dict(p), fam, None))
    return out


def cmd_tuning_config(a):
    cfg = load_json(a.template)
    if a.smoke:
        cfg = smoke(cfg)
    steps = cfg["trajectory"]["steps"]
    pols, index = [], []
    for p in cfg["policies"]:
        for name, q, fam, par in variants(p, steps):
            pols.append(q)
            index.append({"name": name, "family": fam, "kind": q["kind"], "parameter": par})
    t = cfg["trajectory"]
    if not a.smoke:
        t["heads"] = 8     # one head of every kind of the synthetic pattern; sparsity as with 40
    t["layers"] = 1
    cfg["name"] = cfg["name"] + "_tuning"
    cfg["description"] = ("Tuning pass of the policy comparison: every policy of %s at bracketing parameters, "
                          "on a cheaper copy of its trajectory (one layer%s), so that each policy's parameter "
                          "can be set to match a common sparsity." %
                          (os.path.basename(a.template), "" if a.smoke else ", 8 heads"))
    cfg["counters"] = False
    cfg["skipped_mass"] = False
    cfg.pop("record", None)
    cfg.pop("output", None)
    cfg["policies"] = pols
    cfg["x_tuning_index"] = index
    # The index is not an experiment key: keep it next to the config instead.
    save_json(index, a.out_cfg + ".index.json")
    del cfg["x_tuning_index"]
    save_json(cfg, a.out_cfg)
    print("%d policies in the tuning pass" % len(pols))


def cmd_matched(a):
    tmpl = load_json(a.template)
    if a.smoke:
        tmpl = smoke(tmpl)
    index = load_json(a.tuning_cfg + ".index.json")
    calls = read_calls(a.calls)
    spars = {}
    for r in calls:
        spars.setdefault(r["policy"], []).append(r["sparsity"])
    spars = {n: mean(v) for n, v in spars.items()}
    steps = tmpl["trajectory"]["steps"]
    target = a.target
    pols, report = [], []
    for p in tmpl["policies"]:
        fam = p["name"]
        cand = [(e["parameter"], spars[e["name"]]) for e in index
                if e["family"] == fam and e["name"] in spars]
        q = dict(p)
        entry = {"family": fam, "kind": p["kind"], "target": target,
                 "tuning": [{"parameter": c, "mean_sparsity": s} for c, s in cand]}
        if p["kind"] == "dense" or not cand:
            entry["how"] = "dense" if p["kind"] == "dense" else "not in the tuning pass: template parameters"
        elif p["kind"] in ("window", "radial"):
            par, s = min(cand, key=lambda c: abs(c[1] - target))
            if p["kind"] == "window":
                q.update(frame_window=par[0], height_window=par[1], width_window=par[2])
                q["name"] = "%s_%dx%dx%d" % (fam, *par)
            else:
                q.update(dense_frames=par[0], decay=par[1])
                q["name"] = "%s_f%d_d%g" % (fam, par[0], par[1])
            entry.update(parameter=par, predicted=s, how="nearest candidate")
        else:
            pts = sorted(cand)
            t, s, how = interpolate_threshold(pts, target)
            t = min(0.0, t)
            if p["kind"] == "lite_schedule":
                q["thresholds"] = ramp(t, steps)
                q["name"] = "%s_c%s" % (fam, fmt_t(t))
            else:
                q["threshold"] = t
                q["name"] = "%s_t%s" % (fam, fmt_t(t))
            entry.update(parameter=t, predicted=s, how=how)
        entry["policy"] = q["name"]
        pols.append(q)
        report.append(entry)
    tmpl["policies"] = pols
    tmpl["description"] = (tmpl.get("description", "") + " Parameters set by the tuning pass to match %.0f%% mean "
                           "sparsity." % (100 * target)).strip()
    tmpl.pop("output", None)
    save_json(tmpl, a.out_cfg)
    save_json({"target": target, "policies": report}, a.out_json)
    for e in report:
        print("%-14s -> %-28s %s" % (e["family"], e["policy"], e["how"]))


# ---------------------------------------------------------------------------
# Tables

def paper():
    return load_json(os.path.join(HERE, "data", "paper_figures.json"))


def bench_rows(path):
    """Rows of a litelab bench CSV: dense ms and the random-mask cases."""
    if not path or not os.path.exists(path):
        return None, [], None
    rows = read_csv(path)
    dense = [float(r["ms_median"]) for r in rows if r["mode"] == "dense"]
    rnd = [{"kept": float(r["kept_fraction"]), "target_kept": float(r["target_kept"]), "ms": float(r["ms_median"]),
            "ms_min": float(r["ms_min"]), "kernel": r["kernel"], "block": "%sx%s" % (r["block_m"], r["block_n"])}
           for r in rows if r["mask"] == "random"]
    full = [float(r["ms_median"]) for r in rows if r["mask"] == "full"]
    return (dense[0] if dense else None), rnd, (full[0] if full else None)


def cmd_ablation_table(a):
    raw, out = a.raw, a.out
    os.makedirs(out, exist_ok=True)
    pap = paper()["ablation_self_attention"]
    p_dense = pap["rows"][0]["seconds"]
    refine_calls = os.path.join(raw, "ablation", "refine_tables", "calls.csv")
    sweep_calls = os.path.join(raw, "sweep", "sweep_tables", "calls.csv")
    source = None
    if os.path.exists(refine_calls):
        calls = read_calls(refine_calls)
        source = "refine"
    elif os.path.exists(sweep_calls):
        calls = read_calls(sweep_calls)
        source = "sweep"
    else:
        sys.exit("ablation-table: neither %s nor %s" % (refine_calls, sweep_calls))
    unit = runtime_label(calls)
    last, by = last_step_by_policy(calls)
    dense_ms = mean([r["ms"] for r in calls if r["policy"] == "dense"])
    traj = load_json(os.path.join(raw, "sweep", "sweep.json"))["trajectory"]
    bench = bench_rows(os.path.join(raw, "ablation", "bench_random.csv"))
    b_dense, b_rand, b_full = bench if bench[0] is not None else (None, [], None)
    # One row per target: the LiteAttention mask (refined policy at the last step, else the
    # sweep call nearest the target) and the random mask of the target's density.
    lite = []
    if source == "refine":
        sel = load_json(os.path.join(raw, "ablation", "refine_selection.json"))
        for c in sel["chosen"]:
            rs = by.get(c["policy"], [])
            lite.append((c["target"], c["threshold"], last, mean([r["sparsity"] for r in rs]),
                         mean([r["ms"] for r in rs]), mean([r["rel_l2"] for r in rs])))
    else:
        cand = [r for r in calls if r["policy"] != "dense"]
        for t in TARGETS:
            r = min(cand, key=lambda r: abs(r["sparsity"] - t))
            lite.append((t, r["threshold"], r["step"], r["sparsity"], r["ms"], r["rel_l2"]))
    rows_md, rows_csv = [], []
    prow = [{"sparsity": 0.0, "seconds": p_dense}] + [r for r in pap["rows"] if r["sparsity"] > 0]
    for target, thr, step, s, ms, err in [(0.0, None, None, 0.0, dense_ms, 0.0)] + lite:
        rnd = None
        if target == 0:
            rnd = {"kept": 1.0, "ms": b_dense} if b_dense else None
        elif b_rand:  # the random mask of the LiteAttention mask's own density
            rnd = min(b_rand, key=lambda r: abs((1 - r["kept"]) - s))
        pr = min(prow, key=lambda r: abs(r["sparsity"] - target))
        impr = 1 - ms / dense_ms
        r_impr = 1 - rnd["ms"] / b_dense if rnd and b_dense else float("nan")
        p_impr = 1 - pr["seconds"] / p_dense
        rows_csv.append([target, "" if thr is None else thr, "" if step is None else step, "%.4f" % s,
                         "%.3f" % ms, "%.1f" % (ms * CALLS_PER_GENERATION / 1e3), "%.4f" % impr,
                         "%.3e" % err, "" if not rnd else "%.4f" % (1 - rnd["kept"]),
                         "" if not rnd else "%.3f" % rnd["ms"],
                         "" if not rnd else "%.1f" % (rnd["ms"] * CALLS_PER_GENERATION / 1e3),
                         "%.4f" % r_impr if not math.isnan(r_impr) else "",
                         pr["sparsity"], pr["seconds"], "%.4f" % p_impr])
        rows_md.append(["%.0f%%" % (100 * target), "dense" if thr is None else fmt_t(thr),
                        pct(s), f(ms, "%.1f"), f(ms * CALLS_PER_GENERATION / 1e3, "%.0f"), pct(impr, 0),
                        "-" if not rnd else pct(1 - rnd["kept"]), "-" if not rnd else f(rnd["ms"], "%.1f"),
                        "-" if not rnd else f(rnd["ms"] * CALLS_PER_GENERATION / 1e3, "%.0f"),
                        "-" if math.isnan(r_impr) else pct(r_impr, 0),
                        "%d" % pr["seconds"], pct(p_impr, 0)])
    write_csv(os.path.join(out, "ablation.csv"),
              ["target_sparsity", "lite_threshold", "lite_step", "lite_sparsity", "lite_ms_per_call",
               "lite_generation_s", "lite_improvement", "lite_rel_l2", "random_sparsity", "random_ms_per_call",
               "random_generation_s", "random_improvement", "paper_sparsity", "paper_self_attention_s",
               "paper_improvement"], rows_csv)
    # Data for the figure: every LiteAttention call of the sweep, the chosen ones, random masks.
    with open(os.path.join(out, "ablation_points.dat"), "w") as fh:
        fh.write("# sparsity  time_relative_to_dense  (LiteAttention masks of the threshold sweep, every call)\n")
        if os.path.exists(sweep_calls):
            sc = read_calls(sweep_calls)
            sd = mean([r["ms"] for r in sc if r["policy"] == "dense"])
            for r in sc:
                if r["policy"] != "dense":
                    fh.write("%.5f %.5f\n" % (r["sparsity"], r["ms"] / sd))
        fh.write("\n\n# chosen LiteAttention masks\n")
        fh.write("0 1\n")
        for _, _, _, s, ms, _ in lite:
            fh.write("%.5f %.5f\n" % (s, ms / dense_ms))
        fh.write("\n\n# random masks (litelab bench, median of the timed calls)\n")
        if b_dense:
            fh.write("0 1\n")
            for r in sorted(b_rand, key=lambda r: r["kept"], reverse=True):
                fh.write("%.5f %.5f\n" % (1 - r["kept"], r["ms"] / b_dense))
        else:
            fh.write("nan nan\n")  # keeps the block, so the paper stays index 3
        fh.write("\n\n# paper (Wan2.1-14B self-attention time, arXiv 2511.11062)\n")
        for r in prow:
            fh.write("%.5f %.5f\n" % (r["sparsity"], r["seconds"] / p_dense))
    kernel = b_rand[0]["kernel"] if b_rand else "?"
    with open(os.path.join(out, "ablation.md"), "w") as fh:
        fh.write("# Ablation: self-attention runtime against sparsity (Wan2.1-14B shape)\n\n")
        fh.write("Shape (B, H, N, D) = (1, 40, 75600, 128), bf16: one Wan2.1-14B self-attention call at 720p, "
                 "81 frames. Synthetic trajectory (not a real model): `%s`. Full generation = "
                 "%d calls (40 layers x 50 steps x 2 CFG passes), each at the row's per-call time.\n\n"
                 % (json.dumps(traj), CALLS_PER_GENERATION))
        fh.write(md_table(["target", "LiteAttention threshold", "LiteAttention sparsity", "ms / call",
                           "generation s", "improvement", "random sparsity", "random ms / call",
                           "random generation s", "random improvement", "paper s", "paper improvement"], rows_md,
                          ["---:"] * 12))
        fh.write("\n- LiteAttention masks: %s\n" % (
            "the `lite` policy replayed over the %d-step trajectory at thresholds chosen from the threshold sweep "
            "to land on each target at the last step (step %d); per-call time is that call's CUPTI kernel time "
            "(one call), sparsity its skipped (query tile, key tile) fraction. Dense: mean of the dense calls."
            % (last + 1, last) if source == "refine" else
            "the call of the threshold sweep whose sparsity is nearest each target (the refined run did not "
            "run); time from that one call."))
        if b_rand:
            fh.write("- Random masks: `litelab bench` (%s, %s tiles) at the densities of the LiteAttention masks "
                     "(the nearest measured), every query tile keeps a uniformly random subset of key tiles; median of the timed calls; improvement against "
                     "the same run's dense median (%.1f ms).\n" % (kernel, b_rand[0]["block"], b_dense))
        fh.write("- Runtime unit: %s. Improvement = 1 - time / dense time. The paper's column: %s.\n"
                 % (unit, pap["source"]))
        if not b_rand:
            fh.write("- Random masks: not measured in this run (no GPU or the bench did not run).\n")
        fh.write(partial_note(os.path.dirname(refine_calls if source == "refine" else sweep_calls)))
        fh.write("\nFigure: `ablation.png` (time relative to dense against sparsity: every LiteAttention call of the "
                 "sweep, the chosen masks, random masks, the paper, and the ideal 1:1 line).\n")
        fh.write("\n## Provenance\n\n```\n%s\n```\n" % provenance_text(os.path.join(raw, "ablation")
                                                                         if source == "refine" else
                                                                         os.path.join(raw, "sweep")))
    print("wrote %s/ablation.md, ablation.csv, ablation_points.dat" % out)


def cmd_sweep_table(a):
    raw, out = a.raw, a.out
    os.makedirs(out, exist_ok=True)
    cfg = load_json(os.path.join(raw, "sweep", "sweep.json"))
    thr = {p["name"]: p.get("threshold") for p in cfg["policies"]}
    calls = read_calls(os.path.join(raw, "sweep", "sweep_tables", "calls.csv"))
    unit = runtime_label(calls)
    last = max(r["step"] for r in calls)
    dense = [r for r in calls if r["policy"] == "dense"]
    d_ms = mean([r["ms"] for r in dense])
    pap = paper()["threshold_generation_time"]
    p_none = pap["rows"][0]["seconds"]
    prow = {r["threshold"]: r for r in pap["rows"] if r["threshold"] is not None}
    rows = []
    for name in sorted(thr, key=lambda n: (-1e9 if thr[n] is None else thr[n])):
        rs = [r for r in calls if r["policy"] == name]
        if not rs:
            continue
        t = thr[name]
        ms = mean([r["ms"] for r in rs])
        rows.append({"policy": name, "threshold": t, "mean_sparsity": mean([r["sparsity"] for r in rs]),
                     "last_sparsity": mean([r["sparsity"] for r in rs if r["step"] == last]),
                     "mean_rel_l2": mean([r["rel_l2"] for r in rs]),
                     "max_rel_l2": max(r["rel_l2"] for r in rs),
                     "max_skipped_mass": max(r["skipped_mass"] for r in rs),
                     "mean_ms": ms, "speedup": d_ms / ms,
                     "paper_s": prow[t]["seconds"] if t in prow else None,
                     "paper_speedup": p_none / prow[t]["seconds"] if t in prow else None})
    write_csv(os.path.join(out, "sweep.csv"),
              ["policy", "threshold", "mean_sparsity", "last_step_sparsity", "mean_rel_l2", "max_rel_l2",
               "max_skipped_mass", "mean_ms_per_call", "speedup_vs_dense", "paper_generation_s",
               "paper_speedup_vs_none"],
              [[r["policy"], "" if r["threshold"] is None else r["threshold"], "%.4f" % r["mean_sparsity"],
                "%.4f" % r["last_sparsity"], "%.4e" % r["mean_rel_l2"], "%.4e" % r["max_rel_l2"],
                "%.4g" % r["max_skipped_mass"], "%.3f" % r["mean_ms"], "%.4f" % r["speedup"],
                r["paper_s"] or "", "" if r["paper_speedup"] is None else "%.4f" % r["paper_speedup"]]
               for r in rows])
    md = []
    for r in rows:
        md.append(["none (dense)" if r["threshold"] is None else fmt_t(r["threshold"]), pct(r["mean_sparsity"]),
                   pct(r["last_sparsity"]), f(r["mean_rel_l2"], "%.2e"), f(r["max_rel_l2"], "%.2e"),
                   f(r["max_skipped_mass"], "%.3g"), f(r["mean_ms"], "%.1f"), f(r["speedup"], "%.2fx"),
                   "" if r["paper_s"] is None else "%dm%02ds" % divmod(r["paper_s"], 60),
                   "" if r["paper_speedup"] is None else "%.2fx" % r["paper_speedup"]])
    # The paper's "none" row sits next to dense.
    for r in md:
        if r[0] == "none (dense)":
            r[8] = "%dm%02ds" % divmod(p_none, 60)
            r[9] = "1.00x"
    shape = cfg["trajectory"]
    with open(os.path.join(out, "sweep.md"), "w") as fh:
        fh.write("# Threshold sweep\n\n")
        fh.write("LiteAttention (`lite` policy: lists propagate, skips accumulate) at every threshold over a synthetic "
                 "`%s` trajectory (%d steps, %d layer(s); not a real model), next to the paper's generation times "
                 "for Wan2.1-14B (%s).\n\n" % (shape["synthetic"], last + 1, len({r["layer"] for r in calls}),
                                               pap["source"]))
        fh.write(md_table(["threshold", "mean sparsity", "sparsity, last step", "mean rel L2", "max rel L2",
                           "max skipped mass", "ms / call", "speedup", "paper: generation", "paper: speedup"],
                          md))
        fh.write("\n- Sparsity: skipped (query tile, key tile) fraction of a call; mean over the trajectory's "
                 "calls, and at the last step (skips accumulate, so early steps are denser). Error: relative L2 of "
                 "the output against the dense output of the same inputs; skipped mass: the largest probability "
                 "mass a row loses (upper bound, from the dense tile map).\n")
        fh.write("- Time: %s, mean per call over the trajectory; speedup = dense / this. The paper's times are "
                 "whole generations (attention and everything else) on its hardware and model, so only the "
                 "direction compares, not the values.\n" % unit)
        fh.write(partial_note(os.path.join(raw, "sweep", "sweep_tables")))
        fh.write("\nFigures (`litelab report`): `report/threshold_sweep.png` (sparsity, error and speedup "
                 "against threshold), `report/skipped_per_step.png`, `report/runtime_vs_skipped.png`.\n")
        fh.write("\n## Provenance\n\n```\n%s\n```\n" % provenance_text(os.path.join(raw, "sweep")))
    print("wrote %s/sweep.md, sweep.csv" % out)


def cmd_comparison_table(a):
    raw, out = a.raw, a.out
    os.makedirs(out, exist_ok=True)
    sel = load_json(os.path.join(raw, "policies", "matched_selection.json"))
    calls = read_calls(os.path.join(raw, "policies", "matched_tables", "calls.csv"))
    unit = runtime_label(calls)
    cfg = load_json(os.path.join(raw, "policies", "matched.json"))
    d_ms = mean([r["ms"] for r in calls if r["policy"] == "dense"])
    rows_md, rows_csv = [], []
    for e in sel["policies"]:
        rs = [r for r in calls if r["policy"] == e["policy"]]
        if not rs:
            continue
        pc = next(p for p in cfg["policies"] if p["name"] == e["policy"])
        params = {k: v for k, v in pc.items() if k not in ("name", "kind")}
        if "thresholds" in params:
            params["thresholds"] = "%s..%s" % (fmt_t(params["thresholds"][0]), fmt_t(params["thresholds"][-1]))
        ptxt = ", ".join("%s %s" % (k, json.dumps(v) if not isinstance(v, str) else v)
                         for k, v in params.items()) or "-"
        s = mean([r["sparsity"] for r in rs])
        ms = mean([r["ms"] for r in rs])
        twr = mean([r["tensor_work_ratio"] for r in rs])
        row = [e["policy"], e["kind"], ptxt, s, mean([r["rel_l2"] for r in rs]), max(r["rel_l2"] for r in rs),
               min(r["cosine"] for r in rs), max(r["skipped_mass"] for r in rs), ms, d_ms / ms, twr,
               e.get("predicted")]
        rows_csv.append([row[0], row[1], ptxt, "%.4f" % s, "%.4e" % row[4], "%.4e" % row[5], "%.8f" % row[6],
                         "%.4g" % row[7], "%.3f" % ms, "%.4f" % row[9], "" if math.isnan(twr) else "%.4f" % twr,
                         "" if row[11] is None else "%.4f" % row[11]])
        rows_md.append([row[0], row[1], ptxt, pct(s), f(row[4], "%.2e"), f(row[5], "%.2e"), f(row[6], "%.6f"),
                        f(row[7], "%.3g"), f(ms, "%.2f"), f(row[9], "%.2fx"), f(twr, "%.3f")])
    write_csv(os.path.join(out, "comparison.csv"),
              ["policy", "kind", "parameters", "mean_sparsity", "mean_rel_l2", "max_rel_l2", "min_cosine",
               "max_skipped_mass", "mean_ms_per_call", "speedup_vs_dense", "mean_tensor_work_ratio",
               "tuning_pass_sparsity"], rows_csv)
    # The tuning pass, every variant.
    tun = []
    for e in sel["policies"]:
        for c in e.get("tuning", []):
            tun.append([e["family"], json.dumps(c["parameter"]), "%.4f" % c["mean_sparsity"]])
    write_csv(os.path.join(out, "tuning.csv"), ["family", "parameter", "mean_sparsity"], tun)
    t = cfg["trajectory"]
    n_layers = len({r["layer"] for r in calls})
    n_steps = len({r["step"] for r in calls})
    with open(os.path.join(out, "comparison.md"), "w") as fh:
        fh.write("# Policy comparison at matched sparsity\n\n")
        fh.write("Every policy of the harness over one synthetic `%s` trajectory (%d steps x %d layers; "
                 "B=1, H=%s, D=%s; not a real model), %s.\n\n"
                 % (t["synthetic"], n_steps, n_layers, t.get("heads", 40), t.get("head_dim", 128),
                    "with the template's parameters: the tuning pass did not run, so sparsities are NOT matched"
                    if sel["target"] is None else
                    "each with its parameter set to reach %.0f%% mean sparsity (from a tuning pass, below)"
                    % (100 * sel["target"])))
        fh.write(md_table(["policy", "kind", "parameters", "mean sparsity", "mean rel L2", "max rel L2",
                           "min cosine", "max skipped mass", "ms / call", "speedup", "tensor work ratio"],
                          rows_md, ["---", "---", "---"] + ["---:"] * 8))
        fh.write("\n- Sparsity: skipped (query tile, key tile) fraction, mean over the calls. Errors against the "
                 "dense output of the same inputs; skipped mass: largest probability mass a row loses (bound).\n")
        fh.write("- Time: %s, mean per call; speedup = dense / this. `dynamic` is timed on its replay pass only "
                 "(the probe pass that finds the step's mask is left out: a lower bound for a per-step method).\n"
                 % unit)
        fh.write("- Tensor work ratio: executed tensor-core instructions (CUPTI range profiler) over the count "
                 "the kernel issues for the tiles it computes (portable: one m16n8k16 per 4096 executed FLOPs; "
                 "Hopper: its fixed wgmma count per computed tile), mean over calls: 1.000 when the kernel's "
                 "tensor work falls exactly with the tiles skipped; n/a where counters were off (the experiment's "
                 "`counters` key: each profiled call runs the kernel once more) or unavailable.\n")
        fh.write("- Tuning pass (`tuning.csv`): each policy at bracketing parameters on a cheaper copy of the "
                 "trajectory (1 layer, 8 heads, one of each head kind of the synthetic pattern); thresholds "
                 "interpolated to the target, static masks (window, radial) the nearest candidate. `lite_schedule` "
                 "is a linear ramp centre - %g .. centre + %g over the steps (strict early, aggressive late).\n\n"
                 % (RAMP_HALF_WIDTH, RAMP_HALF_WIDTH))
        fh.write(md_table(["policy", "how", "tuning pass: sparsity at the chosen parameter"],
                          [[e["policy"], e["how"], pct(e["predicted"]) if e.get("predicted") is not None else "-"]
                           for e in sel["policies"]], ["---", "---", "---:"]))
        fh.write(partial_note(os.path.join(raw, "policies", "matched_tables")))
        fh.write("\nFigures and full tables (`litelab report`): `report/report.md`.\n")
        fh.write("\n## Provenance\n\n```\n%s\n```\n" % provenance_text(os.path.join(raw, "policies")))
    print("wrote %s/comparison.md, comparison.csv, tuning.csv" % out)


def caption_of(docs):
    """One caption for the traces of litelab report JSON documents (analysis/report_json.c)."""
    caps = []
    for doc in docs:
        for t in doc.get("traces", []):
            if t.get("caption") and t["caption"] not in caps:
                caps.append(t["caption"])
    if not caps:
        sys.exit("caption: no trace with a caption in the JSON given")
    if len(caps) == 1:
        return caps[0]
    # Traces that differ only in their sequence length: one line with N's range.
    def without_n(c):
        return " ".join("N=*" if w.startswith("N=") else w for w in c.split(" "))
    if len({without_n(c) for c in caps}) == 1:
        ns = sorted(int(w[2:]) for c in caps for w in c.split(" ") if w.startswith("N=") and w[2:].isdigit())
        return without_n(caps[0]).replace("N=*", "N=%d..%d" % (ns[0], ns[-1]), 1)
    return "%d traces of different shapes, maps or hardware: see their report.json" % len(caps)


def cmd_caption(a):
    docs = []
    for path in a.json:
        try:
            docs.append(json.load(sys.stdin if path == "-" else open(path)))
        except (OSError, ValueError) as e:
            sys.exit("caption: %s: %s" % (path, e))
    print(caption_of(docs))


def cmd_config_caption(a):
    gpu = ""
    try:
        for line in open(a.provenance):
            if line.startswith("gpu:"):
                gpu = line[4:].split(",")[0].strip()
    except OSError as e:
        sys.exit("config-caption: %s" % e)
    ns, maps, backends = [], [], []
    for path in a.configs:
        try:
            cfg = json.load(open(path))
        except (OSError, ValueError) as e:
            sys.exit("config-caption: %s: %s" % (path, e))
        t = cfg.get("trajectory", {})
        if "synthetic" in t:
            m = "synthetic maps (preset %s, seed %s)" % (t["synthetic"], t.get("seed", 0))
        else:
            m = "maps captured in %s" % os.path.basename(str(t.get("capture", "?")))
        if m not in maps:
            maps.append(m)
        if cfg.get("backend", "auto") not in backends:
            backends.append(cfg.get("backend", "auto"))
        if all(k in t for k in ("frames", "height", "width")):
            ns.append(t["frames"] * t["height"] * t["width"])
    if len(maps) != 1 or len(backends) != 1:
        sys.exit("config-caption: the configs differ in their maps or backend")
    hw = ("%s (%s backend): CUPTI times" % (gpu, backends[0]) if gpu and not gpu.startswith("none")
          else "CPU backend: host times, not GPU times")
    n = ("N=%d..%d" % (min(ns), max(ns)) if len(set(ns)) > 1 else "N=%d" % ns[0]) if ns else ""
    print(" · ".join(x for x in (n, maps[0], hw) if x))


def cmd_scaling_table(a):
    raw, out = a.raw, a.out
    os.makedirs(out, exist_ok=True)
    base = os.path.join(raw, "scaling")
    rows = []
    for d in sorted(os.listdir(base)):
        cf = os.path.join(base, d, "calls.csv")
        if not d.startswith("N") or not os.path.exists(cf):
            continue
        calls = read_calls(cf)
        if not calls:
            continue
        last = max(r["step"] for r in calls)
        dense = [r for r in calls if r["policy"] == "dense"]
        lite = [r for r in calls if r["policy"] != "dense"]
        lite_last = [r for r in lite if r["step"] == last]
        N = int(d[1:])
        d_ms = mean([r["ms"] for r in dense])
        flops = dense[0]["flops_dense"] if dense else 0
        l_ms = mean([r["ms"] for r in lite_last])
        l_s = mean([r["sparsity"] for r in lite_last])
        l_exec = mean([r["flops_executed"] for r in lite_last])
        rows.append({"N": N, "dense_ms": d_ms, "dense_tflops": flops / (d_ms * 1e-3) / 1e12 if d_ms else float("nan"),
                     "lite_ms": l_ms, "lite_sparsity": l_s,
                     "lite_exec_tflops": l_exec / (l_ms * 1e-3) / 1e12 if l_ms else float("nan"),
                     "lite_mean_ms": mean([r["ms"] for r in lite]), "lite_mean_sparsity":
                     mean([r["sparsity"] for r in lite]), "speedup": d_ms / l_ms, "flops": flops,
                     "steps": last + 1, "policy": lite[0]["policy"] if lite else "", "unit": runtime_label(calls),
                     "partial": os.path.exists(os.path.join(base, d, "tables", "PARTIAL"))})
    rows.sort(key=lambda r: r["N"])
    if not rows:
        sys.exit("scaling-table: no measurements under %s" % base)
    write_csv(os.path.join(out, "scaling.csv"),
              ["N", "dense_gflop", "dense_ms_per_call", "dense_tflops", "lite_policy", "lite_last_step_sparsity",
               "lite_last_step_ms", "lite_last_step_executed_tflops", "lite_mean_sparsity", "lite_mean_ms",
               "speedup_last_step"],
              [[r["N"], "%.1f" % (r["flops"] / 1e9), "%.3f" % r["dense_ms"], "%.1f" % r["dense_tflops"], r["policy"],
                "%.4f" % r["lite_sparsity"], "%.3f" % r["lite_ms"], "%.1f" % r["lite_exec_tflops"],
                "%.4f" % r["lite_mean_sparsity"], "%.3f" % r["lite_mean_ms"], "%.4f" % r["speedup"]] for r in rows])
    with open(os.path.join(out, "scaling.dat"), "w") as fh:
        fh.write("# N dense_ms lite_last_ms lite_last_sparsity dense_gflop\n")
        for r in rows:
            fh.write("%d %.5f %.5f %.5f %.3f\n" % (r["N"], r["dense_ms"], r["lite_ms"], r["lite_sparsity"],
                                                   r["flops"] / 1e9))
    with open(os.path.join(out, "scaling.md"), "w") as fh:
        fh.write("# Scaling: dense and LiteAttention as N grows\n\n")
        t = load_json(os.path.join(base, "N%06d" % rows[0]["N"], "config.json"))["trajectory"]
        fh.write("B=1, H=%s, D=%s, bf16; synthetic trajectories (`%s` preset, not a real model) on %s-frame grids "
                 "of growing height x width, %d steps, 1 layer; LiteAttention = `%s` (fixed threshold). Dense time: "
                 "mean over the steps; LiteAttention: its last step (lists carry %d steps of skips).\n\n"
                 % (t.get("heads", 40), t.get("head_dim", 128), t["synthetic"], t["frames"], rows[0]["steps"],
                    rows[0]["policy"], rows[0]["steps"] - 1))
        fh.write(md_table(["N", "dense GFLOP", "dense ms / call", "dense TFLOP/s", "LiteAttention sparsity",
                           "LiteAttention ms / call", "executed TFLOP/s", "speedup"],
                          [["%d%s" % (r["N"], " (incomplete: %d steps)" % r["steps"] if r["partial"] else ""),
                            "%.4g" % (r["flops"] / 1e9), f(r["dense_ms"], "%.2f"), f(r["dense_tflops"], "%.0f"),
                            pct(r["lite_sparsity"]), f(r["lite_ms"], "%.2f"), f(r["lite_exec_tflops"], "%.0f"),
                            f(r["speedup"], "%.2fx")] for r in rows]))
        fh.write("\n- Time: %s. TFLOP/s: 4 B H N^2 D (dense) or the executed tiles' exact FLOPs (LiteAttention) per "
                 "second. Dense work grows as N^2; at a fixed threshold LiteAttention's sparsity changes with N "
                 "(fifth column), and with it the gap between the two.\n" % rows[0]["unit"])
        fh.write("\nFigure: `scaling.png` (time per call against N, log-log, with an N^2 reference).\n")
        fh.write("\n## Provenance\n\n```\n%s\n```\n" % provenance_text(base))
    print("wrote %s/scaling.md, scaling.csv, scaling.dat" % out)


def cmd_calibration_table(a):
    """calibrate's verification.csv (prediction against the replay) as a table, with totals."""
    d, out = a.dir, a.out
    sched = load_json(os.path.join(d, "schedule.json"))
    ver = read_csv(os.path.join(d, "verification.csv"))
    rows = []
    for r in ver:
        rows.append([r["step"], r["threshold"], f(num(r["predicted_skipped_ratio"]), "%.4f"),
                     f(num(r["verified_skipped_ratio"]), "%.4f"), f(num(r["predicted_error_bound"]), "%.4g"),
                     f(num(r["predicted_error_exact"]), "%.4g"), f(num(r["verified_skipped_mass"]), "%.4g"),
                     f(num(r["verified_max_rel_l2"]), "%.3e")])
    pk = mean([num(r["predicted_skipped_ratio"]) for r in ver])
    vk = mean([num(r["verified_skipped_ratio"]) for r in ver])
    pe = max(num(r["predicted_error_exact"]) for r in ver)
    ve = max(num(r["verified_skipped_mass"]) for r in ver)
    with open(out, "w") as fh:
        fh.write(md_table(["step", "threshold", "predicted skipped FLOPs", "replay skipped FLOPs",
                           "predicted error (bound)", "predicted error (exact proxy)", "replay error (skipped mass)",
                           "replay max rel L2"], rows))
        fh.write("\n| | predicted (screening) | replay |\n|---|---:|---:|\n")
        fh.write("| mean skipped FLOP ratio over the steps | %.4f | %.4f |\n" % (pk, vk))
        fh.write("| worst step error (error proxy: largest skipped mass of a query tile) | %.4g | %.4g |\n"
                 % (pe, ve))
        fh.write("| budget (%s) | %s | |\n" % (sched.get("budget_mode", "?"),
                                                sched.get("budget", sched.get("budget_list", "-"))))
    print("wrote %s (%d steps)" % (out, len(rows)))


def cmd_predict_table(a):
    """calibrate --predict T (prediction.csv of each DIR) against the replay of lite at T (calls.csv)."""
    calls = read_calls(a.calls)
    rows, csv_rows = [], []
    for d in a.pred:
        prows = read_csv(os.path.join(d, "prediction.csv"))
        t = max(num(r["threshold"]) for r in prows if math.isfinite(num(r["threshold"])))  # constant: --predict T
        pred = {int(r["step"]): num(r["predicted_skipped_ratio"]) for r in prows}
        rep = {}
        for r in calls:
            if r["policy"] != "dense" and r["threshold"] == t:
                e = rep.setdefault(r["step"], [0, 0])
                e[0] += r["flops_executed"]
                e[1] += r["flops_dense"]
        rep = {s: 1 - e[0] / e[1] for s, e in rep.items() if e[1]}
        steps = sorted(set(pred) & set(rep))
        pm, rm = mean([pred[s] for s in steps]), mean([rep[s] for s in steps])
        worst = max(steps, key=lambda s: abs(pred[s] - rep[s]))
        rows.append([fmt_t(t), "%.4f" % pm, "%.4f" % rm, "%.4f" % (pm - rm), "%d" % worst,
                     "%.4f" % pred[worst], "%.4f" % rep[worst]])
        for s in steps:
            csv_rows.append([t, s, "%.6f" % pred[s], "%.6f" % rep[s]])
    write_csv(a.out + ".csv", ["threshold", "step", "predicted_skipped_flop_ratio", "replay_skipped_flop_ratio"],
              csv_rows)
    with open(a.out + ".md", "w") as fh:
        fh.write(md_table(["threshold", "predicted (mean over steps)", "replay (mean over steps)", "difference",
                           "step of the largest difference", "predicted there", "replay there"], rows))
    print("wrote %s.md, %s.csv" % (a.out, a.out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("derive")
    p.add_argument("inp")
    p.add_argument("out")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--set", action="append")
    p.set_defaults(fn=cmd_derive)
    p = sub.add_parser("refine")
    for k in ("sweep_cfg", "calls", "out_cfg", "out_json"):
        p.add_argument(k)
    p.set_defaults(fn=cmd_refine)
    p = sub.add_parser("bench-kept")
    p.add_argument("calls", nargs="?")
    p.set_defaults(fn=cmd_bench_kept)
    p = sub.add_parser("tuning-config")
    p.add_argument("template")
    p.add_argument("out_cfg")
    p.add_argument("--smoke", action="store_true")
    p.set_defaults(fn=cmd_tuning_config)
    p = sub.add_parser("matched")
    for k in ("template", "tuning_cfg", "calls", "out_cfg", "out_json"):
        p.add_argument(k)
    p.add_argument("--target", type=float, default=MATCH_TARGET)
    p.add_argument("--smoke", action="store_true")
    p.set_defaults(fn=cmd_matched)
    for name, fn in (("ablation-table", cmd_ablation_table), ("sweep-table", cmd_sweep_table),
                     ("comparison-table", cmd_comparison_table), ("scaling-table", cmd_scaling_table)):
        p = sub.add_parser(name)
        p.add_argument("raw")
        p.add_argument("out")
        p.set_defaults(fn=fn)
    p = sub.add_parser("predict-table")
    p.add_argument("calls")
    p.add_argument("out")
    p.add_argument("pred", nargs="+", help="litelab calibrate --predict output folders")
    p.set_defaults(fn=cmd_predict_table)
    p = sub.add_parser("caption")
    p.add_argument("json", nargs="+", help="report.json files of litelab report, or - for stdin")
    p.set_defaults(fn=cmd_caption)
    p = sub.add_parser("config-caption")
    p.add_argument("provenance")
    p.add_argument("configs", nargs="+")
    p.set_defaults(fn=cmd_config_caption)
    p = sub.add_parser("calibration-table")
    p.add_argument("dir")
    p.add_argument("out")
    p.set_defaults(fn=cmd_calibration_table)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
