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
  fa3                FlashAttention-3 forward (the PyPI `fa3-fwd` build of upstream hopper/), dense;
                     an optional peer: the folder holding fa3_fwd_interface.py comes from
                     --fa3-path or $LITELAB_FA3_PATH; skipped with a message when absent.
  production         the production LiteAttention kernel (moonmath-ai/LiteAttention release 0.2.0,
                     built by the peer kit), optional likewise (--production-path or
                     $LITELAB_PRODUCTION_PATH: the folder holding the lite_attention package):
                     its dense path (no lists), and skip mode at its own tiles (128 x 176 at
                     D=128, 192 x 192 at D=64) over full lists and the same kinds of masks,
                     written as its end-inclusive lists, threshold -1e30 so the lists stay as
                     built (the write list is written, as in a real step).

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
ALL_PEERS = ("sdpa_flash", "sdpa_cudnn", "flex", "fa3", "production")
# The production kernel's tiles at 16-bit dtypes (LiteAttention.get_MN of release 0.2.0).
PRODUCTION_TILES = {64: (192, 192), 96: (192, 144), 128: (128, 176)}
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
        if p not in ALL_PEERS:
            raise argparse.ArgumentTypeError(f"--peers: unknown peer '{p}' ({', '.join(ALL_PEERS)})")
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


