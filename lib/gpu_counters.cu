// gpu_counters.cu: hardware counters per kernel with the CUPTI range profiler
// (see gpu_counters.h). Host code only; a .cu so nvcc compiles it as C++,
// which cupti_profiler_host.h needs. Written in the C style of the rest of lib/.
//
// The sequence, as CUPTI documents it:
//   target side: cuptiProfilerInitialize, chip name, counter-availability image
//                (the first call that fails without profiling privileges);
//   host side:   host object for the chip, metrics added, config image, passes;
//   target side: range profiler enabled on the context, counter-data image,
//                SetConfig (auto range: one range per kernel; kernel replay:
//                CUPTI replays each kernel for every pass), Start ... Stop,
//                DecodeData;
//   host side:   per range, EvaluateToGpuValues.
#include "gpu_counters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cupti.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>

struct ll_gpu_counters {
    char chip[64];
    const char *metrics[LL_GPU_COUNTERS_MAX_METRICS];
    char metric_names[LL_GPU_COUNTERS_MAX_METRICS][128];
    int n_metrics, max_ranges, passes, running;
    CUcontext ctx;
    CUpti_Profiler_Host_Object *host;
    CUpti_RangeProfiler_Object *profiler;
    uint8_t *availability, *config, *counter_data;
    size_t availability_size, config_size, counter_data_size;
};

static const char *const tensor_metrics[] = {
    "sm__inst_executed_pipe_tensor_op_hmma.sum",
    "sm__inst_executed_pipe_tensor_op_gmma.sum",
};

// The one-line status of a failed CUPTI call: what it means for the user first.
static ll_status cupti_fail(ll_error *err, CUptiResult r, const char *call, const char *file, int line) {
    const char *msg = NULL;
    if (cuptiGetResultString(r, &msg) != CUPTI_SUCCESS || !msg) msg = "unknown CUPTI error";
    const char *why = "";
    if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES)
        why = "profiling is restricted to admin users (run as root, or load the nvidia module with "
              "NVreg_RestrictProfilingToAdminUsers=0); ";
    else if (r == CUPTI_ERROR_NOT_SUPPORTED || r == CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED ||
             r == CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED)
        why = "this GPU or configuration does not support the profiler (vGPU, MIG or too old); ";
    else if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED || r == CUPTI_ERROR_NOT_COMPATIBLE)
        why = "another profiler (Nsight, or CUPTI tracing) holds the GPU; ";
    return ll_fail(err, LL_ERR_CUDA, "GPU counters unavailable: %s%s:%d: %s failed: %s", why, file, line, call, msg);
}

#define CUPTI_CHECK(call)                                                                          \
    do {                                                                                           \
        CUptiResult cupti_r_ = (call);                                                             \
        if (cupti_r_ != CUPTI_SUCCESS) return cupti_fail(err, cupti_r_, #call, __FILE__, __LINE__); \
    } while (0)

#define CUDA_CHECK(call)                                                                                     \
    do {                                                                                                     \
        cudaError_t cuda_e_ = (call);                                                                        \
        if (cuda_e_ != cudaSuccess)                                                                          \
            return ll_fail(err, LL_ERR_CUDA, "GPU counters unavailable: %s:%d: %s failed: %s (%s)", __FILE__, \
                           __LINE__, #call, cudaGetErrorString(cuda_e_), cudaGetErrorName(cuda_e_));         \
    } while (0)

// CUPTI parameter structs: zeroed, with their size set (CUPTI checks it).
#define PARAMS(type, var) \
    type var = {};        \
    var.structSize = type##_STRUCT_SIZE

// The current context, through the runtime (so nothing links libcuda directly).
static ll_status current_context(CUcontext *ctx, ll_error *err) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n < 1)
        return ll_fail(err, LL_ERR_NO_GPU, "GPU counters unavailable: no usable GPU (%s)",
                       e != cudaSuccess ? cudaGetErrorString(e) : "no device");
    CUDA_CHECK(cudaFree(0));  // makes the primary context current
    void *fn = NULL;
    cudaDriverEntryPointQueryResult found;
    CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || !fn)
        return ll_fail(err, LL_ERR_CUDA, "GPU counters unavailable: the driver has no cuCtxGetCurrent");
    CUresult r = ((CUresult(*)(CUcontext *))fn)(ctx);
    if (r != CUDA_SUCCESS || !*ctx)
        return ll_fail(err, LL_ERR_CUDA, "GPU counters unavailable: cuCtxGetCurrent failed (CUresult %d)", (int)r);
    return LL_OK;
}

