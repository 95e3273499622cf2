// cmd_validate.c: `litelab validate FILE...`: checks traces and captures
// against traces/FORMAT.md and says OK or lists the problems.
#include <getopt.h>
#include <stdio.h>

#include "capture.h"
#include "commands.h"
#include "trace.h"

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab validate [--allow-partial] FILE...\n\n"
            "Checks litelab HDF5 files against traces/FORMAT.md: format and version, every\n"
            "attribute's presence and type, table fields, row ranges and FLOP consistency,\n"
            "mask, map and checkpoint dimensions (traces); dataset shapes and every stored\n"
            "(step, layer) reading back with finite values (captures). Prints OK or one line\n"
            "per problem.\n\n"
            "options:\n"
            "      --allow-partial  accept a valid but incomplete file (FILE.partial of a run\n"
            "                       or capture that did not finish) as valid\n"
            "  -q, --quiet          print only problems\n"
            "  -h, --help           this text\n\n"
            "exit codes: 0 valid (and complete, unless --allow-partial); 5 problems found, not a\n"
            "litelab file, or valid but incomplete (its own message); 4 missing or unreadable\n"
            "file; 2 usage. With several files, the last failure's code.\n");
}

int cmd_validate(int argc, char **argv) {
    static const struct option longopts[] = {{"allow-partial", no_argument, 0, 'p'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int allow_partial = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': allow_partial = 1; break;
        case 'q': quiet = 1; break;
        case 'h': print_help(stdout); return 0;
        default: fprintf(stderr, "litelab validate: see litelab validate --help\n"); return ll_exit_code(LL_ERR_USAGE);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "litelab validate: expected at least one FILE (litelab validate --help)\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    int code = 0;
    for (int i = optind; i < argc; i++) {
        ll_error err;
        ll_error_clear(&err);
        ll_file_kind kind;
        ll_status s = ll_file_kind_detect(argv[i], &kind, &err);
        if (s == LL_OK) {
            FILE *report = quiet ? NULL : stdout;
            s = kind == LL_FILE_TRACE ? ll_trace_validate_file(argv[i], allow_partial, report, &err)
                                      : ll_capture_validate_file(argv[i], allow_partial, report, &err);
        }
        fflush(stdout);
        if (s != LL_OK) code = ll_report_error("validate", &err);
    }
    return code;
}
