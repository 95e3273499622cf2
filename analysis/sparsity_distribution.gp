# sparsity_distribution.gp: how sparsity spreads over layers and heads for
# one policy: box plots of the skipped FLOP fraction of every call (per
# layer) and of every per-head row (per head). Inputs: by_layer, by_head
# (files of "index value"; by_head may be "" when there are no per-head
# rows), n_heads, n_layers, plot_title, out_png, out_svg, script_dir.
# The boxes of the k-th index stand at x = k; the x range is set from the
# counts, since autoscaling a single layer or head gives an empty range.
load script_dir.'/style.gp'
fig_w = 1600
set style fill solid 0.35 border -1
set style boxplot outliers pointtype 7
set style data boxplot
set boxwidth 0.6
set yrange [-0.02:1.02]
set ylabel "skipped FLOP fraction"
set xtics nomirror
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    if (by_head ne "") { set multiplot layout 1,2 title plot_title } else { set title plot_title }
    set xlabel "layer"
    set xrange [0.5:n_layers + 0.5]
    if (by_head ne "") { set title "per layer (every call)" }
    plot by_layer using (1):2:(0.6):1 lc rgb "#0072B2" notitle
    if (by_head ne "") {
        set title "per head (every per-head row)"
        set xlabel "head"
        set xrange [0.5:n_heads + 0.5]
        if (n_heads > 20) { set xtics rotate by 90 right font ",10" }
        plot by_head using (1):2:(0.6):1 lc rgb "#D55E00" notitle
        set xtics norotate font ""
        unset multiplot
    }
}