// Whether the chip offers the metric's base counter (the name before ".sum").
static int chip_has_metric(CUpti_Profiler_Host_Object *host, const char *metric) {
    static const CUpti_MetricType types[] = {CUPTI_METRIC_TYPE_COUNTER, CUPTI_METRIC_TYPE_RATIO,
                                             CUPTI_METRIC_TYPE_THROUGHPUT};
    size_t base_len = strcspn(metric, ".");
    for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
        PARAMS(CUpti_Profiler_Host_GetBaseMetrics_Params, p);
        p.pHostObject = host;
        p.metricType = types[t];
        if (cuptiProfilerHostGetBaseMetrics(&p) != CUPTI_SUCCESS) continue;
        for (size_t i = 0; i < p.numMetrics; i++)
            if (strlen(p.ppMetricNames[i]) == base_len && !strncmp(p.ppMetricNames[i], metric, base_len)) return 1;
    }
    return 0;
}

static ll_status setup_host(ll_gpu_counters *c, const char *const *metrics, ll_error *err) {
    PARAMS(CUpti_Profiler_Host_Initialize_Params, hi);
    hi.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    hi.pChipName = c->chip;
    hi.pCounterAvailabilityImage = c->availability;
    CUPTI_CHECK(cuptiProfilerHostInitialize(&hi));
    c->host = hi.pHostObject;

    // The metrics asked for must all exist; the default keeps those the chip has.
    const char *const *want = metrics ? metrics : tensor_metrics;
    int n_want = 0;
    if (metrics) {
        while (metrics[n_want]) n_want++;
        if (n_want < 1 || n_want > LL_GPU_COUNTERS_MAX_METRICS)
            return ll_fail(err, LL_ERR_INVALID, "GPU counters: %d metrics asked for (1 to %d)", n_want,
                           LL_GPU_COUNTERS_MAX_METRICS);
    } else {
        n_want = (int)(sizeof tensor_metrics / sizeof *tensor_metrics);
    }
    for (int i = 0; i < n_want; i++) {
        if (strlen(want[i]) >= sizeof c->metric_names[0])
            return ll_fail(err, LL_ERR_INVALID, "GPU counters: metric name too long: %.40s...", want[i]);
        if (!chip_has_metric(c->host, want[i])) {
            if (metrics)
                return ll_fail(err, LL_ERR_INVALID, "GPU counters: chip %s has no metric '%s'", c->chip, want[i]);
            continue;
        }
        snprintf(c->metric_names[c->n_metrics], sizeof c->metric_names[0], "%s", want[i]);
        c->metrics[c->n_metrics] = c->metric_names[c->n_metrics];
        c->n_metrics++;
    }
    if (c->n_metrics == 0)
        return ll_fail(err, LL_ERR_CUDA, "GPU counters unavailable: chip %s offers none of the tensor-pipe metrics "
                       "(%s, %s)", c->chip, tensor_metrics[0], tensor_metrics[1]);

    PARAMS(CUpti_Profiler_Host_ConfigAddMetrics_Params, am);
    am.pHostObject = c->host;
    am.ppMetricNames = c->metrics;
    am.numMetrics = (size_t)c->n_metrics;
    CUPTI_CHECK(cuptiProfilerHostConfigAddMetrics(&am));
    PARAMS(CUpti_Profiler_Host_GetConfigImageSize_Params, cs);
    cs.pHostObject = c->host;
    CUPTI_CHECK(cuptiProfilerHostGetConfigImageSize(&cs));
    c->config_size = cs.configImageSize;
    c->config = (uint8_t *)calloc(c->config_size, 1);
    if (!c->config) return ll_fail(err, LL_ERR_NOMEM, "GPU counters: out of host memory (config image)");
    PARAMS(CUpti_Profiler_Host_GetConfigImage_Params, ci);
    ci.pHostObject = c->host;
    ci.configImageSize = c->config_size;
    ci.pConfigImage = c->config;
    CUPTI_CHECK(cuptiProfilerHostGetConfigImage(&ci));
    PARAMS(CUpti_Profiler_Host_GetNumOfPasses_Params, np);
    np.configImageSize = c->config_size;
    np.pConfigImage = c->config;
    CUPTI_CHECK(cuptiProfilerHostGetNumOfPasses(&np));
    c->passes = (int)np.numOfPasses;
    return LL_OK;
}

