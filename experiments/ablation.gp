# ablation.gp: self-attention time relative to dense against sparsity (experiments/ablation.sh).
# Inputs (-e): data (ablation_points.dat: index 0 every LiteAttention call of the threshold sweep,
# 1 the masks chosen at the targets, 2 random masks from litelab bench, 3 the paper's ablation;
# columns: sparsity, time / dense time), out_png, out_svg, script_dir, plot_title, subtitle (the
# shape, maps and GPU of the LiteAttention points: litelab report's caption of the trace).
fig_w = 1600
load script_dir.'/style.gp'
set xlabel "sparsity (skipped fraction of (query tile, key tile) pairs)"
set ylabel "time per call relative to dense"
@canvas_title
set xrange [-0.02:1.02]
set yrange [0:1.15]
set format x "%.0f%%"
set xtics ("0%%" 0, "20%%" 0.2, "40%%" 0.4, "60%%" 0.6, "80%%" 0.8, "100%%" 1)
set key inside right top vertical Left reverse box opaque samplen 2 spacing 1.1 font ",12"
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot 1 - x with lines dt 2 lw 2 lc rgb "#404040" title "ideal 1:1 (time = 1 - sparsity)", \
         data index 0 using 1:2 with points pt 6 ps 1.0 lc rgb "#56B4E9" title "LiteAttention masks, every call of the threshold sweep", \
         data index 1 using 1:2 with linespoints pt 7 ps 1.8 lw 2 lc rgb "#0072B2" title "LiteAttention masks at the target sparsities", \
         data index 2 using 1:2 with linespoints pt 5 ps 1.6 lw 2 lc rgb "#D55E00" title "random masks of the same density (litelab bench)", \
         data index 3 using 1:2 with linespoints pt 9 ps 1.8 lw 2 dt 3 lc rgb "#009E73" title "paper: Wan2.1-14B self-attention (arXiv 2511.11062)"
}
