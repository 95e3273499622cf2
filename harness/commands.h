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

// Plain declarations: a command listed here (and in litelab.c's table)
// whose file is missing is a link error, never a command that silently
// disappears from `litelab help`.
int cmd_synth(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_compare(int argc, char **argv);

// Prints "litelab <cmd>: <message>" to stderr and returns the exit code for s.
#include "common.h"
int ll_report_error(const char *cmd, const ll_error *err);