static ll_status setup(ll_gpu_counters *c, const char *const *metrics, ll_error *err) {
    LL_TRY(current_context(&c->ctx, err));
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    PARAMS(CUpti_Profiler_Initialize_Params, pi);
    CUPTI_CHECK(cuptiProfilerInitialize(&pi));
    PARAMS(CUpti_Device_GetChipName_Params, cn);
    cn.deviceIndex = (size_t)dev;
    CUPTI_CHECK(cuptiDeviceGetChipName(&cn));
    snprintf(c->chip, sizeof c->chip, "%s", cn.pChipName ? cn.pChipName : "unknown");

    PARAMS(CUpti_Profiler_GetCounterAvailability_Params, ca);
    ca.ctx = c->ctx;
    CUPTI_CHECK(cuptiProfilerGetCounterAvailability(&ca));
    c->availability_size = ca.counterAvailabilityImageSize;
    c->availability = (uint8_t *)calloc(c->availability_size ? c->availability_size : 1, 1);
    if (!c->availability) return ll_fail(err, LL_ERR_NOMEM, "GPU counters: out of host memory");
    ca.pCounterAvailabilityImage = c->availability;
    CUPTI_CHECK(cuptiProfilerGetCounterAvailability(&ca));

    LL_TRY(setup_host(c, metrics, err));

    PARAMS(CUpti_RangeProfiler_Enable_Params, en);
    en.ctx = c->ctx;
    CUPTI_CHECK(cuptiRangeProfilerEnable(&en));
    c->profiler = en.pRangeProfilerObject;

    PARAMS(CUpti_RangeProfiler_GetCounterDataSize_Params, ds);
    ds.pRangeProfilerObject = c->profiler;
    ds.pMetricNames = c->metrics;
    ds.numMetrics = (size_t)c->n_metrics;
    ds.maxNumOfRanges = (size_t)c->max_ranges;
    ds.maxNumRangeTreeNodes = (uint32_t)c->max_ranges;
    CUPTI_CHECK(cuptiRangeProfilerGetCounterDataSize(&ds));
    c->counter_data_size = ds.counterDataSize;
    c->counter_data = (uint8_t *)calloc(c->counter_data_size, 1);
    if (!c->counter_data) return ll_fail(err, LL_ERR_NOMEM, "GPU counters: out of host memory (counter data)");
    return LL_OK;
}

extern "C" ll_status ll_gpu_counters_create(ll_gpu_counters **out, const char *const *metrics, int max_ranges,
                                            ll_error *err) {
    *out = NULL;
    if (max_ranges < 1 || max_ranges > 100000)
        return ll_fail(err, LL_ERR_INVALID, "GPU counters: max_ranges %d not in [1, 100000]", max_ranges);
    ll_gpu_counters *c = (ll_gpu_counters *)calloc(1, sizeof *c);
    if (!c) return ll_fail(err, LL_ERR_NOMEM, "GPU counters: out of host memory");
    c->max_ranges = max_ranges;
    ll_status s = setup(c, metrics, err);
    if (s != LL_OK) {
        ll_gpu_counters_destroy(c);
        return s;
    }
    *out = c;
    return LL_OK;
}

extern "C" void ll_gpu_counters_destroy(ll_gpu_counters *c) {
    if (!c) return;
    // Teardown is best effort: there is no one left to report a failure to.
    if (c->profiler) {
        if (c->running) {
            PARAMS(CUpti_RangeProfiler_Stop_Params, st);
            st.pRangeProfilerObject = c->profiler;
            cuptiRangeProfilerStop(&st);
        }
        PARAMS(CUpti_RangeProfiler_Disable_Params, d);
        d.pRangeProfilerObject = c->profiler;
        cuptiRangeProfilerDisable(&d);
    }
    if (c->host) {
        PARAMS(CUpti_Profiler_Host_Deinitialize_Params, hd);
        hd.pHostObject = c->host;
        cuptiProfilerHostDeinitialize(&hd);
    }
    if (c->ctx) {
        PARAMS(CUpti_Profiler_DeInitialize_Params, pd);
        cuptiProfilerDeInitialize(&pd);
    }
    free(c->availability);
    free(c->config);
    free(c->counter_data);
    free(c);
}

