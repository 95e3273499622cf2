// progress.h: progress of a long command, readable wherever its stderr goes.
// On a terminal one line updates in place (\r); into a pipe or a file (batch
// jobs, `tee` logs) whole lines, at most one per interval plus the last, so
// a log shows how far a job got without carriage returns; nothing at all in
// NONE mode (-q). A log file (--log FILE) gets the same lines with the time
// of day, appended, whatever the mode.
//
//   ll_progress p;
//   ll_progress_start(&p, "calibrate", LL_PROGRESS_AUTO, 10, stderr, log);
//   for (...) ll_progress_update(&p, done, total, "pass 1/2, step %d/%d", s + 1, n);
//   ll_progress_end(&p);
//   ll_progress_note(&p, "table built in %.1f s", secs);
#pragma once
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LL_PROGRESS_AUTO = 0,  // TTY when the stream is a terminal, else LINES
    LL_PROGRESS_TTY,       // one line updated in place
    LL_PROGRESS_LINES,     // whole lines, at most one per interval
    LL_PROGRESS_NONE,      // nothing on the stream (the log still gets its lines)
} ll_progress_mode;

#define LL_PROGRESS_INTERVAL_S 10.0  // LINES: the default seconds between lines

typedef struct {
    ll_progress_mode mode;  // resolved: TTY, LINES or NONE
    FILE *out;              // the stream (stderr), NULL for none
    FILE *log;              // NULL for none
    double interval_s;
    char what[48];          // the command, first word of every line
    double t0, last_out, last_log;
    int updates;
    int line_open;          // TTY: an unfinished line is on screen
} ll_progress;

// Parses --progress WHEN: auto, tty, lines, lines:SECONDS, none.
ll_status ll_progress_parse(const char *arg, ll_progress_mode *mode, double *interval_s, ll_error *err);

void ll_progress_start(ll_progress *p, const char *what, ll_progress_mode mode, double interval_s, FILE *out,
                       FILE *log);
// done of total units (total <= 0: unknown, no percentage or ETA); the
// message says where the work is.
void ll_progress_update(ll_progress *p, double done, double total, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// A line printed in every mode but NONE and logged: a stage that finished.
void ll_progress_note(ll_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A line for the log only (the command line at the start, the outcome).
void ll_progress_log(ll_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Ends the work: the updating line (TTY) stays on screen, closed by a newline.
void ll_progress_end(ll_progress *p);

#ifdef __cplusplus
}
#endif
