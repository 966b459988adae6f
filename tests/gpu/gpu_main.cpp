// GPU tests skip (exit 77, ctest SKIP_RETURN_CODE) where no GPU is present, and run everywhere else.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <execinfo.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

// A crash inside a test (ours or cuDNN's) prints where it happened before the process dies.
void print_backtrace(int signal_number) {
    void* frames[64];
    const int depth = backtrace(frames, 64);
    std::fprintf(stderr, "signal %d; backtrace:\n", signal_number);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
}

int main(int argc, char** argv) {
    for (int signal_number : {SIGFPE, SIGSEGV, SIGABRT}) std::signal(signal_number, print_backtrace);
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("no CUDA device: skipping the GPU tests\n");
        return 77;
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
