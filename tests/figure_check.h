// figure_check.h: checks a reviewer would make on a rendered figure, for the
// figure suites: the PNG (pngcairo) is not blank and nothing is drawn on its
// outermost pixels (text or lines cut off by the canvas edge), and every text
// of the SVG lies inside the canvas (its extent estimated from the DejaVu
// Sans advance widths and ascent the figures use, rotation and anchor
// included).
#pragma once
#include <stddef.h>

// 1 when the PNG decodes, at least min_ink of its pixels (a fraction) differ
// from the background (its corner pixel) and none within border px of the
// edge does; else 0, with the reason in why.
int fc_png_ok(const char *path, double min_ink, int border, char *why, size_t len);

// 1 when every <text> of the SVG (gnuplot's svg terminal) lies at least
// margin px inside its viewBox; else 0, with the first offender in why.
int fc_svg_texts_fit(const char *path, double margin, char *why, size_t len);

// Calls fn for every text of the SVG: its content, anchor ("start",
// "middle", "end") and rotation (degrees); stops early when fn returns
// non-zero. Returns the number of texts visited, -1 when unreadable.
int fc_svg_each_text(const char *path, int (*fn)(const char *text, const char *anchor, double rotate, void *arg),
                     void *arg);
