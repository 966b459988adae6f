// Environment settings, read once.
//   DWSHIM_DISABLE=1   pure pass-through: every call goes to the real cuDNN unchanged
//   DWSHIM_LOG=1|path  one line per intercepted call (routed, or forwarded and why) to stderr or a file
//   DWSHIM_STATS=1     a summary of routed and forwarded counts at exit, to the log or stderr
//   DWSHIM_ROUTE=all   route every call the kernels can compute, also where cuDNN was measured faster
//                      (tests use it to reach every kernel path; the default routes only measured wins)
#pragma once

#include <cstdio>

namespace dwshim {

struct Settings {
    bool disabled = false;
    bool stats = false;
    bool route_all = false;
    std::FILE* log = nullptr;  // null when logging is off
};

const Settings& settings();

}  // namespace dwshim
