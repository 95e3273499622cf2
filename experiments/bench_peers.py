#!/usr/bin/env python3
"""bench_peers.py: the PyTorch peers of `litelab bench`, timed the same way.

Peers (kernel column):
  torch_sdpa_flash   F.scaled_dot_product_attention under SDPBackend.FLASH_ATTENTION (FA2), dense
  torch_sdpa_cudnn   the same under SDPBackend.CUDNN_ATTENTION, dense
  flex_attention     FlexAttention block-sparse: a BlockMask of 128x128 blocks built from the
                     same kinds of masks as litelab bench (lib/bench_cases.h): full, random
                     (each query block keeps round(kept * kv_blocks) random kv blocks, at least
                     one) and banded (kv blocks within w tokens of the query block's centre
                     token, w the narrowest half-width whose kept fraction is closest to the
                     target). flex_attention is compiled with torch.compile once per shape;
                     the compile time is printed and excluded from the timing.

Every case: warm-up calls, then --reps calls each timed with a torch.cuda.Event pair;
median and minimum reported. Inputs rotate through several buffer sets when one set
would fit in L2. Rows are appended to the CSV that `litelab bench` writes (same columns;
the file is created with the header when missing).

Usage (on the GPU machine; experiments/bench_kernel.sh runs it after litelab bench):
  python3 experiments/bench_peers.py [--quick] [--shapes ...] [--kept ...] -o CSV
Exit codes as litelab's: 0 ok, 2 usage, 4 I/O, 5 foreign CSV, 7 no usable GPU.
"""
import argparse
import math
import os
import statistics
import sys
import time

CSV_HEADER = ("kernel,gpu,dtype,B,H,N,D,kept_fraction,mask,mode,ms_median,ms_min,tflops_dense_equiv,"
              "tflops_executed,target_kept,block_m,block_n,reps,timer,version")
PRESETS = {  # name: (B, H, N, D), as in lib/bench_cases.c
    "wan720": (1, 40, 75600, 128),
    "wan480": (1, 40, 32760, 128),
    "h24d64": (1, 24, 32760, 64),
}
FLEX_BLOCK = 128
EXIT_USAGE, EXIT_IO, EXIT_FORMAT, EXIT_NO_GPU, EXIT_CUDA = 2, 4, 5, 7, 8


def fail(code, msg):
    print(f"bench_peers: {msg}", file=sys.stderr)
    sys.exit(code)


# ---------------------------------------------------------------------------
# Options (the same lists and checks as litelab bench).

def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        if item in PRESETS:
            shapes.append((item, PRESETS[item]))
            continue
        parts = item.split("x")
        if len(parts) != 4 or not all(p.isdigit() and int(p) >= 1 for p in parts):
            raise argparse.ArgumentTypeError(
                f"--shapes: '{item}' is neither a preset ({', '.join(PRESETS)}) nor BxHxNxD")
        B, H, N, D = map(int, parts)
        if D not in (64, 96, 128):
            raise argparse.ArgumentTypeError(f"--shapes: '{item}': head dim {D} not supported (64, 96 or 128)")
        shapes.append((item, (B, H, N, D)))
    return shapes


def parse_fractions(text):
    out = []
    for item in text.split(","):
        try:
            v = float(item)
        except ValueError:
            v = float("nan")
        if not (0.0 < v <= 1.0):
            raise argparse.ArgumentTypeError(f"--kept: '{item}' is not a fraction in (0, 1]")
        out.append(v)
    return out


def parse_masks(text):
    out = text.split(",")
    for m in out:
        if m not in ("random", "banded"):
            raise argparse.ArgumentTypeError(f"--masks: unknown mask '{m}' (expected random or banded)")
    if len(set(out)) != len(out):
        raise argparse.ArgumentTypeError("--masks: a mask is listed twice")
    return out


def parse_peers(text):
    out = text.split(",")
    for p in out:
        if p not in ("sdpa_flash", "sdpa_cudnn", "flex"):
            raise argparse.ArgumentTypeError(f"--peers: unknown peer '{p}' (sdpa_flash, sdpa_cudnn, flex)")
    return out


def parse_reps(text):
    if not text.isdigit() or int(text) < 10:
        raise argparse.ArgumentTypeError(f"--reps: '{text}' is not an integer >= 10 (the median needs 10 runs)")
    return int(text)


