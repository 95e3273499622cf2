#!/usr/bin/env python3
"""check_realism.py: sample the trained DiT and its random control with CFG, record tile maps
of every layer and step, and run the real-likeness checks (a)-(e) (realism_checks.py).

Samples (batch 1, conditional-branch maps; the unconditional calls run but are not recorded):
  A  class 0, noise seed 100   (its maps are saved)
  B  class 0, noise seed 101   (a different sample of the same class)
  C  class 2, noise seed 102   (a different class)
The control is the model at its initial state (model.build with the checkpoint's seed).

Writes into --out:
  realism.md                 the table of checks, trained vs control, and per-layer/head detail
  summary.json               every number of the table
  sparsity_per_step.dat      step, sigma, oracle and walk sparsity (trained, control), per layer
  iou_per_step.dat           step, consecutive IoU, cross-sample IoU (B, C), trained and control
  heads.dat                  layer, head, own-frame mass, temporal mass, late sparsity
  mask_example.dat           one late (layer, head) oracle criterion map, q_tiles x k_tiles
  sample_A.png               frames of sample A (trained), for the eye
  maps_<name>.npz            float16 [steps, layers, heads, q_tiles, k_tiles] of sample A (trained),
                             name in max_log2, walk_desc, mass (attention_stats.py), plus sigmas
Example:
  python3 experiments/dit/check_realism.py --weights dit.safetensors --out /tmp/realism
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attention_stats  # noqa: E402
import flow  # noqa: E402
import model as dit  # noqa: E402
import realism_checks as rc  # noqa: E402
import train  # noqa: E402

SAMPLES = {"A": (0, 100), "B": (0, 101), "C": (2, 102)}
SAVED_MAPS = ("max_log2", "walk_desc", "mass")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True, help="checkpoint written by train.py --export")
    ap.add_argument("--out", required=True, help="output folder (created; must not hold realism.md)")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--shift", type=float, default=3.0)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--threshold", type=float, default=-10.0)
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--provenance", default="", help="free text recorded in the outputs (command, commit)")
    a = ap.parse_args(argv)
    if a.steps < 4 or not a.threshold <= 0 or a.tile < 1:
        ap.error("--steps must be >= 4, --threshold <= 0, --tile >= 1")
    if os.path.exists(os.path.join(a.out, "realism.md")):
        ap.error(f"{a.out} already holds realism.md; choose another --out")
    return a


def clip_shape_of(meta):
    preset = meta.get("preset", "default")
    if preset not in train.PRESETS:
        raise SystemExit(f"check_realism: checkpoint preset {preset!r} unknown")
    return train.PRESETS[preset][1]


class MapRecorder:
    """Tile statistics of every self-attention call of the conditional branch, kept on the GPU."""

    def __init__(self, steps, layers, tile, keep):
        self.steps, self.layers, self.tile, self.keep = steps, layers, tile, keep
        self.maps = {}
        self.step, self.branch = None, None

    def on_call(self, step, branch):
        self.step, self.branch = step, branch

    def observe(self, layer, q, k):
        if self.branch != "cond":
            return
        stats = attention_stats.tile_stats(q, k, tile=self.tile)
        for name in self.keep:
            m = stats[name][0]  # batch 1
            if name not in self.maps:
                self.maps[name] = torch.full((self.steps, self.layers, *m.shape), float("nan"),
                                             dtype=torch.float16, device=m.device)
            self.maps[name][self.step, layer] = m.half()


def run_sample(model, name, clip, a):
    label, noise_seed = SAMPLES[name]
    rec = MapRecorder(a.steps, model.cfg.layers, a.tile, SAVED_MAPS + ("mean_mass",))
    gen = torch.Generator(device=a.device)
    gen.manual_seed(noise_seed)
    labels = torch.tensor([label], device=a.device)
    shape = (model.cfg.channels, clip.frames, clip.height, clip.width)
    t0 = time.time()
    with attention_stats.AttentionTap(model.transformer, rec.observe), dit.fast_attention(a.device):
        x = flow.sample(model, labels, shape, a.steps, a.shift, a.guidance, gen, a.device, on_call=rec.on_call,
                        autocast=a.device != "cpu")
    sync(a.device)
    maps = {k: v.float().cpu().numpy() for k, v in rec.maps.items()}
    for k, v in maps.items():
        if np.isnan(v[..., :-1]).any():
            raise SystemExit(f"check_realism: map {k} of sample {name} has unrecorded (step, layer) entries")
    return x, maps, time.time() - t0


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed_plain_sample(model, clip, a):
    gen = torch.Generator(device=a.device)
    gen.manual_seed(7)
    labels = torch.tensor([1], device=a.device)
    shape = (model.cfg.channels, clip.frames, clip.height, clip.width)
    sync(a.device)
    t0 = time.time()
    with dit.fast_attention(a.device):
        flow.sample(model, labels, shape, a.steps, a.shift, a.guidance, gen, a.device, autocast=a.device != "cpu")
    sync(a.device)
    return time.time() - t0


def evaluate_model(model, clip, a, tag, log):
    maps = {}
    seconds = {}
    for name in SAMPLES:
        x, maps[name], seconds[name] = run_sample(model, name, clip, a)
        log(f"{tag}: sample {name} with tile maps: {seconds[name]:.1f} s")
        if name == "A":
            first = x
    tokens_per_frame = (clip.height // 2) * (clip.width // 2)
    if tokens_per_frame % a.tile:
        raise SystemExit(f"check_realism: {tokens_per_frame} tokens per frame are not whole tiles of {a.tile}")
    r = rc.evaluate(maps["A"]["max_log2"], maps["B"]["max_log2"], maps["A"]["mean_mass"],
                    tokens_per_frame // a.tile, a.threshold)
    mask_a = rc.negligible(maps["A"]["max_log2"], a.threshold)
    mask_c = rc.negligible(maps["C"]["max_log2"], a.threshold)
    late = rc.late_steps(a.steps)
    r["iou_cross_class_per_step"] = rc.iou_per_step(mask_a, mask_c)
    r["iou_cross_class_late"] = rc.nanmean(r["iou_cross_class_per_step"][late])
    walk = rc.negligible(maps["A"]["walk_desc"], a.threshold)
    r["walk_sparsity_per_step"] = rc.sparsity_per_step(walk)
    r["walk_sparsity_late"] = float(r["walk_sparsity_per_step"][late].mean())
    r["walk_marks_above"], r["walk_marks_below"] = rc.diagonal_sides(walk)
    r["seconds_with_maps"] = seconds
    return r, maps["A"], first


def fmt(x, digits=3):
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def ratio(r):
    """How many times more tiles two samples disagree on than two consecutive steps do."""
    cons, cross = 1.0 - r["iou_consecutive_late"], 1.0 - r["iou_cross_late"]
    return cross / cons if cons > 0 else float("nan")


def verdict(flag):
    return "PASS" if flag else "FAIL"


def write_table(path, tr, ct, a, info, info_uniform):
    S = tr["steps"]
    late = rc.late_steps(S)
    lines = [
        "# Real-likeness checks: trained Wan DiT vs its random initial state",
        "",
        f"Threshold {a.threshold:g} (log2), {a.tile} x {a.tile} tiles, {S} Euler steps (shift {a.shift:g}), "
        f"CFG {a.guidance:g}; conditional-branch maps of sample A (class {SAMPLES['A'][0]}, noise seed "
        f"{SAMPLES['A'][1]}); late steps = {late[0]}..{S - 1}. Criteria: realism_checks.py.",
        "",
        "| check | criterion | trained | control |",
        "|---|---|---|---|",
        f"| (a) oracle sparsity, late steps | in [0.2, 0.8] and last quarter >= first quarter + {rc.ASCENT_MIN} | "
        f"{fmt(tr['sparsity_late'])} (first quarter {fmt(tr['sparsity_first_quarter'])}, last "
        f"{fmt(tr['sparsity_last_quarter'])}): **{verdict(tr['a_pass'])}** | {fmt(ct['sparsity_late'])} (first "
        f"{fmt(ct['sparsity_first_quarter'])}, last {fmt(ct['sparsity_last_quarter'])}): **{verdict(ct['a_pass'])}** |",
        f"| (b) IoU consecutive steps vs two samples, late | consecutive >= {rc.IOU_MIN} and >= cross + "
        f"{rc.IOU_MARGIN} | {fmt(tr['iou_consecutive_late'])} vs {fmt(tr['iou_cross_late'])} (other class "
        f"{fmt(tr['iou_cross_class_late'])}): **{verdict(tr['b_pass'])}** | {fmt(ct['iou_consecutive_late'])} vs "
        f"{fmt(ct['iou_cross_late'])} (other class {fmt(ct['iou_cross_class_late'])}): **{verdict(ct['b_pass'])}** |",
        f"| (c) resurrection rate, all steps (late) | > 0 and < {rc.RESURRECTION_MAX} | "
        f"{fmt(tr['resurrection_rate'], 4)} ({fmt(tr['resurrection_rate_late'], 4)}; {tr['resurrected']} of "
        f"{tr['negligible_before']}): **{verdict(tr['c_pass'])}** | {fmt(ct['resurrection_rate'], 4)} "
        f"({fmt(ct['resurrection_rate_late'], 4)}; {ct['resurrected']} of {ct['negligible_before']}): "
        f"**{verdict(ct['c_pass'])}** |",
        f"| (d) spatial / temporal heads | >= 1 of each (mass >= {rc.HEAD_MASS_MIN}) | {tr['spatial_heads']} / "
        f"{tr['temporal_heads']}: **{verdict(tr['d_pass'])}** | {ct['spatial_heads']} / {ct['temporal_heads']}: "
        f"**{verdict(ct['d_pass'])}** |",
        f"| (e) oracle marks above / below the diagonal | each side >= {rc.SIDE_MIN:.0%} | {tr['marks_above']} / "
        f"{tr['marks_below']}: **{verdict(tr['e_pass'])}** | {ct['marks_above']} / {ct['marks_below']}: "
        f"**{verdict(ct['e_pass'])}** |",
        "",
        "Context (not checks):",
        "",
        "| | trained | control |",
        "|---|---|---|",
        f"| oracle sparsity, all steps | {fmt(tr['sparsity_all'])} | {fmt(ct['sparsity_all'])} |",
        f"| largest late sparsity of one (layer, head) | {fmt(tr['sparsity_late_max_layer_head'])} | "
        f"{fmt(ct['sparsity_late_max_layer_head'])} |",
        f"| tiles in one mask only (1 - IoU), A vs B over consecutive steps, late | "
        f"{ratio(tr):.2f} | {ratio(ct):.2f} |",
        f"| descending-walk sparsity, late steps (one dense pass) | {fmt(tr['walk_sparsity_late'])} | "
        f"{fmt(ct['walk_sparsity_late'])} |",
        f"| descending-walk marks above / below the diagonal | {tr['walk_marks_above']} / {tr['walk_marks_below']} | "
        f"{ct['walk_marks_above']} / {ct['walk_marks_below']} |",
        "",
        "Per (layer, head) of the trained model, late steps: own-frame mass, temporal mass (other frames, "
        "within one tile of the query's position), class, oracle sparsity, mask IoU between consecutive steps "
        "and between samples A and B at the same step.",
        "",
        f"Uniform attention would give own frame {info_uniform[0]:.3f}, temporal {info_uniform[1]:.3f}.",
        "",
        "| layer | head | own frame | temporal | class | sparsity | IoU consecutive | IoU A vs B |",
        "|---|---|---|---|---|---|---|---|",
    ]
    L, H = tr["head_kind"].shape
    for layer in range(L):
        for head in range(H):
            lines.append(f"| {layer} | {head} | {tr['head_own_frame'][layer, head]:.3f} | "
                         f"{tr['head_temporal'][layer, head]:.3f} | {tr['head_kind'][layer, head]} | "
                         f"{tr['sparsity_late_layer_head'][layer, head]:.3f} | "
                         f"{tr['iou_consecutive_late_layer_head'][layer, head]:.3f} | "
                         f"{tr['iou_cross_late_layer_head'][layer, head]:.3f} |")
    lines += ["", "Run:", ""] + [f"- {k}: {v}" for k, v in info.items()] + [""]
    with open(path + ".partial", "w") as f:
        f.write("\n".join(lines))
    os.replace(path + ".partial", path)


def write_dat(path, header, columns):
    rows = np.column_stack(columns)
    np.savetxt(path + ".partial", rows, fmt="%.6g", header=header, comments="# ")
    os.replace(path + ".partial", path)


def save_png(x, path):
    from PIL import Image

    frames = x[0].float().clamp(-1, 1).add(1).mul(127.5).byte().permute(1, 2, 3, 0).cpu().numpy()  # T,H,W,C
    strip = np.concatenate(list(frames[:: max(1, frames.shape[0] // 8)]), axis=1)
    Image.fromarray(strip).resize((strip.shape[1] * 2, strip.shape[0] * 2), Image.NEAREST).save(path)


def jsonable(r):
    out = {}
    for k, v in r.items():
        if isinstance(v, np.ndarray):
            out[k] = v.tolist()
        elif isinstance(v, (np.floating, np.integer, np.bool_)):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def main(argv=None):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    log = lambda msg: print(f"check_realism: {msg}", flush=True)  # noqa: E731

    trained, meta = dit.load_weights(a.weights, a.device)
    clip = clip_shape_of(meta)
    control = dit.build(trained.cfg, int(meta.get("seed", 0))).to(a.device)
    trained.eval()
    control.eval()
    log(f"{a.weights}: step {meta.get('step')}, {dit.parameter_count(trained)} parameters, clip {clip}")

    plain = timed_plain_sample(trained, clip, a)  # first call includes warm-up
    plain = timed_plain_sample(trained, clip, a)
    log(f"sampling: {plain:.2f} s per sample ({a.steps} steps, CFG, batch 1, no maps)")

    tr, maps_a, x_a = evaluate_model(trained, clip, a, "trained", log)
    ct, _, _ = evaluate_model(control, clip, a, "control", log)

    sigmas = flow.shifted_sigmas(a.steps, a.shift).numpy()[:-1]
    info = {
        "checkpoint": f"{os.path.basename(a.weights)} (step {meta.get('step')}, {meta.get('samples')} samples, "
                      f"{meta.get('train_seconds')} s of training)",
        "device": torch.cuda.get_device_name() if torch.device(a.device).type == "cuda" else f"CPU ({platform.machine()})",
        "torch": torch.__version__,
        "sampling, s per sample (batch 1, no maps)": f"{plain:.2f}",
        "sampling with maps, s per sample (trained A, B, C)": ", ".join(f"{v:.1f}" for v in tr["seconds_with_maps"].values()),
        "provenance": a.provenance or "(none given)",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    tiles = (clip.frames * (clip.height // 2) * (clip.width // 2)) // a.tile
    uniform = np.full((1, 1, 1, tiles, tiles), 1.0 / tiles)
    own_u, temporal_u = rc.head_fractions(uniform, tiles // clip.frames)
    write_table(os.path.join(a.out, "realism.md"), tr, ct, a, info, (own_u.item(), temporal_u.item()))
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump({"trained": jsonable(tr), "control": jsonable(ct), "info": info, "args": vars(a)}, f, indent=1)

    steps = np.arange(a.steps)
    L = trained.cfg.layers
    mask = rc.negligible(maps_a["max_log2"], a.threshold)
    per_layer = [mask[:, l].reshape(a.steps, -1).mean(1) for l in range(L)]
    write_dat(os.path.join(a.out, "sparsity_per_step.dat"),
              "step sigma oracle_trained walk_trained oracle_control walk_control "
              + " ".join(f"oracle_trained_layer{l}" for l in range(L)),
              [steps, sigmas, tr["sparsity_per_step"], tr["walk_sparsity_per_step"], ct["sparsity_per_step"],
               ct["walk_sparsity_per_step"], *per_layer])
    pad = lambda v: np.append(v, np.nan)  # noqa: E731  (consecutive IoU has steps-1 entries)
    write_dat(os.path.join(a.out, "iou_per_step.dat"),
              "step consecutive_trained cross_same_class_trained cross_other_class_trained "
              "consecutive_control cross_same_class_control",
              [steps, pad(tr["iou_consecutive_per_step"]), tr["iou_cross_per_step"], tr["iou_cross_class_per_step"],
               pad(ct["iou_consecutive_per_step"]), ct["iou_cross_per_step"]])
    H = trained.cfg.heads
    write_dat(os.path.join(a.out, "heads.dat"), "layer head own_frame temporal sparsity_late",
              [np.repeat(np.arange(L), H), np.tile(np.arange(H), L), tr["head_own_frame"].ravel(),
               tr["head_temporal"].ravel(), tr["sparsity_late_layer_head"].ravel()])
    late_step = a.steps - max(1, a.steps // 8)
    layer, head = np.unravel_index(np.argmax(tr["sparsity_late_layer_head"]), tr["sparsity_late_layer_head"].shape)
    example = np.nan_to_num(maps_a["max_log2"][late_step, layer, head], nan=0.0)
    np.savetxt(os.path.join(a.out, "mask_example.dat"), np.maximum(example, -30.0), fmt="%.2f",
               header=f"oracle max_log2 (clipped at -30), step {late_step}, layer {layer}, head {head}")
    save_png(x_a, os.path.join(a.out, "sample_A.png"))
    for name in SAVED_MAPS:
        path = os.path.join(a.out, f"maps_{name}.npz")
        np.savez_compressed(path + ".partial.npz", maps=maps_a[name].astype(np.float16), sigmas=sigmas,
                            layout=np.array("steps,layers,heads,q_tiles,k_tiles"), tile=a.tile)
        os.replace(path + ".partial.npz", path)
    log("wrote " + os.path.join(a.out, "realism.md"))
    print(open(os.path.join(a.out, "realism.md")).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
