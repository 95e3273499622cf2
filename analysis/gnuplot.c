// gnuplot.c: running gnuplot scripts (gnuplot.h). fork + exec, no shell, so
// titles and file names need no shell quoting; only gnuplot's own string
// quoting ('' inside single quotes) applies.
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void ll_gp_vars_init(ll_gp_vars *v) {
    v->len = 0;
    v->overflow = 0;
    v->text[0] = 0;
}

static void append(ll_gp_vars *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof v->text - v->len;
    int n = vsnprintf(v->text + v->len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        v->overflow = 1;
    else
        v->len += (size_t)n;
}

void ll_gp_var_str(ll_gp_vars *v, const char *name, const char *value) {
    append(v, "%s='", name);
    for (const char *s = value; *s && !v->overflow; s++) {
        if (*s == '\'')
            append(v, "''");
        else if (*s == '\n' || *s == '\r')
            append(v, " ");
        else
            append(v, "%c", *s);
    }
    append(v, "'; ");
}

void ll_gp_var_num(ll_gp_vars *v, const char *name, double value) {
    if (isfinite(value))
        append(v, "%s=%.12g; ", name, value);
    else
        append(v, "%s=NaN; ", name);
}

static int has_scripts(const char *dir) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/runtime_vs_skipped.gp", dir);
    return access(p, R_OK) == 0;
}

// gnuplot runs in the output folder: the scripts' folder must be absolute.
static ll_status found(const char *dir, char *out, size_t len, ll_error *err) {
    char abs[PATH_MAX];
    if (!realpath(dir, abs)) return ll_fail(err, LL_ERR_IO, "%s: %s", dir, strerror(errno));
    snprintf(out, len, "%s", abs);
    return LL_OK;
}

ll_status ll_gnuplot_find_scripts(const char *hint, char *out, size_t len, ll_error *err) {
    if (hint) {
        if (!has_scripts(hint))
            return ll_fail(err, LL_ERR_IO, "%s: no gnuplot scripts there (runtime_vs_skipped.gp missing)", hint);
        return found(hint, out, len, err);
    }
    const char *env = getenv("LITELAB_GNUPLOT_DIR");
    if (env && *env) {
        if (!has_scripts(env))
            return ll_fail(err, LL_ERR_IO, "LITELAB_GNUPLOT_DIR=%s: no gnuplot scripts there", env);
        return found(env, out, len, err);
    }
    // Beside the program: build/litelab in a checkout, PREFIX/bin/litelab
    // installed by make install (PREFIX/share/litelab/gnuplot).
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *beside[] = {"../analysis", "../" LL_GNUPLOT_INSTALL_DIR};
            for (int i = 0; i < 2; i++) {
                char cand[PATH_MAX];
                int w = snprintf(cand, sizeof cand, "%s/%s", exe, beside[i]);
                if (w > 0 && (size_t)w < sizeof cand && has_scripts(cand)) return found(cand, out, len, err);
            }
        }
    }
    const char *rel[] = {"analysis", "../analysis"};
    for (int i = 0; i < 2; i++)
        if (has_scripts(rel[i])) return found(rel[i], out, len, err);
    return ll_fail(err, LL_ERR_IO,
                   "gnuplot scripts not found (looked in $LITELAB_GNUPLOT_DIR, <litelab>/../analysis, "
                   "<litelab>/../" LL_GNUPLOT_INSTALL_DIR ", ./analysis, ../analysis); pass --scripts DIR");
}

// The last few lines of the log, for the error message.
static void log_tail(const char *path, char *out, size_t len) {
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long start = size > (long)len - 1 ? size - (long)len + 1 : 0;
    fseek(f, start, SEEK_SET);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = 0;
    fclose(f);
    for (char *c = out; *c; c++)
        if (*c == '\n') *c = ' ';
}

ll_status ll_gnuplot_run(const char *scripts_dir, const char *script, const ll_gp_vars *vars, const char *out_dir,
                         FILE *replot, const char *const *outputs, int n_outputs, ll_error *err) {
    if (vars->overflow) return ll_fail(err, LL_ERR_INTERNAL, "gnuplot %s: variables too long", script);
    char script_path[PATH_MAX], abs_script[PATH_MAX], log_path[PATH_MAX];
    snprintf(script_path, sizeof script_path, "%s/%s", scripts_dir, script);
    if (!realpath(script_path, abs_script))
        return ll_fail(err, LL_ERR_IO, "%s: cannot open the gnuplot script: %s", script_path, strerror(errno));
    snprintf(log_path, sizeof log_path, "%s/gnuplot.log", out_dir);
    for (int i = 0; i < n_outputs; i++) {  // stale outputs must not pass the check below
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", out_dir, outputs[i]);
        unlink(p);
    }
    if (replot) {
        fputs("gnuplot -e \"", replot);
        for (const char *c = vars->text; *c; c++) {
            if (*c == '"' || *c == '\\' || *c == '$' || *c == '`') fputc('\\', replot);
            fputc(*c, replot);
        }
        fprintf(replot, "\" \"%s\"\n", abs_script);
    }
    pid_t pid = fork();
    if (pid < 0) return ll_fail(err, LL_ERR_IO, "gnuplot: fork failed: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dprintf(fd, "== %s\n", script);
            dup2(fd, 2);
            dup2(fd, 1);
            close(fd);
        }
        if (chdir(out_dir) != 0) _exit(126);
        execlp("gnuplot", "gnuplot", "-e", vars->text, abs_script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return ll_fail(err, LL_ERR_IO, "gnuplot: wait failed: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return ll_fail(err, LL_ERR_IO, "gnuplot not found: install it (Debian: apt-get install gnuplot-nox)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char tail[600];
        log_tail(log_path, tail, sizeof tail);
        return ll_fail(err, LL_ERR_IO, "gnuplot %s failed (see %s): ...%s", script, log_path, tail);
    }
    for (int i = 0; i < n_outputs; i++) {
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", out_dir, outputs[i]);
        if (stat(p, &st) != 0 || st.st_size == 0)
            return ll_fail(err, LL_ERR_IO, "gnuplot %s: %s was not written (see %s)", script, p, log_path);
    }
    return LL_OK;
}