def parse_warmup(text):
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"--warmup: '{text}' is not an integer in [1, 1000]")
    return int(text)


def gpu_short_name(full):
    """'NVIDIA H100 80GB HBM3' -> 'h100', as ll_gpu_short_name in lib/bench_cases.c."""
    out = ""
    for word in full.split():
        if word.lower() in ("nvidia", "geforce", "tesla", "quadro"):
            continue
        word = word.split("-")[0]
        out += "".join(c.lower() for c in word if c.isascii() and c.isalnum())
        if any(c.isdigit() for c in word):
            break
    return out or "gpu"


# ---------------------------------------------------------------------------
# Masks at block level, [B, H, q_blocks, kv_blocks] booleans.

def band_tiles(N, bm, bn, qt, w):
    """Key blocks [lo, hi] within w tokens of query block qt's centre token (ll_bench_band_tiles)."""
    k_tiles = -(-N // bn)
    rows = min(bm, N - qt * bm)
    centre = qt * bm + (rows - 1) // 2
    first, last = centre - w, centre + w
    lo = 0 if first <= 0 else first // bn
    hi = min(k_tiles - 1, last // bn)
    return lo, hi


def band_half_width(N, bm, bn, kept):
    """The narrowest half-width whose kept fraction is closest to kept (ll_bench_band_half_width)."""
    q_tiles, k_tiles = -(-N // bm), -(-N // bn)
    total = q_tiles * k_tiles

    def kept_tiles(w):
        return sum(hi - lo + 1 for lo, hi in (band_tiles(N, bm, bn, qt, w) for qt in range(q_tiles)))

    def first_reaching(want):
        lo, hi = 0, N
        while lo < hi:
            mid = (lo + hi) // 2
            if kept_tiles(mid) >= want:
                hi = mid
            else:
                lo = mid + 1
        return lo

    want = kept * total
    w = first_reaching(math.ceil(want - 1e-9))
    if w > 0:
        above, below = kept_tiles(w), kept_tiles(w - 1)
        if abs(below - want) < abs(above - want):
            w = first_reaching(below)
    return w


def build_mask(torch, kind, B, H, N, kept, seed, device):
    qb, kb = -(-N // FLEX_BLOCK), -(-N // FLEX_BLOCK)
    if kind == "full":
        return torch.ones(B, H, qb, kb, dtype=torch.bool, device=device)
    if kind == "banded":
        w = band_half_width(N, FLEX_BLOCK, FLEX_BLOCK, kept)
        bounds = torch.tensor([band_tiles(N, FLEX_BLOCK, FLEX_BLOCK, q, w) for q in range(qb)], device=device)
        cols = torch.arange(kb, device=device)
        m = (cols[None, :] >= bounds[:, :1]) & (cols[None, :] <= bounds[:, 1:])
        return m.expand(B, H, qb, kb).contiguous()
    per_row = min(kb, max(1, round(kept * kb)))
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    order = torch.rand(B, H, qb, kb, generator=gen, device=device).argsort(dim=-1)
    m = torch.zeros(B, H, qb, kb, dtype=torch.bool, device=device)
    m.scatter_(-1, order[..., :per_row], True)
    return m


def block_mask_from(torch, BlockMask, m, N):
    """Every kept block is a full block (no mask_mod evaluated inside it)."""
    counts = m.sum(dim=-1, dtype=torch.int32)
    # Kept block indices first, ascending; the rest of each row is ignored past counts.
    kb = m.shape[-1]
    key = (~m).to(torch.int64) * kb + torch.arange(kb, device=m.device)
    indices = key.argsort(dim=-1).to(torch.int32).contiguous()
    zeros = torch.zeros_like(counts)
    return BlockMask.from_kv_blocks(zeros, indices.clone(), full_kv_num_blocks=counts, full_kv_indices=indices,
                                    BLOCK_SIZE=FLEX_BLOCK, seq_lengths=(N, N))


def executed_flops(torch, m, N, D):
    """Exact FLOPs of the kept blocks, partial last blocks with their real size (as lib/flops.h)."""
    nb = m.shape[-1]
    size = torch.full((nb,), float(FLEX_BLOCK), dtype=torch.float64, device=m.device)
    size[-1] = N - (nb - 1) * FLEX_BLOCK
    per_q = (m.to(torch.float64) * size).sum(dim=-1)  # kept key columns per query block
    return int(round(4.0 * D * float((per_q * size).sum().item())))


# ---------------------------------------------------------------------------
# Timing.

def time_calls(torch, fn, n_sets, warmup, reps):
    for i in range(warmup):
        fn(i % n_sets)
    torch.cuda.synchronize()
    times = []
    for r in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(r % n_sets)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times), min(times)


def open_csv(path):
    if os.path.exists(path) and os.path.getsize(path) > 0:
        with open(path) as f:
            header = f.readline().rstrip("\r\n")
        if header != CSV_HEADER:
            fail(EXIT_FORMAT, f"{path}: its header is not litelab bench's columns; not appending to it")
        return open(path, "a")
    f = open(path, "w")
    f.write(CSV_HEADER + "\n")
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", type=parse_shapes, default=None,
                    help="presets or BxHxNxD, comma-separated (default wan720,wan480,h24d64)")
    ap.add_argument("--kept", type=parse_fractions, default=None, help="kept fractions (default 1,0.75,0.5,0.25,0.1)")
    ap.add_argument("--masks", type=parse_masks, default=parse_masks("random,banded"), help="random,banded")
    ap.add_argument("--peers", type=parse_peers, default=parse_peers("sdpa_flash,sdpa_cudnn,flex"),
                    help="sdpa_flash,sdpa_cudnn,flex (default all)")
    ap.add_argument("--reps", type=parse_reps, default=10, help="timed calls per case, >= 10 (default 10)")
    ap.add_argument("--warmup", type=parse_warmup, default=None, help="untimed calls first (default 3)")
    ap.add_argument("--dtype", choices=("bf16", "fp16"), default="bf16")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--quick", action="store_true", help="wan480, kept 1,0.5,0.1 (options given still win)")
    ap.add_argument("-o", "--output", default=None,
                    help="CSV to append to (default experiments/results/kernel_bench_<gpu>.csv)")
    args = ap.parse_args()
    shapes = args.shapes or parse_shapes("wan480" if args.quick else "wan720,wan480,h24d64")
    kept_list = args.kept or parse_fractions("1,0.5,0.1" if args.quick else "1,0.75,0.5,0.25,0.1")
    warmup = args.warmup or (2 if args.quick else 3)

    try:
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.nn.attention.flex_attention import BlockMask, flex_attention
    except ImportError as e:
        fail(EXIT_USAGE, f"PyTorch with FlexAttention is needed: {e}")
    if not torch.cuda.is_available():
        fail(EXIT_NO_GPU, "no usable GPU: torch.cuda.is_available() is False")

    device = torch.device("cuda")
    props = torch.cuda.get_device_properties(device)
    gpu = gpu_short_name(props.name)
    path = args.output or os.path.join("experiments", "results", f"kernel_bench_{gpu}.csv")
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    version = f"torch {torch.__version__}" + (f" cudnn {cudnn}" if cudnn else "")
    print(f"bench_peers: {props.name} ({gpu}), {version}, CSV {path}")
    try:
        out = open_csv(path)
    except OSError as e:
        fail(EXIT_IO, f"{path}: cannot open: {e.strerror}")
    l2 = getattr(props, "L2_cache_size", 0)
    compiled_flex = torch.compile(flex_attention, dynamic=False)
    rows = []

    def record(kernel, name, B, H, N, D, kept_frac, mask, mode, med, mn, flops_exec, target, bm, bn):
        dense = 4 * B * H * N * N * D
        row = dict(kernel=kernel, shape=name, B=B, H=H, N=N, D=D, kept=kept_frac, mask=mask, mode=mode, med=med,
                   mn=mn, tf_dense=dense / (med * 1e-3) / 1e12, tf_exec=flops_exec / (med * 1e-3) / 1e12)
        rows.append(row)
        out.write(f"{kernel},{gpu},{args.dtype},{B},{H},{N},{D},{kept_frac:.6f},{mask},{mode},{med:.6f},{mn:.6f},"
                  f"{row['tf_dense']:.3f},{row['tf_exec']:.3f},{target:.4f},{bm},{bn},{args.reps},cuda_event,"
                  f"{version}\n")
        out.flush()
        print(f"  {kernel:17s} {name:8s} {mode:12s} {mask:6s} kept {kept_frac:.3f} (target {target:.2f})  "
              f"median {med:9.3f} ms  min {mn:9.3f} ms  {row['tf_dense']:7.1f} TFLOP/s dense-equiv  "
              f"{row['tf_exec']:7.1f} executed", flush=True)

    for name, (B, H, N, D) in shapes:
        set_bytes = 4 * B * H * N * D * 2
        n_sets = 1 if set_bytes >= 2 * l2 else min(16, -(-4 * l2 // set_bytes))
        gen = torch.Generator(device=device)
        gen.manual_seed(args.seed)
        try:  # SDPA and flex take [B, H, N, D]
            q = torch.randn(B, H, N, D, dtype=dtype, device=device, generator=gen)
            k = torch.randn(B, H, N, D, dtype=dtype, device=device, generator=gen)
            v = torch.randn(B, H, N, D, dtype=dtype, device=device, generator=gen)
            sets = [(q, k, v)] + [(q.clone(), k.clone(), v.clone()) for _ in range(n_sets - 1)]
        except torch.OutOfMemoryError as e:
            fail(6, f"{name}: out of GPU memory for the inputs: {e}")
        print(f"{name}: B={B} H={H} N={N} D={D} {args.dtype}, {n_sets} input set(s), "
              f"{warmup} warm-up + {args.reps} timed calls")
        dense_flops = 4 * B * H * N * N * D

        for peer, backend in (("sdpa_flash", SDPBackend.FLASH_ATTENTION), ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION)):
            if peer not in args.peers:
                continue

            def sdpa(i):
                return F.scaled_dot_product_attention(*sets[i])
            try:  # the backend is chosen outside the timed calls
                with sdpa_kernel(backend), torch.cuda.nvtx.range(f"bench torch_{peer} {name}"):
                    med, mn = time_calls(torch, sdpa, n_sets, warmup, args.reps)
            except RuntimeError as e:  # backend not available for this GPU/shape/dtype: say so, go on
                print(f"  torch_{peer} {name}: skipped, the backend refused: {str(e).splitlines()[0]}")
                continue
            record(f"torch_{peer}", name, B, H, N, D, 1.0, "none", "dense", med, mn, dense_flops, 1.0, "", "")

        if "flex" in args.peers:
            cases = [("full", 1.0)] + [(m, f) for m in args.masks for f in kept_list if f < 1.0]
            compiled_once = False
            for mask_kind, target in cases:
                m = build_mask(torch, mask_kind, B, H, N, target, args.seed, device)
                bmask = block_mask_from(torch, BlockMask, m, N)
                kept_frac = m.sum().item() / m.numel()
                flops = executed_flops(torch, m, N, D)

                def flex(i, bmask=bmask):
                    return compiled_flex(*sets[i], block_mask=bmask)
                if not compiled_once:  # compile for this shape, excluded from the timing
                    t0 = time.time()
                    o = flex(0)
                    torch.cuda.synchronize()
                    print(f"  flex_attention {name}: torch.compile took {time.time() - t0:.1f} s (excluded)")
                    compiled_once = True
                o = flex(0)
                if not torch.isfinite(o).all().item():
                    fail(EXIT_CUDA, f"flex_attention {name} {mask_kind} kept {target}: output has NaN/Inf")
                del o
                with torch.cuda.nvtx.range(f"bench flex_attention {name} {mask_kind} {target:.2f}"):
                    med, mn = time_calls(torch, flex, n_sets, warmup, args.reps)
                record("flex_attention", name, B, H, N, D, kept_frac, mask_kind, "block_sparse", med, mn, flops,
                       target, FLEX_BLOCK, FLEX_BLOCK)
        del sets, q, k, v
        torch.cuda.empty_cache()

    out.close()
    print(f"\n{'kernel':17s} {'shape':8s} {'mode':12s} {'mask':6s} {'kept':>6s} {'median_ms':>10s} {'min_ms':>10s} "
          f"{'TF_dense':>8s} {'TF_exec':>8s}")
    for r in rows:
        print(f"{r['kernel']:17s} {r['shape']:8s} {r['mode']:12s} {r['mask']:6s} {r['kept']:6.3f} {r['med']:10.3f} "
              f"{r['mn']:10.3f} {r['tf_dense']:8.1f} {r['tf_exec']:8.1f}")
    print(f"appended {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
