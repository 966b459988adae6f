// Generated pass-through definitions for every DWSHIM_FORWARDED symbol.
#include "export.h"
#include "real_cudnn.h"

#include <type_traits>

namespace dwshim {
namespace {

// What a forwarded call returns when the real function is missing: an error, never a crash.
template <typename R>
R missing_result() {
    if constexpr (std::is_same_v<R, cudnnStatus_t>) {
        return kNoRealCudnnStatus;
    } else if constexpr (std::is_same_v<R, const char*>) {
        return "dwshim: no real cuDNN library (set DWSHIM_CUDNN_LIBRARY)";
    } else {
        return R{};
    }
}

}  // namespace
}  // namespace dwshim

#define DWSHIM_FORWARDED(name, ret, params, args)                                    \
    DWSHIM_EXPORT ret name params {                                                  \
        const auto real_function = dwshim::real_cudnn().name;                        \
        return real_function != nullptr ? real_function args                         \
                                        : dwshim::missing_result<ret>();             \
    }
#include "cudnn_symbols.def"
