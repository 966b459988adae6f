// The in-place libcudnn only: functions the real library exports but no header declares (internal entry points
// such as cudnnGetBackdoor). With no type to forward by, each is a jump through a pointer: the caller's registers
// and stack reach the real function untouched, whatever its signature. The assembly restores the section it
// found (.pushsection/.popsection): the compiler does not expect a top-level asm to switch sections. The pointers
// are resolved by a constructor, before any caller can run; a function the real library lacks answers
// CUDNN_STATUS_NOT_INITIALIZED, like every other forwarded call without a real cuDNN.
#include <cudnn.h>

#include "real_cudnn.h"

#if defined(__x86_64__)

namespace {

extern "C" cudnnStatus_t dwshim_undeclared_missing() {
    return CUDNN_STATUS_NOT_INITIALIZED;
}

}  // namespace

#define DWSHIM_FORWARDED_ALL(name, ret, params, args)
#define DWSHIM_UNDECLARED(name)                                                                  \
    extern "C" {                                                                                 \
    __attribute__((visibility("hidden"), used)) void* dwshim_undeclared_##name = nullptr;       \
    }                                                                                            \
    asm(".pushsection .text\n.globl " #name "\n.type " #name ", @function\n" #name ":\n"         \
        "    jmp *dwshim_undeclared_" #name "(%rip)\n.size " #name ", . - " #name "\n.popsection\n");
#include "cudnn_all_functions.def"
#undef DWSHIM_UNDECLARED

namespace {

__attribute__((constructor)) void resolve_undeclared_functions() {
#define DWSHIM_UNDECLARED(name)                                         \
    dwshim_undeclared_##name = dwshim::real_symbol(#name);              \
    if (dwshim_undeclared_##name == nullptr) {                          \
        dwshim_undeclared_##name = reinterpret_cast<void*>(&dwshim_undeclared_missing); \
    }
#include "cudnn_all_functions.def"
#undef DWSHIM_UNDECLARED
}

}  // namespace

#endif
