# threshold_sweep.gp: sparsity, output error and speedup against the
# threshold, one line per policy kind. Inputs: data (blocks: threshold
# skipped_ratio mean_rel_l2 speedup), n_series, title0.., log_err (1: log
# scale for the error), has_speedup, speedup_label, plot_title, out_png,
# out_svg, script_dir.
load script_dir.'/style.gp'
fig_h = 1300
set key outside right top vertical Left reverse box samplen 2
set offsets graph 0.03, graph 0.03, 0, 0
panels = has_speedup ? 3 : 2
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    set multiplot layout panels,1 title plot_title
    set lmargin 14
    set rmargin 34
    set xlabel "threshold (log2 units)"
    set ylabel "skipped FLOP ratio"
    set yrange [0:1]
    plot for [i=0:n_series-1] data index i using 1:2 with linespoints ps 1.6 lw 2 title value(sprintf("title%d", i))
    unset key  # one key, in the first panel
    set ylabel "mean relative L2 error"
    set yrange [*:*]
    if (log_err) { set logscale y; set format y "%.0e" }
    plot for [i=0:n_series-1] data index i using 1:3 with linespoints ps 1.6 lw 2 title value(sprintf("title%d", i))
    unset logscale y
    set format y "%g"
    if (has_speedup) {
        set ylabel speedup_label
        set yrange [0:*]
        plot for [i=0:n_series-1] data index i using 1:4 with linespoints ps 1.6 lw 2 title value(sprintf("title%d", i))
    }
    unset multiplot
    set key
}
