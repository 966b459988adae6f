// cuDNN 8 finalizes an operation graph only with a cudnnHandle_t, and a handle needs a GPU; the CPU tests build
// graphs without one, so with cuDNN 8 the tests of graph routing skip (the GPU tests cover them there).
#pragma once

#include <cudnn.h>
#include <gtest/gtest.h>

#if CUDNN_MAJOR >= 9
#define DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU() static_cast<void>(0)
#else
#define DWSHIM_SKIP_UNLESS_GRAPHS_FINALIZE_ON_CPU() \
    GTEST_SKIP() << "cuDNN 8 finalizes operation graphs only with a handle, which needs a GPU"
#endif
