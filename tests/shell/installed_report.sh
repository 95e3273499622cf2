#!/usr/bin/env bash
# installed_report.sh PREFIX: an installed litelab (make install PREFIX=...) works away from
# the checkout. From an empty folder, with LITELAB_GNUPLOT_DIR unset, PREFIX/bin/litelab runs
# a tiny CPU experiment (one layer) and `litelab report` draws its figures with the gnuplot
# scripts it finds beside itself (PREFIX/share/litelab/gnuplot). The same program copied
# without the scripts must say that it cannot find them (so the first check can fail).
set -euo pipefail
[ $# -eq 1 ] && [ -x "$1/bin/litelab" ] || { echo "usage: $0 PREFIX (with PREFIX/bin/litelab)" >&2; exit 2; }
prefix=$(cd "$1" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/litelab_installed_XXXXXX")
trap 'rm -rf "$work"' EXIT
unset LITELAB_GNUPLOT_DIR
cd "$work"
fail() { echo "installed_report.sh: FAILED: $*" >&2; exit 1; }

cat > tiny.json <<'JSON'
{"name": "installed", "trajectory": {"synthetic": "tiny", "seed": 1, "steps": 2, "layers": 1},
 "backend": "cpu", "tiling": {"block_m": 32, "block_n": 32},
 "record": {"masks": {"steps": "all", "layers": [0]}, "tile_maps": {"steps": [0], "layers": [0]}},
 "policies": [{"name": "dense", "kind": "dense"}, {"name": "lite", "kind": "lite", "threshold": -5}]}
JSON
"$prefix/bin/litelab" run tiny.json -o tiny.h5 --quiet || fail "litelab run exited $?"
"$prefix/bin/litelab" report tiny.h5 -o report -q || fail "litelab report exited $?"
for f in report.md runtime_vs_skipped.png skipped_per_step.png sparsity_lite.png mask_heatmap.png; do
    [ -s "report/$f" ] || fail "report/$f missing or empty"
done
grep -q "$prefix/share/litelab/gnuplot/" report/replot.sh || fail "report/replot.sh does not use $prefix/share/litelab/gnuplot"

mkdir -p alone/bin
cp "$prefix/bin/litelab" alone/bin/
rc=0
alone/bin/litelab report tiny.h5 -o report_alone -q 2> alone.err || rc=$?
[ "$rc" -eq 4 ] && grep -q "gnuplot scripts not found" alone.err ||
    fail "without its scripts, report exited $rc: $(cat alone.err)"
echo "installed_report.sh: an installed litelab ran and drew its report ($prefix)"
