// The in-place libcudnn.so.<major>: this program links it instead of cuDNN (it never links the real library),
// so every cuDNN call below resolves to dwshim and is routed or forwarded to the cuDNN it was built against.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "shim/dwshim.h"
#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/common/conv_case.h"

namespace {

std::string canonical(const std::string& path) {
    char resolved[PATH_MAX];
    return realpath(path.c_str(), resolved) != nullptr ? resolved : path;
}

// name@version for every defined dynamic symbol whose name starts with cudnn or dwshim_.
std::set<std::string> exported(const std::string& library) {
    std::set<std::string> names;
    std::FILE* pipe = popen(("nm -D --defined-only --format=posix '" + library + "'").c_str(), "r");
    char line[512];
    while (pipe != nullptr && std::fgets(line, sizeof(line), pipe) != nullptr) {
        char name[400];
        if (std::sscanf(line, "%399s", name) == 1 &&
            (std::string(name).rfind("cudnn", 0) == 0 || std::string(name).rfind("dwshim_", 0) == 0)) {
            names.insert(name);
        }
    }
    if (pipe != nullptr) pclose(pipe);
    return names;
}

TEST(Inplace, CallsResolveToDwshimAndReachTheRealLibrary) {
    Dl_info info{};
    ASSERT_NE(dladdr(reinterpret_cast<void*>(&cudnnCreateTensorDescriptor), &info), 0);
    EXPECT_EQ(canonical(info.dli_fname), canonical(DWSHIM_INPLACE_PATH));
    EXPECT_EQ(canonical(dwshim_real_cudnn_path()), canonical(DWSHIM_REAL_CUDNN_PATH));
    EXPECT_EQ(cudnnGetVersion(), static_cast<size_t>(CUDNN_VERSION));

    // A forwarded round trip through descriptor state the real library keeps.
    cudnnTensorDescriptor_t desc;
    ASSERT_EQ(cudnnCreateTensorDescriptor(&desc), CUDNN_STATUS_SUCCESS);
    ASSERT_EQ(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, 2, 3, 5, 7), CUDNN_STATUS_SUCCESS);
    cudnnDataType_t dtype;
    int n, c, h, w, ns, cs, hs, ws;
    ASSERT_EQ(cudnnGetTensor4dDescriptor(desc, &dtype, &n, &c, &h, &w, &ns, &cs, &hs, &ws), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(dtype, CUDNN_DATA_HALF);
    EXPECT_EQ(cs, 1);
    EXPECT_EQ(ws, 3);
    EXPECT_EQ(cudnnDestroyTensorDescriptor(desc), CUDNN_STATUS_SUCCESS);
#if CUDNN_MAJOR >= 9  // cuDNN 8 declares no function returning void
    char message[64] = "unchanged";
    cudnnGetLastErrorString(message, sizeof(message));  // a void function is forwarded too
#endif
}

TEST(Inplace, RoutesDepthwiseConvolutions) {
    dwtest::ConvCase cc;
    cc.n = 2;
    cc.c = 8;
    cc.h = 16;
    cc.w = 32;
    dwtest::CudnnDescriptors d(cc);
    dwshim::DepthwiseParams params;
    EXPECT_EQ(static_cast<dwshim::RouteReason>(dwshim_route_legacy(d.x, d.w, d.conv, d.y, &params)),
              dwshim::RouteReason::kRouted);
}

// Every function the real library exports is exported under its version node, and nothing else but dwshim's own.
TEST(Inplace, ExportsTheRealLibrarysApiUnderItsVersionNode) {
    const std::set<std::string> real = exported(DWSHIM_REAL_CUDNN_PATH);
    const std::set<std::string> ours = exported(DWSHIM_INPLACE_PATH);
    ASSERT_GT(real.size(), 100u);
    const std::string node = "@@libcudnn.so." + std::to_string(CUDNN_MAJOR);
    for (const std::string& symbol : real) {
        EXPECT_EQ(ours.count(symbol), 1u) << "not exported as the real library does: " << symbol;
    }
    for (const std::string& symbol : ours) {
        EXPECT_NE(symbol.find(node), std::string::npos) << symbol;
        if (symbol.rfind("dwshim_", 0) != 0) {
            EXPECT_EQ(real.count(symbol), 1u) << "not in the real library: " << symbol;
        }
    }
}

#if defined(__x86_64__)
// Exports no header declares (cudnnGetBackdoor and kin) are jumps through a pointer: `jmp *rel32(%rip)` whose
// pointer must hold the real library's function. Read the instruction rather than call a function of unknown type.
TEST(Inplace, UndeclaredExportsJumpToTheRealFunctions) {
    void* ours = dlopen(DWSHIM_INPLACE_PATH, RTLD_NOW | RTLD_NOLOAD);
    void* real = dlopen(DWSHIM_REAL_CUDNN_PATH, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(ours, nullptr);
    ASSERT_NE(real, nullptr);
    for (const char* name : {"cudnnGetBackdoor", "cudnnSetBackdoor", "cudnnSetBackdoorEx",
                             "cudnnGetRNNDropoutLocationsInternal"}) {
        const auto* code = static_cast<const unsigned char*>(dlsym(ours, name));
        void* target = dlsym(real, name);
        ASSERT_NE(code, nullptr) << name;
        ASSERT_NE(target, nullptr) << name;
        ASSERT_EQ(code[0], 0xFF) << name;
        ASSERT_EQ(code[1], 0x25) << name;  // jmp *disp32(%rip)
        int32_t displacement;
        std::memcpy(&displacement, code + 2, sizeof(displacement));
        void* const* pointer = reinterpret_cast<void* const*>(code + 6 + displacement);
        EXPECT_EQ(*pointer, target) << name;
    }
}
#endif

}  // namespace
