// report_folder.c: the output folder of `litelab report` (report.h). A new
// report never mixes with an old one: a folder that holds anything is
// refused unless forced, and forcing first removes every file a report
// writes, so that no figure of an older report (a policy that is gone, a
// heatmap not drawn this time) stays next to the new ones.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "report_folder.h"

static ll_status make_dirs(const char *dir, ll_error *err) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return ll_fail(err, LL_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return ll_fail(err, LL_ERR_IO, "%s: cannot create folder: %s", p, strerror(errno));
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) return ll_fail(err, LL_ERR_IO, "%s: not a folder", p);
    return LL_OK;
}

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n > m && !strcmp(s + n - m, tail);
}

int ll_report_owns_file(const char *name) {
    static const char *const names[] = {"report.md", "report.json", "replot.sh", "gnuplot.log", "policies.csv",
                                        "policies.md", "steps.csv",  "steps.md",  "calls.csv"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return 1;
    return ends_with(name, ".png") || ends_with(name, ".svg") || ends_with(name, ".dat");
}

ll_status ll_report_prepare_folder(const char *dir, int force, ll_error *err) {
    LL_TRY(make_dirs(dir, err));
    DIR *d = opendir(dir);
    if (!d) return ll_fail(err, LL_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    int entries = 0;
    char first[256] = "";
    ll_status st = LL_OK;
    for (struct dirent *e; st == LL_OK && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!entries++) snprintf(first, sizeof first, "%s", e->d_name);
        if (!force || !ll_report_owns_file(e->d_name)) continue;
        char path[1400];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;  // only plain files of a report
        if (unlink(path) != 0)
            st = ll_fail(err, LL_ERR_IO, "%s: cannot remove the old report file: %s", path, strerror(errno));
    }
    closedir(d);
    if (st == LL_OK && entries && !force)
        st = ll_fail(err, LL_ERR_USAGE,
                     "%s: the folder is not empty (%d entr%s, e.g. %s): a new report would mix with old files; "
                     "pass --force to replace the report files there, or choose another folder",
                     dir, entries, entries == 1 ? "y" : "ies", first);
    return st;
}
