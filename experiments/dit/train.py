#!/usr/bin/env python3
"""train.py: train the small Wan DiT on procedural video with the rectified-flow loss.

Everything is a function of (--seed, step): the data of step k is video_data batch k, the
noise and label dropout of step k come from a generator seeded with (seed, k), so a run that
stops and resumes draws exactly what an uninterrupted run draws (GPU kernels such as the
attention backward may still differ in the last bits from run to run).

The run state (float32 weights, AdamW state, step, samples, elapsed time) is saved to
DIR/train_state.pt every --checkpoint-every seconds and at the end, atomically; a run
finding that file resumes from it. --seconds bounds this invocation's wall time, --steps
the whole run; the learning rate follows a linear warm-up and a cosine decay to 10% over
--steps. --export writes the bf16 weights (model.save_weights) when the invocation ends.

--init-weights continues from an exported checkpoint when the full run state is gone (a
fresh GPU machine): the weights are loaded, AdamW starts afresh with its own warm-up and
schedule over --steps, and the data and noise streams continue where that checkpoint's run
stopped (step k draws what step init_step + k of one long run would draw).

Examples:
  python3 experiments/dit/train.py --run-dir /tmp/dit --steps 2000 --seconds 330 --export dit.safetensors
  python3 experiments/dit/train.py --preset tiny --device cpu --run-dir /tmp/t --steps 20
"""
import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flow  # noqa: E402
import model as dit  # noqa: E402
import video_data  # noqa: E402

PRESETS = {
    # 16 frames x 64 x 64 pixels -> 16 x 32 x 32 = 16384 tokens, head dim 128 (Wan's)
    "default": (dit.DiTConfig(), video_data.ClipShape(16, 64, 64)),
    # CPU tests: 4 x 8 x 8 pixels -> 64 tokens
    "tiny": (dit.DiTConfig(heads=2, head_dim=32, layers=2, ffn_dim=64, text_dim=16), video_data.ClipShape(4, 8, 8)),
}
STATE_FILE = "train_state.pt"
MAX_SKIPPED = 20  # updates skipped for a non-finite loss before the run stops


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-dir", required=True, help="folder of the run state (created; resumed when it holds one)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--steps", type=int, required=True, help="total optimiser steps of the run")
    ap.add_argument("--seconds", type=float, default=math.inf, help="wall-time budget of this invocation")
    ap.add_argument("--stop-at", type=int, help="end this invocation at this step (the schedule stays --steps)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--label-dropout", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds between run-state saves")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--export", help="write the bf16 weights here at the end (safetensors)")
    ap.add_argument("--init-weights", help="start from this exported checkpoint (fresh optimiser; see above)")
    a = ap.parse_args(argv)
    if a.steps < 1 or a.batch < 1 or a.warmup < 0 or not a.lr > 0 or not 0 <= a.label_dropout < 1 or a.seed < 0:
        ap.error("--steps and --batch must be >= 1, --warmup and --seed >= 0, --lr > 0, --label-dropout in [0, 1)")
    if not a.seconds > 0 or not a.checkpoint_every > 0:
        ap.error("--seconds and --checkpoint-every must be > 0")
    if a.stop_at is not None and a.stop_at < 1:
        ap.error("--stop-at must be >= 1")
    return a


def learning_rate(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    progress = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def save_state(path, model, opt, step, samples, elapsed, a):
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "samples": samples,
             "elapsed": elapsed, "config": asdict(model.cfg), "preset": a.preset, "seed": a.seed,
             "batch": a.batch, "lr": a.lr, "steps": a.steps, "warmup": a.warmup, "init_weights": a.init_weights}
    tmp = path + ".partial"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path, model, opt, a):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file
        raise SystemExit(f"train: {path}: cannot read the run state ({e})")
    for key in ("preset", "seed", "batch", "lr", "steps", "warmup", "init_weights"):
        if state.get(key) != getattr(a, key):
            raise SystemExit(f"train: {path}: the run state has {key}={state.get(key)!r}, this command "
                             f"{getattr(a, key)!r}; use the same options or another --run-dir")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    return state["step"], state["samples"], state["elapsed"]


def continue_from(path, model, cfg, a):
    loaded, meta = dit.load_weights(path)
    if loaded.cfg != cfg or meta.get("preset") != a.preset or meta.get("seed") != str(a.seed):
        raise SystemExit(f"train: {path}: preset {meta.get('preset')!r}, seed {meta.get('seed')!r}, config "
                         f"{loaded.cfg} do not match this run ({a.preset!r}, {a.seed}, {cfg})")
    model.load_state_dict(loaded.state_dict())
    try:
        init = {"init_step": int(meta["step"]), "init_samples": int(meta["samples"]),
                "init_seconds": float(meta.get("train_seconds", 0))}
    except (KeyError, ValueError) as e:
        raise SystemExit(f"train: {path}: no step/samples in its metadata ({e})")
    print(f"train: continuing from {path}: step {init['init_step']}, {init['init_samples']} samples "
          f"(fresh optimiser)", flush=True)
    return init


