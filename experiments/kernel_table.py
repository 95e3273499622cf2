#!/usr/bin/env python3
"""kernel_table.py: Markdown tables from a kernel_bench_<gpu>.csv (litelab bench + bench_peers.py).

usage: experiments/kernel_table.py KERNEL_BENCH_CSV   (the tables go to stdout)

    python3 experiments/kernel_table.py experiments/results/kernel_bench_h200.csv > experiments/results/kernel_bench_h200.md

Table 1, dense speed per shape: median ms and dense-equivalent TFLOP/s of every kernel.
Table 2, skipping: time at each kept fraction relative to the same kernel's dense time, for the
litelab kernels and FlexAttention, with the targets (portable: k + 0.03, hopper: k + 0.02;
full list vs dense: 3 % and 2 %), the production kernel and FlexAttention beside them.
Table 3, against FlashAttention-3 (when the CSV has fa3 rows): each skipping case's time over FA3's
dense time at that shape (target k + 0.01), and litelab's time over the production kernel's on
the same kind of mask and kept fraction (target <= 0.95; the two kernels use their own tiles, so
the kept fractions differ slightly and are shown). Every figure is read from the CSV; nothing is
typed in.
"""
import csv
import sys
from collections import defaultdict

TARGET_SLACK = {"portable": 0.03, "hopper": 0.02}


def family(kernel):
    for f in TARGET_SLACK:
        if kernel.startswith("litelab_" + f):
            return f
    return None


def main(path):
    rows = list(csv.DictReader(open(path)))
    if not rows or "kernel" not in rows[0]:
        sys.exit(f"kernel_table: {path}: not a kernel_bench CSV")
    shapes = []
    for r in rows:
        s = (int(r["B"]), int(r["H"]), int(r["N"]), int(r["D"]))
        if s not in shapes:
            shapes.append(s)
    kernels = []
    for r in rows:
        if r["kernel"] not in kernels:
            kernels.append(r["kernel"])
    dense = {}  # (kernel, shape) -> (ms, tflops)
    for r in rows:
        s = (int(r["B"]), int(r["H"]), int(r["N"]), int(r["D"]))
        if r["mode"] == "dense" or (r["kernel"] == "flex_attention" and r["mask"] == "full"):
            dense[(r["kernel"], s)] = (float(r["ms_median"]), float(r["tflops_dense_equiv"]))

    print(f"Dense attention, bf16, median ms (TFLOP/s counting 4·B·H·N²·D), from `{path.split('/')[-1]}`:\n")
    print("| shape (B, H, N, D) | " + " | ".join(kernels) + " |")
    print("|---|" + "---|" * len(kernels))
    for s in shapes:
        cells = []
        for k in kernels:
            v = dense.get((k, s))
            cells.append(f"{v[0]:.2f} ({v[1]:.0f})" if v else "")
        print(f"| {s} | " + " | ".join(cells) + " |")
    print("\n(flex_attention's dense figure is its full block mask.)\n")

    print("Skipping: time / the same kernel's dense time, at the kept fraction of the mask (target in brackets; "
          "**bold** = missed):\n")
    cases = defaultdict(dict)  # (shape, mask, target) -> kernel -> (kept, ratio)
    for r in rows:
        s = (int(r["B"]), int(r["H"]), int(r["N"]), int(r["D"]))
        if r["mask"] == "none":
            continue
        base = dense.get((r["kernel"], s))
        if not base:
            continue
        key = (s, r["mask"], float(r["target_kept"]) if r["target_kept"] else float(r["kept_fraction"]))
        cases[key][r["kernel"]] = (float(r["kept_fraction"]), float(r["ms_median"]) / base[0])
    sparse_kernels = [k for k in kernels if family(k) or k in ("production", "flex_attention")]
    print("| shape | mask | kept | " + " | ".join(sparse_kernels) + " |")
    print("|---|---|---|" + "---|" * len(sparse_kernels))
    for key in sorted(cases, key=lambda c: (shapes.index(c[0]), c[1], -c[2])):
        s, mask, target = key
        if mask == "full" and "flex_attention" in cases[key] and len(cases[key]) == 1:
            continue
        cells = []
        kept_shown = None
        for k in sparse_kernels:
            v = cases[key].get(k)
            if not v:
                cells.append("")
                continue
            kept, ratio = v
            kept_shown = kept_shown or kept
            f = family(k)
            if f:
                limit = 1 + TARGET_SLACK[f] if mask == "full" else kept + TARGET_SLACK[f]
                text = f"{ratio:.3f} (≤{limit:.3f})"
                cells.append(f"**{text}**" if ratio > limit else text)
            else:
                cells.append(f"{ratio:.3f}")
        print(f"| {s} | {mask} | {kept_shown:.3f} | " + " | ".join(cells) + " |")
    against_fa3(rows, shapes, dense)


def against_fa3(rows, shapes, dense):
    fa3 = {s: dense[("fa3", s)][0] for s in shapes if ("fa3", s) in dense}
    if not fa3:
        return
    litelab = [k for k in dict.fromkeys(r["kernel"] for r in rows) if family(k) == "hopper"]
    print("\nAgainst FlashAttention-3: time / FA3's dense time at the shape (target k + 0.01), and litelab / "
          "production on the same mask kind and target kept fraction (target <= 0.95; **bold** = missed):\n")
    print("| shape | mask | kernel | kept | ms | / FA3 dense | production kept | production ms | litelab / production |")
    print("|---|---|---|---|---|---|---|---|---|")
    prod = {}
    for r in rows:
        if r["kernel"] == "production":
            s = (int(r["B"]), int(r["H"]), int(r["N"]), int(r["D"]))
            prod[(s, r["mask"], r["target_kept"] or "1")] = (float(r["kept_fraction"]), float(r["ms_median"]))
    for r in rows:
        s = (int(r["B"]), int(r["H"]), int(r["N"]), int(r["D"]))
        if r["kernel"] not in litelab or s not in fa3:
            continue
        kept, ms = float(r["kept_fraction"]), float(r["ms_median"])
        ratio = ms / fa3[s]
        limit = kept + 0.01
        text = f"{ratio:.3f} (≤{limit:.3f})"
        p = prod.get((s, r["mask"] if r["mode"] != "dense" else "none", r["target_kept"] or "1"))
        if p:
            vs = ms / p[1]
            vs_text = f"{vs:.3f}" if vs <= 0.95 else f"**{vs:.3f}**"
            pcells = f"{p[0]:.3f} | {p[1]:.2f} | {vs_text}"
        else:
            pcells = " | | "
        print(f"| {s} | {r['mask']} | {r['kernel']} | {kept:.3f} | {ms:.2f} | "
              f"{'**' + text + '**' if ratio > limit else text} | {pcells} |")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0)
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("usage: experiments/kernel_table.py KERNEL_BENCH_CSV (--help)", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
