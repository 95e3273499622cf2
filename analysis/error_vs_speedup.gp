# error_vs_speedup.gp: each policy's output error against its speedup, the
# Pareto front (faster and more accurate than any other) drawn as a step line.
# Inputs: data (speedup mean_rel_l2 "label" on_front), front (the front's
# points sorted by speedup), xlabel_text, log_err, plot_title, out_png,
# out_svg, script_dir.
load script_dir.'/style.gp'
set xlabel xlabel_text
set ylabel "mean relative L2 error of the output"
set title plot_title
set key outside right top vertical Left reverse box samplen 2 spacing 1.2
# The step line: for a speedup between two front points, the least error
# reachable is the faster point's (fsteps: vertical first, then horizontal).
if (log_err) { set logscale y; set format y "%.0e"; set offsets graph 0.05, graph 0.2, graph 0.08, graph 0.08 } \
else { set yrange [0:*]; set offsets graph 0.05, graph 0.2, graph 0.1, 0 }
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot front using 1:2 with fsteps lw 2 lc rgb "#C00000" title "Pareto front", \
         data using 1:($4 == 0 ? $2 : 1/0) with points pt 7 ps 1.6 lc rgb "#808080" title "dominated policy", \
         data using 1:($4 == 1 ? $2 : 1/0) with points pt 7 ps 1.9 lc rgb "#C00000" title "policy on the front", \
         data using 1:2:3 with labels offset char 1,0.8 left font ",11" notitle
}
