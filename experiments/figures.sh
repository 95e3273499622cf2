# figures.sh: the figures of each experiment, drawn from its results folder (sourced by
# exp_common.sh, so every experiment script has these; the scripts call them at the end of their
# finish part, and redraw_figures.sh redraws kept results with them). Each function takes the
# results folder; titles and subtitles come from the traces and files there (the traces' shape,
# maps and hardware: `caption`), never from this file.
#
#   usage: source experiments/figures.sh   (through experiments/exp_common.sh)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run, not sourced
    sed -n '2,/^if /p' "$0" | sed '$d; s/^# \{0,1\}//'
    case "${1:-}" in -h|--help) exit 0 ;; *) exit 2 ;; esac
fi

# threshold_sweep_figures DIR: litelab report of DIR/sweep.h5 into DIR/report.
threshold_sweep_figures() {
    report "$1/sweep.h5" "$1/report"
}

# ablation_figures DIR: litelab report of DIR/refine.h5 (when kept) into DIR/report, and
# DIR/ablation.png: time relative to dense against sparsity (experiments/ablation.gp).
ablation_figures() {
    local dir=$1 title="Self-attention time against sparsity" subtitle=""
    [ "$EXP_SMOKE" = 1 ] && title="$title (CPU smoke test)"
    if [ -f "$dir/refine.h5" ]; then
        report "$dir/refine.h5" "$dir/report"
        subtitle="LiteAttention points: $(caption "$dir/refine.h5")"
    fi
    plot "$dir" "$EXP_DIR/ablation.gp" \
        "data='ablation_points.dat'; out_png='ablation.png'; out_svg='ablation.svg'; plot_title='$title'; subtitle='$subtitle'"
}

# policy_comparison_figures DIR: litelab report of DIR/matched.h5 into DIR/report, heatmaps at
# the steps the experiment recorded masks at (DIR/matched.json).
policy_comparison_figures() {
    local steps
    steps=$($PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["record"]["masks"]["steps"]; print(",".join(map(str, s)))' \
        "$1/matched.json")
    REPORT_OPTS=(--heatmap-steps "$steps")
    report "$1/matched.h5" "$1/report"
    REPORT_OPTS=()
}

# scaling_figures DIR: DIR/scaling.png, time per call against N (experiments/scaling.gp); the
# subtitle from the runs' report.json, else from the configs that ran and provenance.txt.
scaling_figures() {
    local dir=$1 title="Time per call against sequence length" subtitle docs
    [ "$EXP_SMOKE" = 1 ] && title="$title (CPU smoke test)"
    docs=$(ls "$dir"/N*/report.json 2>/dev/null || true)
    if [ -n "$docs" ]; then
        subtitle=$(caption $docs)
    else
        subtitle=$($PY "$TOOLS" config-caption "$dir/provenance.txt" "$dir"/N*/config.json)
    fi
    plot "$dir" "$EXP_DIR/scaling.gp" \
        "data='scaling.dat'; out_png='scaling.png'; out_svg='scaling.svg'; plot_title='$title'; subtitle='$subtitle'"
}

# calibration_figures DIR: litelab report of both replays (DIR/per_step/verified.h5 and
# DIR/accumulated/verified.h5, under names that tell them apart) into DIR/report, and
# DIR/calibration.png: predicted and replayed skipped FLOPs per step (experiments/calibration.gp).
calibration_figures() {
    local dir=$1 subtitle
    cp "$dir/per_step/verified.h5" "$dir/per_step_replay.h5"
    cp "$dir/accumulated/verified.h5" "$dir/accumulated_replay.h5"
    report "$dir/per_step_replay.h5" "$dir/accumulated_replay.h5" "$dir/report"
    rm "$dir/per_step_replay.h5" "$dir/accumulated_replay.h5"
    subtitle="Replays: $(caption "$dir/per_step/verified.h5" "$dir/accumulated/verified.h5")"
    plot "$dir" "$EXP_DIR/calibration.gp" "out_png='calibration.png'; out_svg='calibration.svg'; subtitle='$subtitle'"
}

# dit_figures DIR: DIR/realism.png, the trained DiT's real-likeness checks (experiments/dit/realism.gp)
# from the data files check_realism.py wrote; the GPU from DIR/provenance.txt.
dit_figures() {
    local dir=$1 gpu
    gpu=$(sed -n 's/^GPU: \([^(,]*\).*/\1/p' "$dir/provenance.txt" | head -1 | sed 's/ *$//')
    plot "$dir" "$EXP_DIR/dit/realism.gp" \
        "dir='.'; out_png='realism.png'; out_svg='realism.svg'; threshold=-10; subtitle='Maps: the trained Wan DiT of experiments/dit (checkpoint dit.safetensors) and its random initial state; attention computed with PyTorch on ${gpu:-a GPU}; no timings'"
}