def main(argv=None):
    a = parse_args(argv)
    cfg, shape = PRESETS[a.preset]
    dev = torch.device(a.device)
    os.makedirs(a.run_dir, exist_ok=True)
    state_path = os.path.join(a.run_dir, STATE_FILE)

    model = dit.build(cfg, a.seed).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=a.weight_decay)
    step, samples, elapsed_before = 0, 0, 0.0
    init = {"init_step": 0, "init_samples": 0, "init_seconds": 0.0}
    if a.init_weights:
        init = continue_from(a.init_weights, model, cfg, a)
    if os.path.exists(state_path):
        step, samples, elapsed_before = load_state(state_path, model, opt, a)
        print(f"train: resuming {state_path} at step {step} ({samples} samples, {elapsed_before:.0f} s so far)")
    tokens = shape.frames * (shape.height // 2) * (shape.width // 2)
    print(f"train: preset {a.preset}: {json.dumps(asdict(cfg))}, clip {shape}, {tokens} tokens, "
          f"{dit.parameter_count(model)} parameters, device {dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""), flush=True)

    t_start = time.time()
    t_saved = t_start
    window_t, window_samples, window_loss, window_n = time.time(), 0, 0.0, 0
    timed_samples, timed_seconds = 0, 0.0
    gen = torch.Generator(device=dev)
    skipped = 0
    stop_at = a.steps if a.stop_at is None else min(a.steps, a.stop_at)
    while step < stop_at and time.time() - t_start < a.seconds:
        t0 = time.time()
        stream = init["init_step"] + step  # the data and noise of this step
        x0, labels = video_data.generate(a.seed, stream, a.batch, shape, device=dev)
        gen.manual_seed(a.seed * 1_000_003 + stream)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, a)
        # bf16 autocast on the GPU (the run this script is for); float32 on the CPU, where
        # bf16 autocast is slow and only tests run.
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"), \
                dit.fast_attention(dev):
            loss = flow.training_loss(model, x0, labels, gen, a.label_dropout, model.null_class)
            opt.zero_grad(set_to_none=True)
            loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        loss_value = loss.item()  # also synchronises, so the step's time is measured
        step += 1
        samples += a.batch
        if not (math.isfinite(loss_value) and math.isfinite(grad_norm.item())):
            skipped += 1  # the update is not applied; the step's data is not drawn again
            print(f"train: step {step}: non-finite loss {loss_value} or gradient; update skipped", flush=True)
            if skipped > MAX_SKIPPED:
                print(f"train: more than {MAX_SKIPPED} skipped updates; stopping", flush=True)
                break
            continue
        opt.step()
        if step > 10:  # the first steps include allocator and kernel warm-up
            timed_samples += a.batch
            timed_seconds += time.time() - t0
        window_samples += a.batch
        window_loss += loss_value
        window_n += 1
        if step % a.log_every == 0 or step == a.steps:
            now = time.time()
            mem = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else 0.0
            print(f"step {step:6d}  loss {window_loss / window_n:.4f}  lr {learning_rate(step - 1, a):.2e}  "
                  f"{window_samples / (now - window_t):7.1f} samples/s  {now - t_start:6.0f} s  "
                  f"peak {mem:.1f} GiB", flush=True)
            window_t, window_samples, window_loss, window_n = now, 0, 0.0, 0
        if time.time() - t_saved >= a.checkpoint_every:
            save_state(state_path, model, opt, step, samples, elapsed_before + time.time() - t_start, a)
            t_saved = time.time()
    elapsed = elapsed_before + time.time() - t_start
    save_state(state_path, model, opt, step, samples, elapsed, a)
    rate = timed_samples / timed_seconds if timed_seconds > 0 else float("nan")
    print(f"train: stopped at step {step}/{a.steps}, {samples} samples, {elapsed:.0f} s of training in all; "
          f"this invocation {rate:.1f} samples/s (steps after the 10th), {skipped} updates skipped", flush=True)
    if a.export:
        extra = {"step": init["init_step"] + step, "samples": init["init_samples"] + samples, "preset": a.preset,
                 "seed": a.seed, "steps_planned": a.steps, "batch": a.batch, "lr": a.lr,
                 "train_seconds": f"{init['init_seconds'] + elapsed:.0f}"}
        if a.init_weights:
            extra.update(init_weights=os.path.basename(a.init_weights), init_step=init["init_step"],
                         steps_this_phase=step)
        dit.save_weights(model, a.export, extra=extra)
        print(f"train: wrote {a.export} ({os.path.getsize(a.export) / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
