# threshold_sweep.gp: sparsity, output error and speedup against the
# threshold, one line per policy kind, in panels stacked over one threshold
# axis. Inputs: data (blocks: threshold skipped_ratio mean_rel_l2 speedup),
# n_series, title0.., log_err (1: log scale for the error), zero_err (points
# with zero error left off the log axis), has_speedup, speedup_label,
# plot_title, subtitle, out_png, out_svg, script_dir.
panels = has_speedup ? 3 : 2
fig_h = 300 * panels + 220
load script_dir.'/style.gp'
# The panels use the whole width: the key sits inside the sparsity panel, in
# its upper left (sparsity rises with the threshold, so that corner is free).
set key inside left top vertical Left reverse box opaque samplen 2 font ",12"
set autoscale xfix
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel "threshold (log2 units)"
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    set multiplot layout panels,1 \
        margins screen 110.0 / fig_w, screen 1 - 40.0 / fig_w, screen 90.0 / fig_h, screen 1 - 120.0 / fig_h \
        spacing screen 0, screen 80.0 / fig_h
    set key
    @canvas_labels
    set ylabel "skipped FLOP ratio"
    set yrange [0:*]
    plot for [i=0:n_series-1] data index i using 1:2 with linespoints ps 1.6 lw 2 title value(sprintf("title%d", i))
    unset key  # one key, title and subtitle, in the first panel
    unset label 100
    unset label 101
    set ylabel "mean relative L2 error"
    set yrange [*:*]
    if (log_err) {
        set logscale y
        set format y "%.0e"
        if (zero_err > 0) {
            set label 11 sprintf("%d threshold%s with zero error not shown (log axis)", zero_err, zero_err > 1 ? "s" : "") \
                at graph 0.02, graph 0.9 left front
        }
    }
    plot for [i=0:n_series-1] data index i using 1:($3 > 0 || !log_err ? $3 : 1/0) with linespoints ps 1.6 lw 2 \
        title value(sprintf("title%d", i))
    unset label 11
    unset logscale y
    set format y "%g"
    if (has_speedup) {
        set ylabel speedup_label
        set yrange [0:*]
        plot for [i=0:n_series-1] data index i using 1:4 with linespoints ps 1.6 lw 2 title value(sprintf("title%d", i))
    }
    unset multiplot
}