extern "C" int ll_gpu_counters_n_metrics(const ll_gpu_counters *c) { return c->n_metrics; }
extern "C" const char *ll_gpu_counters_metric(const ll_gpu_counters *c, int i) {
    return i >= 0 && i < c->n_metrics ? c->metrics[i] : NULL;
}
extern "C" const char *ll_gpu_counters_chip(const ll_gpu_counters *c) { return c->chip; }
extern "C" int ll_gpu_counters_passes(const ll_gpu_counters *c) { return c->passes; }

extern "C" ll_status ll_gpu_counters_begin(ll_gpu_counters *c, ll_error *err) {
    if (c->running) return ll_fail(err, LL_ERR_INTERNAL, "GPU counters: begin() twice without end()");
    CUDA_CHECK(cudaDeviceSynchronize());
    // A fresh counter-data image per measurement, so ranges start at 0.
    PARAMS(CUpti_RangeProfiler_CounterDataImage_Initialize_Params, ii);
    ii.pRangeProfilerObject = c->profiler;
    ii.counterDataSize = c->counter_data_size;
    ii.pCounterData = c->counter_data;
    CUPTI_CHECK(cuptiRangeProfilerCounterDataImageInitialize(&ii));
    PARAMS(CUpti_RangeProfiler_SetConfig_Params, sc);
    sc.pRangeProfilerObject = c->profiler;
    sc.configSize = c->config_size;
    sc.pConfig = c->config;
    sc.counterDataImageSize = c->counter_data_size;
    sc.pCounterDataImage = c->counter_data;
    sc.range = CUPTI_AutoRange;
    sc.replayMode = CUPTI_KernelReplay;
    sc.maxRangesPerPass = (size_t)c->max_ranges;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    CUPTI_CHECK(cuptiRangeProfilerSetConfig(&sc));
    PARAMS(CUpti_RangeProfiler_Start_Params, st);
    st.pRangeProfilerObject = c->profiler;
    CUPTI_CHECK(cuptiRangeProfilerStart(&st));
    c->running = 1;
    return LL_OK;
}

extern "C" ll_status ll_gpu_counters_end(ll_gpu_counters *c, double *values, int max_ranges, int *n_ranges,
                                         ll_error *err) {
    *n_ranges = 0;
    if (!c->running) return ll_fail(err, LL_ERR_INTERNAL, "GPU counters: end() without begin()");
    c->running = 0;
    CUDA_CHECK(cudaDeviceSynchronize());
    PARAMS(CUpti_RangeProfiler_Stop_Params, st);
    st.pRangeProfilerObject = c->profiler;
    CUPTI_CHECK(cuptiRangeProfilerStop(&st));
    if (!st.isAllPassSubmitted)
        return ll_fail(err, LL_ERR_CUDA, "GPU counters: CUPTI did not complete all %d passes of the kernels",
                       c->passes);
    PARAMS(CUpti_RangeProfiler_DecodeData_Params, dd);
    dd.pRangeProfilerObject = c->profiler;
    CUPTI_CHECK(cuptiRangeProfilerDecodeData(&dd));
    if (dd.numOfRangeDropped)
        return ll_fail(err, LL_ERR_CUDA, "GPU counters: %zu kernels did not fit (max_ranges %d)",
                       dd.numOfRangeDropped, c->max_ranges);
    PARAMS(CUpti_RangeProfiler_GetCounterDataInfo_Params, di);
    di.pCounterDataImage = c->counter_data;
    di.counterDataImageSize = c->counter_data_size;
    CUPTI_CHECK(cuptiRangeProfilerGetCounterDataInfo(&di));
    if (di.numTotalRanges > (size_t)max_ranges)
        return ll_fail(err, LL_ERR_INVALID, "GPU counters: %zu ranges measured, room for %d", di.numTotalRanges,
                       max_ranges);
    for (size_t r = 0; r < di.numTotalRanges; r++) {
        PARAMS(CUpti_Profiler_Host_EvaluateToGpuValues_Params, ev);
        ev.pHostObject = c->host;
        ev.pCounterDataImage = c->counter_data;
        ev.counterDataImageSize = c->counter_data_size;
        ev.rangeIndex = r;
        ev.ppMetricNames = c->metrics;
        ev.numMetrics = (size_t)c->n_metrics;
        ev.pMetricValues = values + r * (size_t)c->n_metrics;
        CUPTI_CHECK(cuptiProfilerHostEvaluateToGpuValues(&ev));
    }
    *n_ranges = (int)di.numTotalRanges;
    return LL_OK;
}
