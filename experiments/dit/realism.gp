# realism.gp: the real-likeness checks of the trained Wan DiT (check_realism.py's data files).
# Inputs (-e): dir (folder of sparsity_per_step.dat, iou_per_step.dat, mask_example.dat),
# out_png, out_svg, script_dir (analysis/, for style.gp), threshold (e.g. -10), subtitle (optional:
# a line above the panels saying which maps they come from).
# Panels: oracle sparsity per step (trained: all heads and per layer; the random control),
# mask IoU per step (consecutive steps vs two samples), one late oracle map.
fig_w = 2100
fig_h = 700
load script_dir.'/style.gp'
sp = dir.'/sparsity_per_step.dat'
iou = dir.'/iou_per_step.dat'
mask = dir.'/mask_example.dat'
layers = system("awk 'NR==1{print NF-7}' ".sp)
do for [pass=1:2] {
    if (pass == 1) { @term_png } else { @term_svg }
    if (exists("subtitle")) {
        set multiplot layout 1,3 title subtitle margins 0.05,0.93,0.14,0.84 spacing 0.08,0
    } else {
        set multiplot layout 1,3 margins 0.05,0.93,0.14,0.88 spacing 0.08,0
    }
    set key inside left top Left reverse samplen 2 font ",11" opaque box
    set xlabel "denoising step"
    set ylabel sprintf("tiles with oracle criterion <= %g", threshold)
    set title "oracle sparsity (128 x 128 tiles)" font ",14"
    set yrange [0:1]
    set xrange [0:*]
    plot sp using 1:3 with linespoints lw 3 pt 7 ps 0.8 lc 1 title "trained, all layers", \
         sp using 1:4 with lines lw 2 dt 2 lc 1 title "trained, descending walk", \
         sp using 1:5 with linespoints lw 3 pt 5 ps 0.8 lc 2 title "random control", \
         for [l=0:layers-1] sp using 1:(column(7 + l)) with lines lw 1 lc rgb "#a0a0a0" \
             title (l == 0 ? "trained, per layer" : "")
    # the IoU curves run high on the left: the key goes to the lower right
    set key inside right bottom Left reverse samplen 2 font ",11" opaque box
    set title "mask IoU at the same threshold" font ",14"
    set ylabel "IoU of negligible-tile sets"
    set yrange [0.8:1]
    plot iou using 1:2 with linespoints lw 3 pt 7 ps 0.8 lc 1 title "steps t and t+1 (sample A)", \
         iou using 1:3 with linespoints lw 2 pt 5 ps 0.8 lc 3 title "samples A and B, same class", \
         iou using 1:4 with linespoints lw 2 pt 9 ps 0.8 lc 4 title "samples A and C, other class"
    unset key
    set title system("head -1 ".mask." | sed 's/^# //'") font ",11"
    set xlabel "key tile"
    set ylabel "query tile"
    set xrange [-0.5:127.5]
    set yrange [127.5:-0.5]
    set cbrange [-30:0]
    set cblabel "max log2 weight vs row max"
    set palette defined (-30 "#ffffff", -10 "#56B4E9", -3 "#0072B2", 0 "#000000")
    plot mask matrix with image
    unset multiplot
}
