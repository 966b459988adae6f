// Compiled once per library: the in-place libcudnn defines DWSHIM_DEFAULT_CUDNN_LIBRARY as the real cuDNN it was
// built against, since looking it up by soname would find itself.
#include "real_cudnn.h"

#ifndef DWSHIM_DEFAULT_CUDNN_LIBRARY
#define DWSHIM_DEFAULT_CUDNN_LIBRARY ""
#endif

namespace dwshim {
const char* const kDefaultCudnnLibrary = DWSHIM_DEFAULT_CUDNN_LIBRARY;
}  // namespace dwshim
