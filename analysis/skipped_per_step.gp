# skipped_per_step.gp: the skipped-FLOP fraction of each denoising step, per
# policy ("skips accumulate"). Inputs: data (blocks: step skipped_ratio),
# n_series, title0.., plot_title, out_png, out_svg, script_dir.
load script_dir.'/style.gp'
set xlabel "denoising step"
set ylabel "skipped FLOP fraction of the step"
set title plot_title
set yrange [-0.02:1.02]
set offsets graph 0.02, graph 0.02, 0, 0
set key outside right top vertical Left reverse box samplen 2 spacing 1.2
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot for [i=0:n_series-1] data index i using 1:2 with linespoints ps 1.2 lw 2 title value(sprintf("title%d", i))
}
