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
# More series than those 8 colours (a threshold sweep): each series its own
# colour from a sequential palette by its index, and its own point type
# (series_lc / series_pt with the 0-based index and the count).
many_series = 'set palette defined (0 "#440154", 0.3 "#31688e", 0.6 "#35b779", 0.85 "#b5de2b", 1 "#e6a800"); unset colorbox'
series_frac(i, n) = n > 1 ? i / (n - 1.0) : 0
series_pt(i) = i % 13 + 1
set grid lc rgb "#d0d0d0" lw 1
# A whole-number tick step (1, 2, 5, 10, 20, 50, ...) giving about ten ticks over n
# units: steps, layers, heads and tiles never get fractional ticks.
nice_step(x) = (nice_p = 10**floor(log10(x)), x <= nice_p ? nice_p : x <= 2*nice_p ? 2*nice_p : x <= 5*nice_p ? 5*nice_p : 10*nice_p)
int_tic_step(n) = n <= 10 ? 1 : nice_step(n / 10.0)
# The figure's title (plot_title) centred on the canvas and, under it in a
# smaller font, where the numbers come from (subtitle: shape, maps, hardware),
# when the caller sets it. gnuplot centres `set title` over the plot area,
# which a key outside the plot shifts off centre, so these are labels at
# screen positions: canvas_labels in the first panel of a multiplot (then
# `unset label 100; unset label 101`), canvas_title for a single plot.
has_subtitle = exists("subtitle") ? (subtitle ne "") : 0
canvas_labels = 'set label 100 plot_title at screen 0.5, screen 1 - 22.0 / fig_h center front; if (has_subtitle) { set label 101 subtitle at screen 0.5, screen 1 - 46.0 / fig_h center front font ",12" }'
canvas_title = 'unset title; @canvas_labels; set tmargin (has_subtitle ? 5.5 : 3.5)'
set border lw 1.2
