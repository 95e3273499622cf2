// cmd_merge.c: `litelab merge OUT.h5 SHARD...`: one trace from the traces of
// a sharded run (`litelab run --shard I/N`), equal to what the unsharded run
// writes (traces/trace_merge.h).
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "trace_merge.h"

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab merge [--force] OUT.h5 SHARD.h5...\n\n"
            "Joins the traces of a sharded run (litelab run EXP --shard I/N writes\n"
            "OUT.shard-I-of-N.h5) into one trace with the rows, masks, tile maps and\n"
            "checkpoints of the unsharded run, in its order. Checks first that the shards are\n"
            "complete, of the same experiment (config, trajectory, shape, policies), litelab\n"
            "version, backend and kernel and plan, and hold every work unit exactly once;\n"
            "otherwise it fails naming the shard and the missing or duplicate units and\n"
            "writes nothing.\n\n"
            "options:\n"
            "  -f, --force   replace OUT.h5 if it exists\n"
            "  -q, --quiet   no progress lines\n"
            "  -h, --help    this text\n\n"
            "exit codes: 0 merged, 2 usage or shards that do not fit together, 4 I/O error,\n"
            "5 corrupt or foreign file\n");
}

int cmd_merge(int argc, char **argv) {
    static const struct option longopts[] = {{"force", no_argument, 0, 'f'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int force = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 'q': quiet = 1; break;
        case 'h': print_help(stdout); return 0;
        default: fprintf(stderr, "litelab merge: see litelab merge --help\n"); return ll_exit_code(LL_ERR_USAGE);
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "litelab merge: expected OUT.h5 and at least one shard trace (litelab merge --help)\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    ll_error err;
    ll_error_clear(&err);
    ll_status s = ll_trace_merge(argv[optind], (const char *const *)argv + optind + 1, argc - optind - 1, force,
                                 quiet ? NULL : stderr, &err);
    if (s != LL_OK) return ll_report_error("merge", &err);
    if (!quiet) printf("merged %d shards into %s\n", argc - optind - 1, argv[optind]);
    return 0;
}
