// figure_check.c: the rendered-figure checks of figure_check.h. The PNG is
// decoded with libpng's simplified API; the SVG is read as gnuplot's svg
// terminal writes it: each text is a <g transform="translate(x,y)
// [rotate(a)]" ... font-size="S" text-anchor="A"> holding one <text>.
#include "figure_check.h"
#include "test_files.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fc_png_ok(const char *path, double min_ink, int border, char *why, size_t len) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        snprintf(why, len, "%s: not a readable PNG: %s", path, img.message);
        return 0;
    }
    img.format = PNG_FORMAT_RGBA;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        snprintf(why, len, "%s: cannot decode: %s", path, img.message);
        free(px);
        png_image_free(&img);
        return 0;
    }
    int w = (int)img.width, h = (int)img.height, ok = 1;
    size_t ink = 0;
    const unsigned char *bg = px;  // the corner pixel is the background
    for (int y = 0; y < h && ok; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *p = px + 4 * ((size_t)y * w + x);
            if (!memcmp(p, bg, 4)) continue;
            ink++;
            if (x < border || y < border || x >= w - border || y >= h - border) {
                snprintf(why, len, "%s: drawn at pixel (%d, %d) of %dx%d, within %d px of the edge: cut off", path, x,
                         y, w, h, border);
                ok = 0;
                break;
            }
        }
    if (ok && ink < min_ink * w * h) {
        snprintf(why, len, "%s: nearly blank: %zu of %d pixels drawn", path, ink, w * h);
        ok = 0;
    }
    free(px);
    return ok;
}

// DejaVu Sans (the figures' font) advance widths of ' ' .. '~', units of 1/2048 em.
static const short ADVANCE[95] = {
    651,  821,  942,  1716, 1303, 1946, 1597, 563,  799,  799,  1024, 1716, 651,  739,  651,  690,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690,  690,  1716, 1716, 1716, 1087,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604,  604,  1343, 1141, 1767, 1532, 1612,
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799,  690,  799,  1716, 1024,
    1024, 1255, 1300, 1126, 1300, 1260, 721,  1300, 1298, 569,  569,  1186, 569,  1995, 1298, 1253,
    1300, 1300, 842,  1067, 803,  1298, 1212, 1675, 1212, 1212, 1075, 1303, 690,  1303, 1716};
// Ink above and below the baseline (ascender of 'd', descender of 'p'), em.
#define ASCENT 0.76
#define DESCENT 0.21

// Width in em of the text between s and e: tags skipped, entities one
// character, leading and trailing blanks dropped (SVG collapses them).
static double text_em(const char *s, const char *e) {
    char plain[4096];
    size_t n = 0;
    while (s < e && n + 1 < sizeof plain) {
        if (*s == '<') {  // <tspan ...>, </tspan>
            const char *close = memchr(s, '>', (size_t)(e - s));
            s = close ? close + 1 : e;
        } else if (*s == '&') {  // one character: count it as a wide one
            const char *semi = memchr(s, ';', (size_t)(e - s));
            plain[n++] = 'W';
            s = semi ? semi + 1 : s + 1;
        } else {
            plain[n++] = *s++;
        }
    }
    plain[n] = 0;
    char *b = plain, *t = plain + n;
    while (*b == ' ') b++;
    while (t > b && t[-1] == ' ') t--;
    double em = 0;
    for (const unsigned char *c = (const unsigned char *)b; c < (const unsigned char *)t; c++) {
        if (*c >= 32 && *c < 127) {
            em += ADVANCE[*c - 32] / 2048.0;
        } else if ((*c & 0xC0) != 0x80) {  // a non-ASCII character: as wide as '+' (minus, times)
            em += 1716 / 2048.0;
        }
    }
    return em;
}

typedef struct {
    char text[4096];  // without tags
    char anchor[16];  // start, middle, end
    double x, y, rotate, size, width;  // anchor point, degrees, font size and width in px
} svg_text;

