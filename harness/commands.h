// commands.h: the `litelab` subcommands. Each lives in harness/cmd_<name>.c,
// parses its own options with getopt_long, answers --help, and returns a
// process exit code (ll_exit_code of its status; 2 for usage errors).
#pragma once

typedef int (*ll_command_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    ll_command_fn run;
    const char *summary;
} ll_command;

// Weak: the dispatcher lists only the commands that are built.
#define LL_COMMAND(name) int name(int argc, char **argv) __attribute__((weak));
LL_COMMAND(cmd_synth)
LL_COMMAND(cmd_run)
LL_COMMAND(cmd_capture)
LL_COMMAND(cmd_info)
LL_COMMAND(cmd_validate)
LL_COMMAND(cmd_bench)
LL_COMMAND(cmd_report)
LL_COMMAND(cmd_calibrate)

// Prints "litelab <cmd>: <message>" to stderr and returns the exit code for s.
#include "common.h"
int ll_report_error(const char *cmd, const ll_error *err);
