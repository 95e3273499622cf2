// nvtx.h: NVTX ranges (header-only NVTX3 from the CUDA toolkit) so an Nsight
// Systems timeline reads experiment > policy > step > layer. Costs nothing
// when no tool is attached; nothing at all in a build without CUDA
// (LITELAB_NO_CUDA, set by make CUDA=0), which has no toolkit headers.
#pragma once
#include <stdarg.h>
#include <stdio.h>

#ifdef LITELAB_NO_CUDA
static inline void ll_nvtx_push(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void ll_nvtx_push(const char *fmt, ...) { (void)fmt; }
static inline void ll_nvtx_pop(void) {}
#else
#include <nvtx3/nvToolsExt.h>

static inline void ll_nvtx_push(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void ll_nvtx_push(const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    nvtxRangePushA(name);
}
static inline void ll_nvtx_pop(void) { nvtxRangePop(); }
#endif
