# error_vs_speedup.gp: each policy's output error against its speedup, the
# Pareto front (faster and more accurate than any other) drawn as a step line.
# Inputs: data (speedup mean_rel_l2 "label" on_front side; side: where the
# label goes, chosen so that labels do not collide: see below),
# front (the front's points sorted by speedup), xlabel_text, log_err,
# plot_title, subtitle, out_png, out_svg, script_dir.
load script_dir.'/style.gp'
set xlabel xlabel_text
set ylabel "mean relative L2 error of the output"
@canvas_title
set key outside right top vertical Left reverse box samplen 2 spacing 1.2
# The step line: for a speedup between two front points, the least error
# reachable is the faster point's (fsteps: vertical first, then horizontal).
if (log_err) { set logscale y; set format y "%.0e"; set offsets graph 0.05, graph 0.2, graph 0.08, graph 0.08 } \
else { set yrange [0:*]; set offsets graph 0.05, graph 0.2, graph 0.1, 0 }
# Labels by side (report_figures.h: ll_label_sides): right of the point
# (left-aligned) for sides 0, 1, 4, 5, 8, 9; left of it for 2, 3, 6, 7, 10, 11;
# above or below by 0.8 of a line plus side / 4 lines.
on_side(s) = (int(column(5)) == s) ? column(2) : 1/0
right_side(k) = k % 2 + 4 * (k / 2)
lift(s) = (s % 2 ? -1 : 1) * (0.8 + s / 4)
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot front using 1:2 with fsteps lw 2 lc rgb "#C00000" title "Pareto front", \
         data using 1:($4 == 0 ? $2 : 1/0) with points pt 7 ps 1.6 lc rgb "#808080" title "dominated policy", \
         data using 1:($4 == 1 ? $2 : 1/0) with points pt 7 ps 1.9 lc rgb "#C00000" title "policy on the front", \
         for [k=0:5] data using 1:(on_side(right_side(k))):3 with labels \
             offset char 1, lift(right_side(k)) left font ",11" notitle, \
         for [k=0:5] data using 1:(on_side(right_side(k) + 2)):3 with labels \
             offset char -1, lift(right_side(k) + 2) right font ",11" notitle
}