def build_mask(torch, kind, B, H, N, kept, seed, device, bm=FLEX_BLOCK, bn=FLEX_BLOCK):
    qb, kb = -(-N // bm), -(-N // bn)
    if kind == "full":
        return torch.ones(B, H, qb, kb, dtype=torch.bool, device=device)
    if kind == "banded":
        w = band_half_width(N, bm, bn, kept)
        bounds = torch.tensor([band_tiles(N, bm, bn, q, w) for q in range(qb)], device=device)
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


def executed_flops(torch, m, N, D, bm=FLEX_BLOCK, bn=FLEX_BLOCK):
    """Exact FLOPs of the kept blocks, partial last blocks with their real size (as lib/flops.h)."""
    def sizes(n_blocks, block):
        size = torch.full((n_blocks,), float(block), dtype=torch.float64, device=m.device)
        size[-1] = N - (n_blocks - 1) * block
        return size
    per_q = (m.to(torch.float64) * sizes(m.shape[-1], bn)).sum(dim=-1)  # kept key columns per query block
    return int(round(4.0 * D * float((per_q * sizes(m.shape[-2], bm)).sum().item())))


def production_lists(torch, m):
    """The production kernel's read list for a block mask [B, H, q_tiles, k_tiles]: per row
    [len, start0, end0, ...], ranges of kept key tiles walked from the highest tile down, both
    ends computed (release 0.2.0's reading). Fails when a row needs more than k_tiles entries."""
    B, H, qb, kb = m.shape
    rev = m.flip(-1).reshape(-1, kb)  # visiting order: tile kb-1 first
    prev = torch.nn.functional.pad(rev[:, :-1], (1, 0), value=False)
    nxt = torch.nn.functional.pad(rev[:, 1:], (0, 1), value=False)
    is_start, is_end = rev & ~prev, rev & ~nxt
    entries = is_start.to(torch.int32) + is_end.to(torch.int32)
    before = torch.cumsum(entries, dim=-1) - entries  # entries written before position j
    total = entries.sum(dim=-1)
    if int(total.max().item()) > kb:
        raise ValueError(f"a row needs {int(total.max().item())} list entries, the layout holds {kb}")
    tile = (kb - 1 - torch.arange(kb, device=m.device, dtype=torch.int32)).expand_as(rev)
    out = torch.zeros(rev.shape[0], kb + 2, dtype=torch.int32, device=m.device)  # last column: discarded
    dump = kb + 1
    slot_start = torch.where(is_start, 1 + before, torch.full_like(before, dump))
    slot_end = torch.where(is_end, 1 + before + is_start.to(before.dtype), torch.full_like(before, dump))
    out.scatter_(1, slot_start.long(), tile)
    out.scatter_(1, slot_end.long(), tile)
    out[:, 0] = total
    return out[:, :kb + 1].reshape(B, H, qb, kb + 1).contiguous()


def import_peer(module, flag, env, path):
    """Imports an optional peer from a folder (flag or environment variable); None with a message
    when it is not given or does not import."""
    folder = path or os.environ.get(env)
    if not folder:
        print(f"bench_peers: {module}: skipped (give {flag} or ${env})")
        return None
    if not os.path.isdir(folder):
        print(f"bench_peers: {module}: skipped, {folder} is not a folder")
        return None
    sys.path.insert(0, os.path.abspath(folder))
    try:
        return __import__(module)
    except Exception as e:  # a missing .so, an ABI mismatch: say which, go on without it
        print(f"bench_peers: {module}: skipped, importing it from {folder} failed: {e}")
        return None


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
    ap.add_argument("--peers", type=parse_peers, default=parse_peers(",".join(ALL_PEERS)),
                    help=",".join(ALL_PEERS) + " (default all; fa3 and production only where found)")
    ap.add_argument("--fa3-path", default=None, help="folder holding fa3_fwd_interface.py ($LITELAB_FA3_PATH)")
    ap.add_argument("--production-path", default=None,
                    help="folder holding the lite_attention package ($LITELAB_PRODUCTION_PATH)")
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
    fa3 = import_peer("fa3_fwd_interface", "--fa3-path", "LITELAB_FA3_PATH", args.fa3_path) \
        if "fa3" in args.peers else None
    production = import_peer("lite_attention", "--production-path", "LITELAB_PRODUCTION_PATH",
                             args.production_path) if "production" in args.peers else None
    if production is not None:
        from lite_attention._internal.flash_attn_interface import flash_attn_func as production_call
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
        if fa3 is not None or production is not None:
            # FA3 and the production kernel take [B, N, H, D], as litelab does.
            nhd = [tuple(x.transpose(1, 2).contiguous() for x in st) for st in sets]
            scale = 1.0 / math.sqrt(D)
        if fa3 is not None:
            def fa3_dense(i):
                return fa3.flash_attn_func(*nhd[i], softmax_scale=scale)
            with torch.cuda.nvtx.range(f"bench fa3 {name}"):
                med, mn = time_calls(torch, fa3_dense, n_sets, warmup, args.reps)
            record("fa3", name, B, H, N, D, 1.0, "none", "dense", med, mn, dense_flops, 1.0, "", "")
        if production is not None and D in PRODUCTION_TILES:
            def production_dense(i):
                return production_call(*nhd[i], softmax_scale=scale)
            with torch.cuda.nvtx.range(f"bench production dense {name}"):
                med, mn = time_calls(torch, production_dense, n_sets, warmup, args.reps)
            record("production", name, B, H, N, D, 1.0, "none", "dense", med, mn, dense_flops, 1.0, "", "")
            bm, bn = PRODUCTION_TILES[D]
            cases = [("full", 1.0)] + [(mk, f) for mk in args.masks for f in kept_list if f < 1.0]
            for mask_kind, target in cases:
                m = build_mask(torch, mask_kind, B, H, N, target, args.seed, device, bm, bn)
                try:
                    read = production_lists(torch, m)
                except ValueError as e:
                    print(f"  production {name} {mask_kind} kept {target}: skipped, {e}")
                    continue
                write = torch.empty_like(read)
                # The wrapper's "empty must-do list", as LiteAttention passes it.
                must_do = torch.zeros_like(read)
                must_do[..., 0] = 2
                kept_frac = m.sum().item() / m.numel()
                flops = executed_flops(torch, m, N, D, bm, bn)

                def production_skip(i, read=read, write=write, must_do=must_do):
                    return production_call(*nhd[i], softmax_scale=scale, attn_read_list=read,
                                           attn_must_do_list=must_do, attn_write_list=write, thr=-1e30)
                with torch.cuda.nvtx.range(f"bench production {name} {mask_kind} {target:.2f}"):
                    med, mn = time_calls(torch, production_skip, n_sets, warmup, args.reps)
                # At threshold -1e30 nothing is marked, so the list the kernel writes should be the one it
                # read: a check that it walked our lists (rows compared up to their own length).
                pos = torch.arange(read.shape[-1], device=device)
                valid = pos <= read[..., :1]
                same = ((read == write) | ~valid).all(dim=-1).float().mean().item()
                print(f"  production {name} {mask_kind} kept {kept_frac:.3f}: write list equals read list "
                      f"in {100 * same:.2f}% of rows")
                record("production", name, B, H, N, D, kept_frac, mask_kind, "skip", med, mn, flops, target, bm, bn)
        elif production is not None:
            print(f"  production {name}: skipped, no production tiles for D={D}")
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
