// tiny_trace.c: the tiny CPU trace of tiny_trace.h.
#include "tiny_trace.h"

#include <stdio.h>
#include <stdlib.h>

#include "test_suites.h"

static const char CONFIG[] =
    "{\"name\": \"tiny\", \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 1}, \"backend\": \"cpu\",\n"
    " \"tiling\": {\"block_m\": 64, \"block_n\": 64}, \"record\": {\"per_head\": true,\n"
    "   \"masks\": {\"steps\": \"all\", \"layers\": [0]}, \"tile_maps\": {\"steps\": [0, 3], \"layers\": [0]}},\n"
    " \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"},\n"
    "   {\"name\": \"lite_t-6\", \"kind\": \"lite\", \"threshold\": -6},\n"
    "   {\"name\": \"lite_t-2\", \"kind\": \"lite\", \"threshold\": -2},\n"
    "   {\"name\": \"lite_t-1\", \"kind\": \"lite\", \"threshold\": -1},\n"
    "   {\"name\": \"oracle_t-6\", \"kind\": \"oracle\", \"threshold\": -6}]}\n";

int tt_make_tiny_trace(const char *dir, char *trace, size_t len) {
    char cfg[600], cmd[1600];
    snprintf(cfg, sizeof cfg, "%s/tiny.json", dir);
    snprintf(trace, len, "%s/tiny.h5", dir);
    FILE *f = fopen(cfg, "w");
    if (!f) return -1;
    int bad = fputs(CONFIG, f) < 0;
    if (fclose(f) != 0 || bad) return -1;
    snprintf(cmd, sizeof cmd, LITELAB " run %s -o %s -q", cfg, trace);
    return system(cmd) == 0 ? 0 : -1;
}
