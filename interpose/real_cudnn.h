// The real cuDNN: found once, thread-safely, never ourselves. Every function pointer is typed from the vendor
// header, so a signature drift between our list and cuDNN's is a compile error.
#pragma once

#include <cudnn.h>

#include <string>
#include <type_traits>

namespace dwshim {

struct RealCudnn {
#define DWSHIM_ROUTED(name) decltype(&::name) name = nullptr;
#define DWSHIM_FORWARDED(name, ret, params, args) decltype(&::name) name = nullptr;
#define DWSHIM_REAL_ONLY(name) decltype(&::name) name = nullptr;
#include "cudnn_symbols.def"

    void* handle = nullptr;  // dlopen handle; null when no real cuDNN was found
    std::string path;        // the file it was loaded from
};

// Resolved on first use. Search order: DWSHIM_CUDNN_LIBRARY (authoritative when set), then libcudnn.so.9 and
// .so.8 already loaded (RTLD_NOLOAD; dlsym(RTLD_NEXT) finds nothing when cuDNN sits in a local scope, as under
// PyTorch), then the build's default path (kDefaultCudnnLibrary, set for the in-place libcudnn build), then a
// normal dlopen of the same sonames. A library that turns out to be dwshim is skipped.
// When nothing is found, one line on stderr names DWSHIM_CUDNN_LIBRARY and every pointer stays null.
const RealCudnn& real_cudnn();

// What a forwarded call returns when the real function could not be resolved.
constexpr cudnnStatus_t kNoRealCudnnStatus = CUDNN_STATUS_NOT_INITIALIZED;

// The real cuDNN a build was made against, tried before the sonames; empty for the preload library, whose
// sonames would find itself only in the in-place build.
extern const char* const kDefaultCudnnLibrary;

}  // namespace dwshim

namespace dwshim {

// What a forwarded call returns when the real function is missing: an error, never a crash.
template <typename R>
R missing_result() {
    if constexpr (std::is_same_v<R, cudnnStatus_t>) {
        return kNoRealCudnnStatus;
    } else if constexpr (std::is_same_v<R, const char*>) {
        return "dwshim: no real cuDNN library (set DWSHIM_CUDNN_LIBRARY)";
    } else if constexpr (!std::is_void_v<R>) {
        return R{};
    }
}

// The real library's definition of `name`, or null; for symbols outside cudnn_symbols.def.
void* real_symbol(const char* name);

// Calls a real function, or returns kNoRealCudnnStatus when it could not be resolved.
template <typename Fn, typename... Args>
cudnnStatus_t call_real(Fn real_function, Args... args) {
    return real_function != nullptr ? real_function(args...) : kNoRealCudnnStatus;
}

}  // namespace dwshim
