// cmd_compare.c: `litelab compare A B`: do two traces hold the same results
// (traces/trace_compare.h)? E.g. a merged sharded run against the same
// experiment run unsharded, timings aside.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "trace_compare.h"

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab compare [--ignore-timings] A.h5 B.h5\n\n"
            "Compares two traces: the experiment (config, trajectory, shape, tiling, steps,\n"
            "layers, backend, kernel), the policies, every row of /calls in order (floats bit\n"
            "for bit, NaN equal to NaN), and every mask, tile map and checkpoint. Provenance\n"
            "(versions, creation time, GPU, clocks, shard) is not compared. Prints one line\n"
            "per difference (the first --max), or \"same\".\n\n"
            "options:\n"
            "      --ignore-timings  skip the measured runtimes (gpu_ms, host_ms)\n"
            "      --max N           print at most N differences (default 20)\n"
            "  -h, --help            this text\n\n"
            "exit codes: 0 same, 1 different, 2 usage, 4 missing or unreadable file, 5 not a\n"
            "valid trace\n");
}

int cmd_compare(int argc, char **argv) {
    static const struct option longopts[] = {{"ignore-timings", no_argument, 0, 't'},
                                             {"max", required_argument, 0, 'm'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    ll_trace_compare_options o = {0, 20};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 't': o.ignore_timings = 1; break;
        case 'm': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 1000000) {
                fprintf(stderr, "litelab compare: --max '%s' is not a whole number >= 1\n", optarg);
                return ll_exit_code(LL_ERR_USAGE);
            }
            o.max_report = (int)n;
            break;
        }
        case 'h': print_help(stdout); return 0;
        default: fprintf(stderr, "litelab compare: see litelab compare --help\n"); return ll_exit_code(LL_ERR_USAGE);
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "litelab compare: expected two traces (litelab compare --help)\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    ll_error err;
    ll_error_clear(&err);
    long n = 0;
    ll_status s = ll_trace_compare(argv[optind], argv[optind + 1], &o, stdout, &n, &err);
    if (s != LL_OK) return ll_report_error("compare", &err);
    if (n) {
        printf("%s and %s differ (%ld difference%s%s)\n", argv[optind], argv[optind + 1], n, n > 1 ? "s" : "",
               o.ignore_timings ? ", timings ignored" : "");
        return 1;
    }
    printf("same: %s and %s%s\n", argv[optind], argv[optind + 1], o.ignore_timings ? " (timings ignored)" : "");
    return 0;
}
