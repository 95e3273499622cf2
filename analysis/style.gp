# style.gp: shared look of the litelab report figures (loaded by every script).
# Restyle here: fonts, sizes, colours. Scripts call `set_terminal(pass)`
# through the `term_png` / `term_svg` macros below, once per output format.
set encoding utf8
set macros
font_spec = "DejaVu Sans,14"
if (!exists("fig_w")) fig_w = 1400
if (!exists("fig_h")) fig_h = 900
term_png = 'set terminal pngcairo size fig_w,fig_h font font_spec noenhanced linewidth 1.5; set output out_png'
term_svg = 'set terminal svg size fig_w,fig_h font font_spec noenhanced dynamic linewidth 1.5; set output out_svg'
# A colour-blind safe qualitative palette (Okabe-Ito), cycled.
set linetype 1 lc rgb "#0072B2" pt 7
set linetype 2 lc rgb "#D55E00" pt 5
set linetype 3 lc rgb "#009E73" pt 9
set linetype 4 lc rgb "#CC79A7" pt 11
set linetype 5 lc rgb "#E69F00" pt 13
set linetype 6 lc rgb "#56B4E9" pt 15
set linetype 7 lc rgb "#000000" pt 1
set linetype 8 lc rgb "#F0E442" pt 2
set linetype cycle 8
set grid lc rgb "#d0d0d0" lw 1
set border lw 1.2
