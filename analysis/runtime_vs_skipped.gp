# runtime_vs_skipped.gp: per-call runtime against the skipped-FLOP ratio.
# Inputs (-e): data (blocks: skipped_ratio runtime_ms, one block per policy),
# n_series, title0..title<n-1>, ylabel, dense_ms (NaN: no dense policy),
# has_fit, fit_a, fit_b, fit_r2, plot_title, subtitle, out_png,
# out_svg, script_dir.
fig_w = 1600
load script_dir.'/style.gp'
set xlabel "skipped FLOP ratio (1 − executed / dense FLOPs)"
set ylabel ylabel
@canvas_title
set xrange [-0.02:1.02]
set yrange [0:*]
# The key goes right of the plot, never over the points (the fastest calls sit
# in the lower right, the dense ones in the upper left); the fit's numbers are
# in the caption of report.md too.
set key outside right top vertical Left reverse box samplen 2 spacing 1.1 font ",12"
ideal_title = (dense_ms == dense_ms) ? sprintf("ideal: %.3g ms × (1 − ratio)", dense_ms) : ""
fit_title = has_fit ? sprintf("fit: %.4g %s %.4g·x ms (R² %.3f)", fit_a, fit_b < 0 ? "−" : "+", abs(fit_b), fit_r2) : ""
if (n_series > 8) { @many_series }
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    if (n_series <= 8) {
        plot for [i=0:n_series-1] data index i using 1:2 with points ps 1.1 title value(sprintf("title%d", i)), \
             (dense_ms == dense_ms ? dense_ms * (1 - x) : 1/0) with lines dt 2 lw 2 lc rgb "#404040" title ideal_title, \
             (has_fit ? fit_a + fit_b * x : 1/0) with lines lw 2 lc rgb "#C00000" title fit_title
    } else {
        plot for [i=0:n_series-1] data index i using 1:2 with points ps 1.1 pt series_pt(i) \
                 lc palette frac series_frac(i, n_series) title value(sprintf("title%d", i)), \
             (dense_ms == dense_ms ? dense_ms * (1 - x) : 1/0) with lines dt 2 lw 2 lc rgb "#404040" title ideal_title, \
             (has_fit ? fit_a + fit_b * x : 1/0) with lines lw 2 lc rgb "#C00000" title fit_title
    }
}
