# scaling.gp: time per call against N, log-log (experiments/scaling.sh).
# Inputs (-e): data (scaling.dat: N dense_ms lite_last_ms lite_last_sparsity dense_gflop),
# out_png, out_svg, script_dir, plot_title, subtitle (the traces' shape, maps and GPU).
load script_dir.'/style.gp'
set xlabel "sequence length N (tokens)"
set ylabel "time per call (ms)"
@canvas_title
set logscale xy
set format x "%.0s%c"
set key inside left top vertical Left reverse box opaque samplen 2 spacing 1.1 font ",12"
stats data using 1 nooutput
n_max = STATS_max
n_min = STATS_min
stats data using (($1 == n_max) ? $2 : 1/0) nooutput
ms_max = STATS_max
set xrange [n_min / 1.3 : n_max * 1.3]
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot ms_max * (x / n_max)**2 with lines dt 2 lw 2 lc rgb "#404040" title "N^2 through the largest dense point", \
         data using 1:2 with linespoints pt 7 ps 1.6 lw 2 lc rgb "#404040" title "dense", \
         data using 1:3 with linespoints pt 5 ps 1.6 lw 2 lc rgb "#0072B2" title "LiteAttention, threshold -10, last step (labels: its sparsity)", \
         data using 1:3:(sprintf("%.0f%%", 100 * $4)) with labels offset 0,-1.2 font ",11" tc rgb "#0072B2" notitle
}
