// common.c: the error record, status names and small shared helpers.
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

ll_status ll_fail(ll_error *err, ll_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void ll_error_clear(ll_error *err) {
    if (err) {
        err->code = LL_OK;
        err->msg[0] = '\0';
    }
}

const char *ll_status_name(ll_status s) {
    switch (s) {
    case LL_OK: return "ok";
    case LL_ERR_USAGE: return "usage error";
    case LL_ERR_INVALID: return "invalid input";
    case LL_ERR_IO: return "I/O error";
    case LL_ERR_FORMAT: return "corrupt or foreign file";
    case LL_ERR_NOMEM: return "out of memory";
    case LL_ERR_NO_GPU: return "no usable GPU";
    case LL_ERR_CUDA: return "CUDA error";
    case LL_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int ll_exit_code(ll_status s) { return s == LL_OK ? 0 : (int)s + 1; }

const char *ll_dtype_name(ll_dtype t) { return t == LL_FP16 ? "fp16" : "bf16"; }

ll_status ll_dtype_parse(const char *s, ll_dtype *out, ll_error *err) {
    if (s && strcmp(s, "bf16") == 0) { *out = LL_BF16; return LL_OK; }
    if (s && strcmp(s, "fp16") == 0) { *out = LL_FP16; return LL_OK; }
    return ll_fail(err, LL_ERR_INVALID, "unknown dtype '%s' (expected bf16 or fp16)", s ? s : "(null)");
}

ll_status ll_shape_validate(const ll_shape *s, const char *what, ll_error *err) {
    if (s->B < 1 || s->N < 1 || s->H < 1)
        return ll_fail(err, LL_ERR_INVALID, "%s: shape B=%d N=%d H=%d must all be >= 1", what, s->B, s->N, s->H);
    if (s->D != 64 && s->D != 96 && s->D != 128)
        return ll_fail(err, LL_ERR_INVALID, "%s: head dim D=%d not supported (64, 96 or 128)", what, s->D);
    if (s->dtype != LL_BF16 && s->dtype != LL_FP16)
        return ll_fail(err, LL_ERR_INVALID, "%s: unknown dtype code %d", what, (int)s->dtype);
    return LL_OK;
}

double ll_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
