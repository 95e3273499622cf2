// cmd_report.c: `litelab report TRACE... -o DIR`: tables and gnuplot figures
// from one or more traces (analysis/report.h).
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "report.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: litelab report TRACE... -o DIR [options]\n"
            "Tables (Markdown, CSV) and figures (PNG, SVG) from experiment traces:\n"
            "  runtime against skipped FLOPs (ideal 1:1 line, least-squares fit), skipped FLOPs per step,\n"
            "  threshold sweep, error against speedup with the Pareto front, skip-mask heatmaps over the\n"
            "  attention map, per-layer and per-head sparsity. DIR/report.md ties them together.\n\n"
            "options:\n"
            "  -o, --output DIR         output folder (created)\n"
            "      --scripts DIR        the gnuplot scripts (default: $LITELAB_GNUPLOT_DIR, else analysis/\n"
            "                           next to the litelab build, or share/litelab/gnuplot of an\n"
            "                           installed litelab: PREFIX/bin/litelab)\n"
            "      --heatmap-policy P   policy whose skip masks the heatmaps show (default: the first\n"
            "                           non-dense policy with recorded masks)\n"
            "      --heatmap-layer L    layer of the heatmaps (default: the first with masks)\n"
            "      --heatmap-head H     head of the heatmaps (default 0)\n"
            "      --heatmap-steps LIST steps side by side, e.g. 0,10,49 (at most 8; default: up to 4\n"
            "                           spread over the recorded steps)\n"
            "      --no-figures         tables only (no gnuplot needed)\n"
            "  -q, --quiet              print nothing on success\n"
            "  -h, --help               this help\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"scripts", required_argument, 0, 'S'},
                                         {"heatmap-policy", required_argument, 0, 'P'},
                                         {"heatmap-layer", required_argument, 0, 'L'},
                                         {"heatmap-head", required_argument, 0, 'H'},
                                         {"heatmap-steps", required_argument, 0, 'T'},
                                         {"no-figures", no_argument, 0, 'n'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    ll_report_options o = {.heatmap_layer = -1, .verbose = 1};
    ll_error err = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o.out_dir = optarg; break;
        case 'S': o.scripts_dir = optarg; break;
        case 'P': o.heatmap_policy = optarg; break;
        case 'L':
            if (parse_int(optarg, 0, 1 << 20, &o.heatmap_layer)) {
                fprintf(stderr, "litelab report: --heatmap-layer %s: expected an integer >= 0\n", optarg);
                return ll_exit_code(LL_ERR_USAGE);
            }
            break;
        case 'H':
            if (parse_int(optarg, 0, 1 << 20, &o.heatmap_head)) {
                fprintf(stderr, "litelab report: --heatmap-head %s: expected an integer >= 0\n", optarg);
                return ll_exit_code(LL_ERR_USAGE);
            }
            break;
        case 'T': {
            char *copy = strdup(optarg), *save = NULL;
            o.n_heatmap_steps = 0;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (o.n_heatmap_steps == 8 || parse_int(tok, 0, 1 << 20, &o.heatmap_steps[o.n_heatmap_steps])) {
                    fprintf(stderr, "litelab report: --heatmap-steps %s: expected up to 8 step numbers, e.g. 0,10,49\n",
                            optarg);
                    free(copy);
                    return ll_exit_code(LL_ERR_USAGE);
                }
                o.n_heatmap_steps++;
            }
            free(copy);
            break;
        }
        case 'n': o.no_figures = 1; break;
        case 'q': o.verbose = 0; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return ll_exit_code(LL_ERR_USAGE);
        }
    }
    if (optind >= argc || !o.out_dir) {
        fprintf(stderr, "litelab report: %s\n", optind >= argc ? "no trace given" : "no output folder (-o DIR)");
        usage(stderr);
        return ll_exit_code(LL_ERR_USAGE);
    }
    ll_report_input in;
    ll_status st = ll_report_load((const char *const *)(argv + optind), argc - optind, &in, &err);
    if (st != LL_OK) return ll_report_error("report", &err);
    st = ll_report_write(&in, &o, &err);
    ll_report_input_free(&in);
    if (st != LL_OK) return ll_report_error("report", &err);
    return 0;
}
