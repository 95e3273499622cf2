// label_place.c: which side of its point each point label goes on, so that
// labels of nearby points do not print over each other (report_figures.h).
// gnuplot places labels at a fixed offset and never avoids collisions; here
// each label gets one of four corners (right/left, above/below) at one of
// three heights, chosen greedily in a pixel model of the plot area.
#include <math.h>
#include <stdlib.h>

#include "report_figures.h"

// The pixel model: the plot area of a 1400 x 900 figure with its key outside
// (about 1000 x 700 px), 11 pt labels (about 7 px a character, 15 px high),
// offset one character sideways and 0.8 of a line up or down; markers of
// about 8 px radius.
#define AREA_W 1000.0
#define AREA_H 700.0
#define CHAR_W 7.0
#define LINE_H 15.0
#define OFFSET_X 7.0
#define OFFSET_Y 12.0
#define MARKER_R 8.0

typedef struct {
    double x0, y0, x1, y1;
} box;

#define LEVELS 3
#define LEVEL_COST 30.0  // px^2: a raised label only where it collides less

static box label_box(double px, double py, int chars, int side) {
    double w = chars * CHAR_W, dx = side & 2 ? -OFFSET_X - w : OFFSET_X;
    double dy = OFFSET_Y + (side / 4) * LINE_H;
    double cy = py + (side & 1 ? -dy : dy);  // y grows upwards
    return (box){px + dx, cy - LINE_H / 2, px + dx + w, cy + LINE_H / 2};
}

static double overlap(box a, box b) {
    double w = fmin(a.x1, b.x1) - fmax(a.x0, b.x0), h = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
    return w > 0 && h > 0 ? w * h : 0;
}

// Area of the label outside the plot area, plus its overlap with labels
// already placed and with every marker: lower is better, 0 is clean.
static double cost(box b, const box *placed, int n_placed, const double *px, const double *py, int n) {
    double out = 0;
    box area = {0, 0, AREA_W, AREA_H};
    out += (b.x1 - b.x0) * (b.y1 - b.y0) - overlap(b, area);
    for (int i = 0; i < n_placed; i++) out += overlap(b, placed[i]);
    for (int i = 0; i < n; i++)
        out += overlap(b, (box){px[i] - MARKER_R, py[i] - MARKER_R, px[i] + MARKER_R, py[i] + MARKER_R});
    return out;
}

static double scaled(double v, double lo, double hi, int log_axis) {
    if (log_axis) {
        v = log(v);
        lo = log(lo);
        hi = log(hi);
    }
    return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}

// The points in the pixel model, as error_vs_speedup.gp pads its ranges: a
// log y axis 8% below and above the data, a linear one from 0 with 10% above;
// x: 5% left, 20% right. px, py: n each.
static void to_pixels(const double *x, const double *y, int n, int log_y, double *px, double *py) {
    double xlo = x[0], xhi = x[0], ylo = y[0], yhi = y[0];
    for (int i = 1; i < n; i++) {
        xlo = fmin(xlo, x[i]);
        xhi = fmax(xhi, x[i]);
        ylo = fmin(ylo, y[i]);
        yhi = fmax(yhi, y[i]);
    }
    double pad_lo = log_y ? 0.08 : 0, pad_hi = log_y ? 0.08 : 0.1;
    if (!log_y && ylo > 0) ylo = 0;
    for (int i = 0; i < n; i++) {
        px[i] = AREA_W * (0.05 + scaled(x[i], xlo, xhi, 0)) / 1.25;
        py[i] = AREA_H * (pad_lo + scaled(y[i], ylo, yhi, log_y)) / (1 + pad_lo + pad_hi);
    }
}

int ll_label_collisions(const double *x, const double *y, const int *chars, int n, int log_y, const int *side) {
    if (n <= 1) return 0;
    double *px = malloc(sizeof(double) * (size_t)n), *py = malloc(sizeof(double) * (size_t)n);
    int hits = 0;
    if (px && py) {
        to_pixels(x, y, n, log_y, px, py);
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                hits += overlap(label_box(px[i], py[i], chars[i], side[i]), label_box(px[j], py[j], chars[j], side[j])) >
                        0;
    }
    free(px);
    free(py);
    return hits;
}

void ll_label_sides(const double *x, const double *y, const int *chars, int n, int log_y, int *side) {
    if (n <= 0) return;
    double *px = malloc(sizeof(double) * (size_t)n), *py = malloc(sizeof(double) * (size_t)n);
    box *placed = malloc(sizeof(box) * (size_t)n);
    int *order = malloc(sizeof(int) * (size_t)n);
    if (!px || !py || !placed || !order) {  // no memory: every label right and above, as before
        for (int i = 0; i < n; i++) side[i] = 0;
        free(px);
        free(py);
        free(placed);
        free(order);
        return;
    }
    to_pixels(x, y, n, log_y, px, py);
    for (int i = 0; i < n; i++) order[i] = i;
    // Left to right, so that crowded clusters fill in one direction.
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && px[order[j]] < px[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int k = 0; k < n; k++) {
        int i = order[k], best = 0;
        double best_cost = INFINITY;
        for (int s = 0; s < 4 * LEVELS; s++) {
            double c = cost(label_box(px[i], py[i], chars[i], s), placed, k, px, py, n) + (s / 4) * LEVEL_COST;
            if (c < best_cost - 1e-9) {
                best_cost = c;
                best = s;
            }
        }
        side[i] = best;
        placed[k] = label_box(px[i], py[i], chars[i], best);
    }
    free(px);
    free(py);
    free(placed);
    free(order);
}
