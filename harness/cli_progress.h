// cli_progress.h: the progress options `litelab calibrate` and `litelab
// report` share (lib/progress.h), with one help text:
//   --progress WHEN   auto (default), tty, lines, lines:SECONDS, none
//   --log FILE        progress lines, the command line and the outcome,
//                     appended to FILE with the time of day
//   -q, --quiet       no progress on stderr (the log is still written)
#pragma once
#include <stdio.h>

#include "common.h"
#include "progress.h"

typedef struct {
    const char *when;  // --progress, NULL: auto
    const char *log;   // --log, NULL: none
    int quiet;         // -q: no progress on stderr unless --progress names a mode
} ll_cli_progress;

#define LL_CLI_PROGRESS_HELP                                                                           \
    "      --progress WHEN      progress on stderr: auto (default: a line updated in place on a\n"   \
    "                           terminal, else one line every 10 s), tty, lines, lines:SECONDS, none\n" \
    "      --log FILE           append progress lines, the command line and the outcome to FILE\n"

// Opens the log (appending) and starts the progress; logs the command line.
ll_status ll_cli_progress_start(const ll_cli_progress *o, const char *cmd, int argc, char **argv, ll_progress *p,
                                ll_error *err);
// Logs the outcome and closes the log.
void ll_cli_progress_finish(ll_progress *p, ll_status st, const ll_error *err);
