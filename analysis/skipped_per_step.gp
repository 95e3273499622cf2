# skipped_per_step.gp: the skipped-FLOP fraction of each denoising step, per
# policy ("skips accumulate"). Inputs: data (blocks: step skipped_ratio),
# n_series, title0.., step_min, step_max, plot_title, subtitle, out_png,
# out_svg, script_dir.
load script_dir.'/style.gp'
set xlabel "denoising step"
set ylabel "skipped FLOP fraction of the step"
@canvas_title
set yrange [-0.02:1.02]
# Steps are whole numbers: whole-number ticks, half a step of room either side.
set xrange [step_min - 0.5:step_max + 0.5]
set xtics 0, int_tic_step(step_max - step_min + 1)
set mxtics 1
set key outside right top vertical Left reverse box samplen 2 spacing 1.2
if (n_series > 8) { @many_series }
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    if (n_series <= 8) {
        plot for [i=0:n_series-1] data index i using 1:2 with linespoints ps 1.2 lw 2 title value(sprintf("title%d", i))
    } else {
        plot for [i=0:n_series-1] data index i using 1:2 with linespoints ps 1.2 lw 2 pt series_pt(i) \
            lc palette frac series_frac(i, n_series) title value(sprintf("title%d", i))
    }
}
