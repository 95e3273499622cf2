// host_device.h: LL_HOST_DEVICE marks the small inline functions that the C
// code and the CUDA kernels share (lib/skip_decision.h, lib/skip_list.h), so
// that both compile the one definition instead of keeping copies in step.
#pragma once

#if defined(__CUDACC__)
#define LL_HOST_DEVICE __host__ __device__
#else
#define LL_HOST_DEVICE
#endif
