# mask_heatmap.gp: the attention map of one (layer, head) at several steps,
# query tile x key tile, coloured by max_log2 (the tile's largest weight
# relative to its row maximum, log2 units), skipped tiles of the policy
# darkened. Inputs: n_panels, file0.., title0.. (one per step), has_map,
# cb_min, key_label, query_label, plot_title, out_png, out_svg, script_dir.
load script_dir.'/style.gp'
fig_w = n_panels > 2 ? 700 * n_panels : 1500
fig_h = 900
set xlabel key_label
set ylabel query_label
set autoscale xfix
set autoscale yfix
set yrange [*:*] reverse
set tics out
set grid front lc rgb "#ffffff" lw 0.5
set palette defined (0 "#0d0887", 1 "#6a00a8", 2 "#b12a90", 3 "#e16462", 4 "#fca636", 5 "#f0f921")
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    set multiplot layout 1,n_panels title plot_title
    do for [i=0:n_panels-1] {
        f = value(sprintf("file%d", i))
        set title value(sprintf("title%d", i))
        # one colour bar (last panel), one y label (first panel)
        if (i == n_panels - 1) { set colorbox } else { unset colorbox }
        if (i == 0) { set ylabel query_label } else { unset ylabel }
        if (has_map) {
            set cbrange [cb_min:0]
            set cblabel "max log2 weight vs row max (log2)"
            plot f using 1:2:3 with image notitle, \
                 f using 1:2:(255):(255):(255):($4 * 170) with rgbalpha notitle
        } else {
            set cbrange [0:1]
            set cblabel "skipped fraction"
            plot f using 1:2:4 with image notitle
        }
    }
    unset multiplot
}
