// progress.c: progress lines for terminals, pipes and log files (progress.h).
#include "progress.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TTY_REFRESH_S 0.2  // a terminal line is rewritten at most 5 times a second

ll_status ll_progress_parse(const char *arg, ll_progress_mode *mode, double *interval_s, ll_error *err) {
    *interval_s = LL_PROGRESS_INTERVAL_S;
    if (!strcmp(arg, "auto")) *mode = LL_PROGRESS_AUTO;
    else if (!strcmp(arg, "tty")) *mode = LL_PROGRESS_TTY;
    else if (!strcmp(arg, "none")) *mode = LL_PROGRESS_NONE;
    else if (!strcmp(arg, "lines")) *mode = LL_PROGRESS_LINES;
    else if (!strncmp(arg, "lines:", 6)) {
        char *end;
        double s = strtod(arg + 6, &end);
        if (end == arg + 6 || *end || !(s >= 0 && s <= 86400))
            return ll_fail(err, LL_ERR_USAGE, "--progress %s: expected lines:SECONDS with 0 <= SECONDS <= 86400", arg);
        *mode = LL_PROGRESS_LINES;
        *interval_s = s;
    } else {
        return ll_fail(err, LL_ERR_USAGE, "--progress %s: expected auto, tty, lines, lines:SECONDS or none", arg);
    }
    return LL_OK;
}

void ll_progress_start(ll_progress *p, const char *what, ll_progress_mode mode, double interval_s, FILE *out,
                       FILE *log) {
    memset(p, 0, sizeof *p);
    if (mode == LL_PROGRESS_AUTO) mode = out && isatty(fileno(out)) ? LL_PROGRESS_TTY : LL_PROGRESS_LINES;
    p->mode = out ? mode : LL_PROGRESS_NONE;
    p->out = out;
    p->log = log;
    p->interval_s = interval_s >= 0 ? interval_s : LL_PROGRESS_INTERVAL_S;
    snprintf(p->what, sizeof p->what, "%s", what);
    p->t0 = ll_now_seconds();
}

static void duration(double s, char *out, size_t len) {
    if (!(s >= 0) || s > 1e7)
        snprintf(out, len, "?");
    else if (s < 60)
        snprintf(out, len, "%.0f s", s);
    else if (s < 3600)
        snprintf(out, len, "%d min %02d s", (int)s / 60, (int)s % 60);
    else
        snprintf(out, len, "%d h %02d min", (int)s / 3600, (int)s % 3600 / 60);
}

static void log_line(ll_progress *p, const char *line) {
    if (!p->log) return;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    fprintf(p->log, "[%s] %s\n", stamp, line);
    fflush(p->log);
}

static void close_tty_line(ll_progress *p) {
    if (p->mode == LL_PROGRESS_TTY && p->line_open) {
        fputs("\r\033[K", p->out);
        p->line_open = 0;
    }
}

void ll_progress_update(ll_progress *p, double done, double total, const char *fmt, ...) {
    double now = ll_now_seconds(), elapsed = now - p->t0;
    int first = p->updates++ == 0, last = total > 0 && done >= total;
    char msg[512], line[700], el[32], eta[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    duration(elapsed, el, sizeof el);
    if (total > 0 && done > 0) {
        duration(elapsed * (total - done) / done, eta, sizeof eta);
        snprintf(line, sizeof line, "%s: %s (%.0f%%, %s elapsed, ETA %s)", p->what, msg, 100.0 * done / total, el,
                 eta);
    } else {
        snprintf(line, sizeof line, "%s: %s (%s elapsed)", p->what, msg, el);
    }
    if (p->mode == LL_PROGRESS_TTY && (first || last || now - p->last_out >= TTY_REFRESH_S)) {
        fprintf(p->out, "\r%s\033[K", line);
        fflush(p->out);
        p->line_open = 1;
        p->last_out = now;
    } else if (p->mode == LL_PROGRESS_LINES && (first || last || now - p->last_out >= p->interval_s)) {
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
        p->last_out = now;
    }
    if (p->log && (first || last || now - p->last_log >= p->interval_s)) {
        log_line(p, line);
        p->last_log = now;
    }
}

// "<what>: <message>" into line.
static void vline(const ll_progress *p, char *line, size_t len, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    snprintf(line, len, "%s: %s", p->what, msg);
}

void ll_progress_note(ll_progress *p, const char *fmt, ...) {
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vline(p, line, sizeof line, fmt, ap);
    va_end(ap);
    close_tty_line(p);
    if (p->mode != LL_PROGRESS_NONE) {
        fprintf(p->out, "%s\n", line);
        fflush(p->out);
    }
    log_line(p, line);
}

void ll_progress_log(ll_progress *p, const char *fmt, ...) {
    if (!p->log) return;
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vline(p, line, sizeof line, fmt, ap);
    va_end(ap);
    log_line(p, line);
}

void ll_progress_end(ll_progress *p) {
    p->updates = 0;  // the next phase shows its first update at once
    if (p->mode == LL_PROGRESS_TTY && p->line_open) {
        fputc('\n', p->out);  // keep the last state on screen
        p->line_open = 0;
    }
}
