// cli_progress.c: --progress, --log and -q of calibrate and report (cli_progress.h).
#include "cli_progress.h"

#include <errno.h>
#include <string.h>

ll_status ll_cli_progress_start(const ll_cli_progress *o, const char *cmd, int argc, char **argv, ll_progress *p,
                                ll_error *err) {
    ll_progress_mode mode = LL_PROGRESS_AUTO;
    double interval = LL_PROGRESS_INTERVAL_S;
    if (o->when) LL_TRY(ll_progress_parse(o->when, &mode, &interval, err));
    else if (o->quiet) mode = LL_PROGRESS_NONE;
    FILE *log = NULL;
    if (o->log && !(log = fopen(o->log, "a")))
        return ll_fail(err, LL_ERR_IO, "--log %s: cannot open for appending: %s", o->log, strerror(errno));
    ll_progress_start(p, cmd, mode, interval, stderr, log);
    if (log) {
        char line[2048];
        size_t n = 0;
        line[0] = 0;
        for (int i = 0; i < argc && n + 2 < sizeof line; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s", i ? " " : "", argv[i]);
        ll_progress_log(p, "started: litelab %s", line);
    }
    return LL_OK;
}

void ll_cli_progress_finish(ll_progress *p, ll_status st, const ll_error *err) {
    ll_progress_end(p);
    if (!p->log) return;
    if (st == LL_OK)
        ll_progress_log(p, "finished");
    else
        ll_progress_log(p, "failed: %s", err && err->msg[0] ? err->msg : ll_status_name(st));
    fclose(p->log);
    p->log = NULL;
}
