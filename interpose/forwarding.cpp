// Generated pass-through definitions for every DWSHIM_FORWARDED symbol.
#include "export.h"
#include "real_cudnn.h"


#define DWSHIM_FORWARDED(name, ret, params, args)                                    \
    DWSHIM_EXPORT ret name params {                                                  \
        const auto real_function = dwshim::real_cudnn().name;                        \
        return real_function != nullptr ? real_function args                         \
                                        : dwshim::missing_result<ret>();             \
    }
#include "cudnn_symbols.def"
