// litelab.c: the entry point. It only dispatches to a subcommand
// (git-style: `litelab <command> [options]`); each command is its own file.
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "version.h"

static const ll_command commands[] = {
    {"run", cmd_run, "run an experiment: replay policies over a trajectory, write an HDF5 trace"},
    {"synth", cmd_synth, "generate a synthetic video-DiT trajectory as an HDF5 capture"},
    {"capture", cmd_capture, "record tile-level attention maps from dense runs"},
    {"info", cmd_info, "summarise a trace or capture file"},
    {"validate", cmd_validate, "check a trace or capture file against its format"},
    {"bench", cmd_bench, "time the CUDA kernels with CUPTI (GPU)"},
    {"report", cmd_report, "tables and gnuplot figures from traces"},
    {"calibrate", cmd_calibrate, "per-step threshold schedule within an error budget"},
    {"merge", cmd_merge, "join the traces of a sharded run (run --shard I/N) into one"},
    {"compare", cmd_compare, "check that two traces hold the same results"},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static void print_help(FILE *f) {
    fprintf(f,
            "litelab %s (%s): benchmarking and profiling toolkit for LiteAttention,\n"
            "temporal sparse attention for video diffusion transformers.\n\n"
            "usage: litelab <command> [options]    (litelab <command> --help for details)\n\ncommands:\n",
            ll_version(), ll_git_commit());
    fprintf(f, "  %-10s %s\n", "help", "list the commands");
    for (int i = 0; i < n_commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nexit codes: 0 ok, 2 usage, 3 invalid input, 4 I/O error, 5 corrupt or foreign file,\n"
            "6 out of memory, 7 no usable GPU, 8 CUDA error, 9 internal error\n");
}

int ll_report_error(const char *cmd, const ll_error *err) {
    fprintf(stderr, "litelab %s: %s\n", cmd, err->msg[0] ? err->msg : ll_status_name(err->code));
    return ll_exit_code(err->code);
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        print_help(stdout);
        return argc < 2 ? ll_exit_code(LL_ERR_USAGE) : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("litelab %s (%s)\n", ll_version(), ll_git_commit());
        return 0;
    }
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "litelab: unknown command '%s' (litelab help lists them)\n", argv[1]);
    return ll_exit_code(LL_ERR_USAGE);
}