// Calls fn for every text of the SVG document svg; stops when fn returns non-zero.
static int walk_texts(const char *svg, int (*fn)(const svg_text *t, void *arg), void *arg) {
    static const char open[] = "<g transform=\"translate(";
    int count = 0;
    for (const char *g = strstr(svg, open); g; g = strstr(g + 1, open)) {
        const char *tag_end = strchr(g, '>');
        const char *text = tag_end ? strstr(tag_end, "<text>") : NULL;
        const char *group_end = tag_end ? strstr(tag_end, "</g>") : NULL;
        if (!text || !group_end || text > group_end) continue;  // a group without text (a point symbol)
        const char *text_end = strstr(text, "</text>");
        if (!text_end || text_end > group_end) continue;
        svg_text t = {.rotate = 0, .size = 12};
        snprintf(t.anchor, sizeof t.anchor, "start");
        if (sscanf(g + strlen(open), "%lf,%lf) rotate(%lf)", &t.x, &t.y, &t.rotate) < 2) continue;
        const char *a = strstr(g, "text-anchor=\"");
        if (a && a < tag_end) sscanf(a, "text-anchor=\"%15[a-z]", t.anchor);
        const char *fs = strstr(g, "font-size=\"");
        if (fs && fs < tag_end) t.size = atof(fs + strlen("font-size=\""));
        size_t n = 0;
        for (const char *s = text + 6; s < text_end && n + 1 < sizeof t.text; s++) {
            if (*s == '<') {
                const char *close = strchr(s, '>');
                s = close ? close : text_end;
                continue;
            }
            t.text[n++] = *s;
        }
        t.text[n] = 0;
        t.width = t.size * text_em(text + 6, text_end);
        count++;
        if (fn(&t, arg)) break;
    }
    return count;
}

typedef struct {
    double W, H, margin;
    const char *path;
    char *why;
    size_t len;
    int bad;
} fit_state;

// The ink box of a text: along the baseline from the anchor, ASCENT above
// and DESCENT below, then rotated (SVG: clockwise, y down) about the anchor.
static int check_fit(const svg_text *t, void *arg) {
    fit_state *s = arg;
    double x0 = !strcmp(t->anchor, "middle") ? -t->width / 2 : !strcmp(t->anchor, "end") ? -t->width : 0;
    double x1 = x0 + t->width, y0 = -ASCENT * t->size, y1 = DESCENT * t->size;
    double c = cos(t->rotate * M_PI / 180), sn = sin(t->rotate * M_PI / 180);
    double lo_x = INFINITY, hi_x = -INFINITY, lo_y = INFINITY, hi_y = -INFINITY;
    const double corners[4][2] = {{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}};
    for (int i = 0; i < 4; i++) {
        double X = t->x + corners[i][0] * c - corners[i][1] * sn, Y = t->y + corners[i][0] * sn + corners[i][1] * c;
        lo_x = fmin(lo_x, X);
        hi_x = fmax(hi_x, X);
        lo_y = fmin(lo_y, Y);
        hi_y = fmax(hi_y, Y);
    }
    if (lo_x >= s->margin && lo_y >= s->margin && hi_x <= s->W - s->margin && hi_y <= s->H - s->margin) return 0;
    snprintf(s->why, s->len, "%s: text \"%.80s\" spans x %.0f..%.0f, y %.0f..%.0f: outside the %.0fx%.0f canvas",
             s->path, t->text, lo_x, hi_x, lo_y, hi_y, s->W, s->H);
    s->bad = 1;
    return 1;
}

int fc_svg_texts_fit(const char *path, double margin, char *why, size_t len) {
    char *svg = tf_read_all(path, NULL);
    if (!svg) {
        snprintf(why, len, "%s: cannot read", path);
        return 0;
    }
    fit_state s = {.margin = margin, .path = path, .why = why, .len = len};
    const char *vb = strstr(svg, "viewBox=\"");
    if (!vb || sscanf(vb, "viewBox=\"%*f %*f %lf %lf", &s.W, &s.H) != 2) {
        snprintf(why, len, "%s: no viewBox", path);
        free(svg);
        return 0;
    }
    int n = walk_texts(svg, check_fit, &s);
    free(svg);
    if (!s.bad && n == 0) {
        snprintf(why, len, "%s: no text at all", path);
        return 0;
    }
    return !s.bad;
}

typedef struct {
    int (*fn)(const char *text, const char *anchor, double rotate, void *arg);
    void *arg;
} each_state;

static int forward(const svg_text *t, void *arg) {
    each_state *e = arg;
    return e->fn(t->text, t->anchor, t->rotate, e->arg);
}

int fc_svg_each_text(const char *path, int (*fn)(const char *text, const char *anchor, double rotate, void *arg),
                     void *arg) {
    char *svg = tf_read_all(path, NULL);
    if (!svg) return -1;
    each_state e = {fn, arg};
    int n = walk_texts(svg, forward, &e);
    free(svg);
    return n;
}
