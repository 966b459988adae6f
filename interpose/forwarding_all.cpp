// The in-place libcudnn only: a typed pass-through for every other function cuDNN's headers declare
// (generated list), so that a program linked against libcudnn needs nothing else.
#include "export.h"
#include "real_cudnn.h"

#define DWSHIM_FORWARDED_ALL(name, ret, params, args)                                                   \
    DWSHIM_EXPORT ret name params {                                                                     \
        static const auto real_function = reinterpret_cast<decltype(&::name)>(dwshim::real_symbol(#name)); \
        return real_function != nullptr ? real_function args : dwshim::missing_result<ret>();            \
    }
#define DWSHIM_UNDECLARED(name)  // forwarding_undeclared.cpp
#include "cudnn_all_functions.def"
