// gpu_timer.c: kernel runtimes from CUPTI activity records.
//
// CUPTI delivers one CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL record per kernel,
// with start and end read from the GPU's own clock, so host scheduling and
// launch gaps do not enter the figure. Records arrive in buffers that CUPTI
// asks for (buffer_requested) and hands back full (buffer_completed), possibly
// on its own worker thread; the completed callback copies what we need into a
// store under a mutex. end() synchronises the device and calls
// cuptiActivityFlushAll, which hands back every buffer before it returns.
//
// CUPTI state is process-wide, so the store is too: timers share it, and only
// one timer may be between begin() and end() at a time.
#include "gpu_timer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <cupti.h>

// The C++ runtime's demangler (libstdc++ is linked anyway for the kernels).
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

// ---------------------------------------------------------------------------
// Checked calls: every failure names the file, line, call and the library's
// own message.

static ll_status cupti_fail(ll_error *err, CUptiResult r, const char *call, const char *file, int line) {
    const char *msg = NULL;
    if (cuptiGetResultString(r, &msg) != CUPTI_SUCCESS || !msg) msg = "unknown CUPTI error";
    return ll_fail(err, LL_ERR_CUDA, "%s:%d: %s failed: %s (CUPTI error %d)", file, line, call, msg, (int)r);
}

static ll_status cuda_fail(ll_error *err, cudaError_t e, const char *call, const char *file, int line) {
    ll_status code = LL_ERR_CUDA;
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) code = LL_ERR_NO_GPU;
    if (e == cudaErrorMemoryAllocation) code = LL_ERR_NOMEM;
    return ll_fail(err, code, "%s:%d: %s failed: %s (%s)", file, line, call, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

#define CUPTI_CHECK(call)                                                              \
    do {                                                                               \
        CUptiResult cupti_r_ = (call);                                                 \
        if (cupti_r_ != CUPTI_SUCCESS) return cupti_fail(err, cupti_r_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUDA_CHECK(call)                                                               \
    do {                                                                               \
        cudaError_t cuda_e_ = (call);                                                  \
        if (cuda_e_ != cudaSuccess) return cuda_fail(err, cuda_e_, #call, __FILE__, __LINE__); \
    } while (0)

// ---------------------------------------------------------------------------
// The process-wide record store, filled by the completed-buffer callback.

enum { BUFFER_BYTES = 8 << 20, BUFFER_ALIGN = 8 };

static struct {
    pthread_mutex_t lock;
    int n_timers;                  // live timers; CUPTI tracing is on while > 0
    const ll_gpu_timer *running;   // the timer between begin() and end(), if any
    ll_kernel_record *recs;
    int n, cap;
    size_t dropped;                // records CUPTI could not store
    char callback_error[512];      // first failure inside a callback (they cannot return one)
} g_store = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct ll_gpu_timer {
    int running;
};

// Called with the lock held.
static void store_callback_error(const char *fmt, const char *what, int code) {
    if (!g_store.callback_error[0])
        snprintf(g_store.callback_error, sizeof g_store.callback_error, fmt, what, code);
}

// Copies the kernel name, demangled when the demangler understands it.
static void copy_kernel_name(char *dst, size_t len, const char *mangled) {
    if (!mangled) {
        snprintf(dst, len, "(unnamed kernel)");
        return;
    }
    int status = -1;
    char *plain = __cxa_demangle(mangled, NULL, NULL, &status);
    snprintf(dst, len, "%s", status == 0 && plain ? plain : mangled);
    free(plain);
}

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records) {
    *max_records = 0;  // as many as fit
    *buffer = aligned_alloc(BUFFER_ALIGN, BUFFER_BYTES);
    *size = *buffer ? BUFFER_BYTES : 0;
    if (!*buffer) {  // CUPTI drops records; end() reports it
        pthread_mutex_lock(&g_store.lock);
        store_callback_error("CUPTI activity buffer request: %s (%d bytes)", "out of host memory", BUFFER_BYTES);
        pthread_mutex_unlock(&g_store.lock);
    }
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                      size_t valid) {
    (void)size;
    pthread_mutex_lock(&g_store.lock);
    CUpti_Activity *rec = NULL;
    for (;;) {
        CUptiResult r = cuptiActivityGetNextRecord(buffer, valid, &rec);
        if (r == CUPTI_ERROR_MAX_LIMIT_REACHED) break;  // end of the buffer
        if (r != CUPTI_SUCCESS) {
            store_callback_error("%s failed with CUPTI error %d", "cuptiActivityGetNextRecord", (int)r);
            break;
        }
        if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && rec->kind != CUPTI_ACTIVITY_KIND_KERNEL)
            continue;
        const CUpti_ActivityKernel10 *k = (const CUpti_ActivityKernel10 *)rec;
        if (g_store.n == g_store.cap) {
            int cap = g_store.cap ? 2 * g_store.cap : 1024;
            ll_kernel_record *grown = realloc(g_store.recs, (size_t)cap * sizeof *grown);
            if (!grown) {
                store_callback_error("%s: out of host memory (%d records)", "CUPTI record store", cap);
                break;
            }
            g_store.recs = grown;
            g_store.cap = cap;
        }
        ll_kernel_record *out = &g_store.recs[g_store.n++];
        copy_kernel_name(out->name, sizeof out->name, k->name);
        out->start_ns = k->start;
        out->end_ns = k->end;
    }
    size_t dropped = 0;
    CUptiResult r = cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped);
    if (r != CUPTI_SUCCESS)
        store_callback_error("%s failed with CUPTI error %d", "cuptiActivityGetNumDroppedRecords", (int)r);
    g_store.dropped += dropped;
    pthread_mutex_unlock(&g_store.lock);
    free(buffer);
}

// A usable device, or LL_ERR_NO_GPU with the runtime's reason.
static ll_status require_gpu(ll_error *err) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)  // "insufficient driver" is also what a machine with no driver at all reports
        return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: cudaGetDeviceCount: %s (%s)%s", cudaGetErrorString(e),
                       cudaGetErrorName(e),
                       e == cudaErrorInsufficientDriver ? "; no NVIDIA driver, or one older than this CUDA runtime"
                                                        : "");
    if (n < 1) return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: the CUDA runtime sees no device");
    return LL_OK;
}

