// cmd_report.c: `litelab report TRACE... -o DIR`: tables and gnuplot figures
// from one or more traces (analysis/report.h); `-o -`: one table on stdout.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_progress.h"
#include "commands.h"
#include "report.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: litelab report TRACE... -o DIR [options]\n"
            "       litelab report TRACE... -o - [--format csv|json|md] [--table policies|steps|calls]\n"
            "Tables (CSV, Markdown, JSON) and figures (PNG, SVG) from experiment traces:\n"
            "  runtime against skipped FLOPs (ideal 1:1 line, least-squares fit), skipped FLOPs per step,\n"
            "  threshold sweep, error against speedup with the Pareto front, skip-mask heatmaps over the\n"
            "  attention map, per-layer and per-head sparsity. DIR/report.md ties them together.\n\n"
            "options:\n"
            "  -o, --output DIR         output folder (created; a folder that holds anything is refused)\n"
            "  -o -                     one table on stdout instead, no figures (default: the policies as\n"
            "                           Markdown)\n"
            "      --force              write into a non-empty folder: the files an earlier report wrote\n"
            "                           there (tables, figures, data files) are removed first\n"
            "      --format LIST        table formats: csv, json, md or a list (default csv,json,md; one\n"
            "                           with -o -). json: report.json, one object per measured state (a\n"
            "                           policy, or a step of it) with its axis values and summaries, as\n"
            "                           NVBench writes them\n"
            "      --table NAME         with -o -: policies (default), steps or calls (CSV only)\n"
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
            "  -q, --quiet              print nothing on success, no progress\n"
            LL_CLI_PROGRESS_HELP
            "  -h, --help               this help\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

// `-o -`: the summaries, then one table in one format on stdout.
static ll_status print_table(const ll_report_input *in, ll_report_table table, int format, ll_error *err) {
    ll_policy_summary *p = NULL;
    ll_step_summary *s = NULL;
    int n_p = 0;
    size_t n_s = 0;
    ll_status st = ll_report_summarize(in, &p, &n_p, &s, &n_s, err);
    if (st == LL_OK) st = ll_report_print_table(stdout, "stdout", in, p, n_p, s, n_s, table, format, err);
    free(p);
    free(s);
    return st;
}

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"scripts", required_argument, 0, 'S'},
                                         {"heatmap-policy", required_argument, 0, 'P'},
                                         {"heatmap-layer", required_argument, 0, 'L'},
                                         {"heatmap-head", required_argument, 0, 'H'},
                                         {"heatmap-steps", required_argument, 0, 'T'},
                                         {"no-figures", no_argument, 0, 'n'},
                                         {"format", required_argument, 0, 'F'},
                                         {"table", required_argument, 0, 'b'},
                                         {"force", no_argument, 0, 'f'},
                                         {"progress", required_argument, 0, 'p'},
                                         {"log", required_argument, 0, 'G'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    ll_report_options o = {.heatmap_layer = -1, .verbose = 1};
    ll_cli_progress prog_opt = {0};
    ll_report_table table = LL_TABLE_POLICIES;
    int table_given = 0;
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
        case 'F':
            if (ll_report_parse_formats(optarg, &o.formats, &err) != LL_OK) return ll_report_error("report", &err);
            break;
        case 'b':
            if (ll_report_parse_table(optarg, &table, &err) != LL_OK) return ll_report_error("report", &err);
            table_given = 1;
            break;
        case 'f': o.force = 1; break;
        case 'p': prog_opt.when = optarg; break;
        case 'G': prog_opt.log = optarg; break;
        case 'q':
            o.verbose = 0;
            prog_opt.quiet = 1;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return ll_exit_code(LL_ERR_USAGE);
        }
    }
    if (optind >= argc || !o.out_dir) {
        fprintf(stderr, "litelab report: %s\n", optind >= argc ? "no trace given" : "no output folder (-o DIR)");
        usage(stderr);
        return ll_exit_code(LL_ERR_USAGE);
    }
    int to_stdout = !strcmp(o.out_dir, "-");
    if (to_stdout && o.formats & (o.formats - 1)) {
        fprintf(stderr, "litelab report: -o - writes one table: give one --format (csv, json or md)\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    if (table_given && !to_stdout) {
        fprintf(stderr, "litelab report: --table picks the table for -o -; a folder gets every table\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    ll_progress progress;
    if (ll_cli_progress_start(&prog_opt, "report", argc, argv, &progress, &err) != LL_OK)
        return ll_report_error("report", &err);
    o.progress = &progress;
    ll_report_input in;
    ll_status st = ll_report_load((const char *const *)(argv + optind), argc - optind, &in, &err);
    if (st == LL_OK) {
        if (to_stdout)
            st = print_table(&in, table, o.formats ? o.formats : LL_FORMAT_MD, &err);
        else
            st = ll_report_write(&in, &o, &err);
        ll_report_input_free(&in);
    }
    ll_cli_progress_finish(&progress, st, &err);
    if (st != LL_OK) return ll_report_error("report", &err);
    return 0;
}
