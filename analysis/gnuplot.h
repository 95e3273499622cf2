// gnuplot.h: running the report's gnuplot scripts (analysis/*.gp).
// A script reads its inputs from variables set with -e (file names, titles,
// fitted numbers) and writes the PNG (pngcairo) and SVG named by out_png and
// out_svg. gnuplot runs inside the output folder, so every name is relative
// to it; its messages go to gnuplot.log there; each command is appended to
// replot.sh so a user can restyle a script and re-run exactly what ran.
#pragma once
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char text[16384];
    size_t len;
    int overflow;
} ll_gp_vars;

void ll_gp_vars_init(ll_gp_vars *v);
void ll_gp_var_str(ll_gp_vars *v, const char *name, const char *value);  // quoted as a gnuplot string
void ll_gp_var_num(ll_gp_vars *v, const char *name, double value);      // NaN written as NaN

// Where make install puts the scripts, relative to PREFIX.
#define LL_GNUPLOT_INSTALL_DIR "share/litelab/gnuplot"

// The folder with the scripts: hint when given, else $LITELAB_GNUPLOT_DIR,
// <folder of the running program>/../analysis (a build in a checkout),
// <folder of the running program>/../share/litelab/gnuplot (installed),
// ./analysis, ../analysis.
ll_status ll_gnuplot_find_scripts(const char *hint, char *out, size_t len, ll_error *err);

// Runs `gnuplot -e VARS SCRIPTS/script` in out_dir; fails when gnuplot is
// missing, exits non-zero, or an expected output is missing or empty.
ll_status ll_gnuplot_run(const char *scripts_dir, const char *script, const ll_gp_vars *vars, const char *out_dir,
                         FILE *replot, const char *const *outputs, int n_outputs, ll_error *err);

#ifdef __cplusplus
}
#endif