// ---------------------------------------------------------------------------

ll_status ll_gpu_timer_create(ll_gpu_timer **out, ll_error *err) {
    *out = NULL;
    LL_TRY(require_gpu(err));
    ll_gpu_timer *t = calloc(1, sizeof *t);
    if (!t) return ll_fail(err, LL_ERR_NOMEM, "gpu timer: out of host memory");
    pthread_mutex_lock(&g_store.lock);
    int first = g_store.n_timers == 0;
    pthread_mutex_unlock(&g_store.lock);
    if (first) {
        // Registering twice is allowed by CUPTI; enabling is what starts tracing.
        CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
        if (r == CUPTI_SUCCESS) r = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        if (r != CUPTI_SUCCESS) {
            free(t);
            return cupti_fail(err, r, "cuptiActivityRegisterCallbacks / cuptiActivityEnable(CONCURRENT_KERNEL)",
                              __FILE__, __LINE__);
        }
    }
    pthread_mutex_lock(&g_store.lock);
    g_store.n_timers++;
    pthread_mutex_unlock(&g_store.lock);
    *out = t;
    return LL_OK;
}

void ll_gpu_timer_destroy(ll_gpu_timer *t) {
    if (!t) return;
    pthread_mutex_lock(&g_store.lock);
    if (g_store.running == t) g_store.running = NULL;
    int last = --g_store.n_timers == 0;
    pthread_mutex_unlock(&g_store.lock);
    if (last) {
        // Best effort on teardown: nothing is left to report the failure to.
        cudaDeviceSynchronize();
        cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
        cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        pthread_mutex_lock(&g_store.lock);
        free(g_store.recs);
        g_store.recs = NULL;
        g_store.n = g_store.cap = 0;
        pthread_mutex_unlock(&g_store.lock);
    }
    free(t);
}

ll_status ll_gpu_timer_begin(ll_gpu_timer *t, ll_error *err) {
    pthread_mutex_lock(&g_store.lock);
    int busy = g_store.running && g_store.running != t;
    pthread_mutex_unlock(&g_store.lock);
    if (busy) return ll_fail(err, LL_ERR_INTERNAL, "gpu timer: another timer is between begin() and end()");
    // Drain the records of earlier work so only kernels launched from now on count.
    CUDA_CHECK(cudaDeviceSynchronize());
    CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));
    pthread_mutex_lock(&g_store.lock);
    g_store.n = 0;
    g_store.dropped = 0;
    g_store.callback_error[0] = '\0';
    g_store.running = t;
    pthread_mutex_unlock(&g_store.lock);
    t->running = 1;
    return LL_OK;
}

