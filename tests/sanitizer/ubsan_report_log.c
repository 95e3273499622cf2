// ubsan_report_log.c: linked into the sanitizer build only (make test-asan).
// With AddressSanitizer in the same program, UBSan ignores its log_path and
// prints reports to stderr only, which the suites capture from the CLI they
// run and do not read. UBSan calls __ubsan_on_report for every report; this
// definition appends a line about it to $LITELAB_UBSAN_LOG_DIR/ubsan.<pid>,
// so tests/sanitizer/run_suites.sh sees the reports of every process.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

// The runtime's accessor of the report being made (sanitizer interface).
void __ubsan_get_current_report_data(const char **kind, const char **message, const char **file, unsigned *line,
                                     unsigned *col, char **memory_address);
void __ubsan_on_report(void);

void __ubsan_on_report(void) {
    const char *dir = getenv("LITELAB_UBSAN_LOG_DIR");
    if (!dir || !*dir) return;
    const char *kind = "", *message = "", *file = "";
    unsigned line = 0, col = 0;
    char *address = NULL;
    __ubsan_get_current_report_data(&kind, &message, &file, &line, &col, &address);
    char path[4096];
    snprintf(path, sizeof path, "%s/ubsan.%ld", dir, (long)getpid());
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "UBSan %s: %s at %s:%u:%u\n", kind, message, file, line, col);
    fclose(f);
}
