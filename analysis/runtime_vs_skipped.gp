# runtime_vs_skipped.gp: per-call runtime against the skipped-FLOP ratio.
# Inputs (-e): data (blocks: skipped_ratio runtime_ms, one block per policy),
# n_series, title0..title<n-1>, ylabel, dense_ms (NaN: no dense policy),
# has_fit, fit_a, fit_b, fit_r2, fit_n, plot_title, out_png, out_svg, script_dir.
load script_dir.'/style.gp'
set xlabel "skipped FLOP ratio (1 − executed / dense FLOPs)"
set ylabel ylabel
set title plot_title
set xrange [-0.02:1.02]
set yrange [0:*]
# Runtime falls with the skipped ratio, so the lower left corner is free for the key.
set key inside left bottom vertical Left reverse box opaque samplen 2 spacing 1.1 font ",12"
ideal_title = (dense_ms == dense_ms) ? sprintf("ideal 1:1: %.3g ms × (1 − ratio)", dense_ms) : ""
fit_title = has_fit ? sprintf("least squares: %.4g %s %.4g·x ms, R² = %.4f (%d calls)", fit_a, fit_b < 0 ? "−" : "+", abs(fit_b), fit_r2, fit_n) : ""
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot for [i=0:n_series-1] data index i using 1:2 with points ps 1.1 title value(sprintf("title%d", i)), \
         (dense_ms == dense_ms ? dense_ms * (1 - x) : 1/0) with lines dt 2 lw 2 lc rgb "#404040" title ideal_title, \
         (has_fit ? fit_a + fit_b * x : 1/0) with lines lw 2 lc rgb "#C00000" title fit_title
}
