# calibration.gp: skipped FLOPs per step, predicted by litelab calibrate and measured by the
# replay, for the per-step and accumulated budgets, with the schedules' thresholds on the right
# axis (experiments/calibration.sh). Inputs (-e): script_dir, out_png, out_svg, subtitle (the
# replays' shape, maps and hardware), dir (default "."). Reads dir/per_step/verification.csv and
# dir/accumulated/verification.csv (step, threshold, predicted, verified, ...).
load script_dir.'/style.gp'
set datafile separator ","
set xlabel "denoising step"
set ylabel "skipped FLOP ratio"
set y2label "threshold (log2)"
plot_title = "Calibrated schedules: predicted (screening) and replayed skipped FLOPs per step"
@canvas_title
set yrange [0:1]
set y2range [-20:0]
set ytics nomirror
set y2tics
set key inside left top vertical Left reverse box opaque samplen 2 spacing 1.1 font ",12"
# Thresholds of -inf (a step that marks nothing) are left out of the threshold lines.
finite(t) = (t == t && t > -1000) ? t : 1/0
if (!exists("dir")) dir = "."
a = dir.'/per_step/verification.csv'
b = dir.'/accumulated/verification.csv'
# Steps are whole numbers: whole-number ticks.
stats a every ::1 using 1 nooutput
set xtics 0, int_tic_step(STATS_max - STATS_min + 1)
set mxtics 1
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    plot a every ::1 using 1:3 with linespoints pt 6 lw 2 dt 2 lc rgb "#0072B2" title "per-step budget: predicted", \
         a every ::1 using 1:4 with linespoints pt 7 lw 2 lc rgb "#0072B2" title "per-step budget: replay", \
         b every ::1 using 1:3 with linespoints pt 4 lw 2 dt 2 lc rgb "#D55E00" title "accumulated budget: predicted", \
         b every ::1 using 1:4 with linespoints pt 5 lw 2 lc rgb "#D55E00" title "accumulated budget: replay", \
         a every ::1 using 1:(finite($2)) axes x1y2 with linespoints pt 2 ps 1.2 dt 3 lw 1.5 lc rgb "#56B4E9" title "per-step budget: threshold (right axis)", \
         b every ::1 using 1:(finite($2)) axes x1y2 with linespoints pt 2 ps 1.2 dt 3 lw 1.5 lc rgb "#E69F00" title "accumulated budget: threshold (right axis)"
}
