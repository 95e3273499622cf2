#!/usr/bin/env bash
# peers.sh: the optional peers of the kernel benchmarks (FlashAttention-3 and the production
# LiteAttention kernel), prepared on the build machine and carried to the GPU machine, which
# has no network. Nothing of theirs is committed: this script fetches and packs them.
#
#   usage: experiments/peers.sh prepare DIR [KIT] | unpack DIR | --help
#
#   experiments/peers.sh prepare DIR [KIT]   build machine: DIR/fa3 from the PyPI wheel fa3-fwd
#                                            0.0.3, DIR/production from the peer kit KIT (default
#                                            ../shared/peers/liteattention: its Python package and
#                                            the extension it prebuilt from the same source with
#                                            nvcc 13.0.88 and torch 2.11). Shared objects are
#                                            xz-compressed (FA3's 105 MB .so packs to 10 MB), so
#                                            DIR fits the GPU tool's 64 MiB transfer limit.
#   experiments/peers.sh unpack DIR          GPU machine: decompresses them; then
#                                            LITELAB_FA3_PATH=DIR/fa3 LITELAB_PRODUCTION_PATH=DIR/production
#
# experiments/bench_peers.py finds the peers through those variables (or --fa3-path,
# --production-path) and skips each with a message when it is absent.
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in
-h|--help) usage; exit 0 ;;
prepare)
    [ $# -ge 2 ] || { echo "peers.sh prepare: give the output folder" >&2; exit 2; }
    dir=$2
    kit=${3:-$(dirname "$0")/../../shared/peers/liteattention}
    [ -f "$kit/prebuilt/_C.abi3.so.xz" ] || { echo "peers.sh: $kit is not the LiteAttention peer kit" >&2; exit 2; }
    rm -rf "$dir/fa3" "$dir/production"
    mkdir -p "$dir/fa3" "$dir/production/lite_attention/_internal"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download -q --no-deps --only-binary=:all: fa3-fwd==0.0.3 -d "$tmp"
    python3 -m zipfile -e "$tmp"/fa3_fwd-*.whl "$tmp/fa3"
    cp -r "$tmp/fa3/fa3_fwd_interface.py" "$tmp/fa3/fa3_fwd_config.py" "$tmp/fa3/fa3_fwd" "$dir/fa3/"
    xz -T2 -6 "$dir/fa3/fa3_fwd/_C.abi3.so"
    src=$kit/src/hopper
    cp "$src/__init__.py" "$src/lite_attention.py" "$dir/production/lite_attention/"
    cp "$src/_internal/__init__.py" "$src/_internal/flash_attn_interface.py" "$dir/production/lite_attention/_internal/"
    cp "$kit/prebuilt/_C.abi3.so.xz" "$kit/prebuilt/SHA256SUMS" "$dir/production/lite_attention/"
    echo "prebuilt by the peer kit from moonmath-ai/LiteAttention f316493 (release 0.2.0)" > "$dir/production/BUILD_KIND"
    du -sh "$dir"
    ;;
unpack)
    [ $# -ge 2 ] || { echo "peers.sh unpack: give the folder" >&2; exit 2; }
    find "$2" -name '*.so.xz' | while read -r f; do
        python3 -c "import lzma,sys; open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" "$f" "${f%.xz}"
    done
    if [ -f "$2/production/lite_attention/SHA256SUMS" ]; then
        (cd "$2/production/lite_attention" && sha256sum -c SHA256SUMS)
    fi
    ;;
*) echo "peers.sh: unknown command '$1' (prepare or unpack)" >&2; exit 2 ;;
esac
