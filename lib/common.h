// common.h: status codes, the error record every call fills, dtypes and
// shapes shared by the whole library. One error style everywhere: a call
// returns ll_status and, on failure, writes a message naming the file or
// object and the problem into an ll_error owned by the caller.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LL_OK = 0,
    LL_ERR_USAGE = 1,     // bad command line or config
    LL_ERR_INVALID = 2,   // invalid input: shape, dtype, NaN/Inf, skip-list invariant
    LL_ERR_IO = 3,        // cannot open/read/write a file, disk full
    LL_ERR_FORMAT = 4,    // file exists but is corrupt, truncated or foreign
    LL_ERR_NOMEM = 5,     // host or device allocation failed
    LL_ERR_NO_GPU = 6,    // a GPU was required and none is usable
    LL_ERR_CUDA = 7,      // a CUDA / CUPTI call failed
    LL_ERR_INTERNAL = 8,  // a bug in litelab: please report
} ll_status;

typedef struct {
    ll_status code;
    char msg[1024];
} ll_error;

// Records the failure (printf-style) and returns code, so callers can write
//   if (n < 1) return ll_fail(err, LL_ERR_INVALID, "%s: N must be >= 1", path);
// err may be NULL (the message is then dropped).
ll_status ll_fail(ll_error *err, ll_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ll_error_clear(ll_error *err);
const char *ll_status_name(ll_status s);
// Process exit code for a status (documented in the README): 0 ok, 2 usage,
// 3 invalid input, 4 I/O, 5 corrupt file, 6 out of memory, 7 no GPU, 8 CUDA, 9 internal.
int ll_exit_code(ll_status s);

// Propagate a failing ll_status from a callee (the callee already filled err).
#define LL_TRY(call)                          \
    do {                                      \
        ll_status ll_try_s_ = (call);         \
        if (ll_try_s_ != LL_OK) return ll_try_s_; \
    } while (0)

// Element types of Q, K, V, O: 16-bit words in memory.
typedef enum { LL_BF16 = 0, LL_FP16 = 1 } ll_dtype;
const char *ll_dtype_name(ll_dtype t);
// Parses "bf16" or "fp16"; returns LL_ERR_INVALID otherwise.
ll_status ll_dtype_parse(const char *s, ll_dtype *out, ll_error *err);

// One attention call's shape. Tensors are laid out [B, N, H, D] (token-major,
// as video DiTs keep them); LSE is [B, H, N].
typedef struct {
    int B, N, H, D;
    ll_dtype dtype;
} ll_shape;

static inline size_t ll_shape_elems(const ll_shape *s) {
    return (size_t)s->B * s->N * s->H * s->D;
}
// Checks B, N, H >= 1 and D in {64, 96, 128}; names `what` in the message.
ll_status ll_shape_validate(const ll_shape *s, const char *what, ll_error *err);

static inline int ll_ceil_div(int a, int b) { return (a + b - 1) / b; }

// Wall clock in seconds (monotonic), for progress/ETA and CPU timings only;
// GPU times always come from CUPTI.
double ll_now_seconds(void);

#ifdef __cplusplus
}
#endif