ll_status ll_gpu_timer_end(ll_gpu_timer *t, double *kernel_ms, int *n_kernels, ll_kernel_record *records,
                           int max_records, ll_error *err) {
    *kernel_ms = 0.0;
    *n_kernels = 0;
    if (!t->running) return ll_fail(err, LL_ERR_INTERNAL, "gpu timer: end() without begin()");
    t->running = 0;
    pthread_mutex_lock(&g_store.lock);
    g_store.running = NULL;
    pthread_mutex_unlock(&g_store.lock);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUPTI_CHECK(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED));

    ll_status s = LL_OK;
    pthread_mutex_lock(&g_store.lock);
    if (g_store.callback_error[0]) {
        s = ll_fail(err, LL_ERR_CUDA, "gpu timer: %s", g_store.callback_error);
    } else if (g_store.dropped) {
        s = ll_fail(err, LL_ERR_CUDA, "gpu timer: CUPTI dropped %zu activity records; the timing is incomplete",
                    g_store.dropped);
    } else {
        double ns = 0.0;
        for (int i = 0; i < g_store.n; i++) {
            const ll_kernel_record *r = &g_store.recs[i];
            if (r->end_ns < r->start_ns) {
                s = ll_fail(err, LL_ERR_CUDA, "gpu timer: kernel '%s' has end %llu before start %llu", r->name,
                            (unsigned long long)r->end_ns, (unsigned long long)r->start_ns);
                break;
            }
            ns += (double)(r->end_ns - r->start_ns);
            if (records && i < max_records) records[i] = *r;
        }
        if (s == LL_OK) {
            *kernel_ms = ns * 1e-6;
            *n_kernels = g_store.n;
        }
    }
    pthread_mutex_unlock(&g_store.lock);
    return s;
}

// ---------------------------------------------------------------------------
// CUDA events, for the once-per-run cross-check.

struct ll_gpu_events {
    cudaEvent_t start, stop;
};

ll_status ll_gpu_events_create(ll_gpu_events **out, ll_error *err) {
    *out = NULL;
    LL_TRY(require_gpu(err));
    ll_gpu_events *e = calloc(1, sizeof *e);
    if (!e) return ll_fail(err, LL_ERR_NOMEM, "gpu events: out of host memory");
    cudaError_t r = cudaEventCreate(&e->start);
    if (r == cudaSuccess) {
        r = cudaEventCreate(&e->stop);
        if (r != cudaSuccess) cudaEventDestroy(e->start);
    }
    if (r != cudaSuccess) {
        free(e);
        return cuda_fail(err, r, "cudaEventCreate", __FILE__, __LINE__);
    }
    *out = e;
    return LL_OK;
}

void ll_gpu_events_destroy(ll_gpu_events *e) {
    if (!e) return;
    cudaEventDestroy(e->start);
    cudaEventDestroy(e->stop);
    free(e);
}

ll_status ll_gpu_events_begin(ll_gpu_events *e, ll_error *err) {
    CUDA_CHECK(cudaEventRecord(e->start, 0));
    return LL_OK;
}

ll_status ll_gpu_events_end(ll_gpu_events *e, double *ms, ll_error *err) {
    *ms = 0.0;
    CUDA_CHECK(cudaEventRecord(e->stop, 0));
    CUDA_CHECK(cudaEventSynchronize(e->stop));
    float elapsed = 0.0f;
    CUDA_CHECK(cudaEventElapsedTime(&elapsed, e->start, e->stop));
    *ms = elapsed;
    return LL_OK;
}

ll_status ll_gpu_l2_bytes(size_t *bytes, ll_error *err) {
    *bytes = 0;
    LL_TRY(require_gpu(err));
    int dev = 0, l2 = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    if (l2 < 0) return ll_fail(err, LL_ERR_CUDA, "gpu: the device reports a negative L2 size (%d)", l2);
    *bytes = (size_t)l2;
    return LL_OK;
}
