# mask_heatmap.gp: the attention map of one (layer, head) at several steps,
# query tile x key tile, coloured by max_log2 (the tile's largest weight
# relative to its row maximum, log2 units), skipped tiles of the policy
# lightened. Inputs: n_panels, file0.., title0.. (one per step), has_map,
# cb_min, q_tiles, k_tiles, key_label, query_label, plot_title, subtitle,
# note (a line under the panels, "" for none), out_png, out_svg, script_dir.
fig_w = n_panels > 2 ? 620 * n_panels + 300 : 1600
fig_h = 960
load script_dir.'/style.gp'
# Fixed margins in pixels, so that the colour bar, its label and the note get
# their room whatever the number of panels: left for the y label and ticks,
# right for the colour bar (bar, tick labels, rotated label), top for the
# two-line title and the panel titles, bottom for the x label and the note.
left = 120.0 / fig_w
right = 1 - 210.0 / fig_w
bottom = (note ne "" ? 150.0 : 110.0) / fig_h
top = 1 - 150.0 / fig_h
gap = 70.0 / fig_w
set xlabel key_label
set ylabel query_label
set xrange [-0.5:k_tiles - 0.5]
set yrange [q_tiles - 0.5:-0.5]
set xtics 0, int_tic_step(k_tiles) out
set ytics 0, int_tic_step(q_tiles) out
set mxtics 1
set mytics 1
set grid front lc rgb "#ffffff" lw 0.5
set palette defined (0 "#0d0887", 1 "#6a00a8", 2 "#b12a90", 3 "#e16462", 4 "#fca636", 5 "#f0f921")
# The colour bar right of the last panel, inside the right margin.
set colorbox user origin screen right + 25.0 / fig_w, screen bottom size screen 28.0 / fig_w, screen top - bottom
set cblabel offset 1.5, 0
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    set multiplot layout 1,n_panels margins screen left, screen right, screen bottom, screen top spacing screen gap
    do for [i=0:n_panels-1] {
        f = value(sprintf("file%d", i))
        set title value(sprintf("title%d", i))
        # one colour bar (last panel), one y label and the note (first panel)
        if (i == n_panels - 1) { set colorbox } else { unset colorbox }
        if (i == 0) { set ylabel query_label } else { unset ylabel }
        # the title, subtitle and note once, with the first panel
        if (i == 0) { @canvas_labels } else { unset label 100; unset label 101 }
        if (i == 0 && note ne "") { set label 10 note at screen 0.5, screen 20.0 / fig_h center } else { unset label 10 }
        if (has_map) {
            set cbrange [cb_min:0]
            set cblabel "max log2 weight vs row max"
            plot f using 1:2:3 with image notitle, \
                 f using 1:2:(255):(255):(255):($4 * 170) with rgbalpha notitle
        } else {
            set cbrange [0:1]
            set cblabel "skipped fraction of the tile"
            plot f using 1:2:4 with image notitle
        }
    }
    unset multiplot
}
