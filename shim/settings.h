// Environment settings, read once.
//   DWSHIM_DISABLE=1   pure pass-through: every call goes to the real cuDNN unchanged
//   DWSHIM_LOG=1|path  one line per intercepted call (routed, or forwarded and why) to stderr or a file
//   DWSHIM_STATS=1     a summary of routed and forwarded counts at exit, to the log or stderr
//   DWSHIM_ROUTE=all   route every call the kernels can compute, also where cuDNN was measured faster
//                      (tests use it to reach every kernel path; the default routes only measured wins)
//   DWSHIM_TUNE_CACHE=path   routing decisions measured on this machine's GPUs (tuned_routes.h); default
//                      $XDG_CACHE_HOME/dwshim/routes.csv, else $HOME/.cache/dwshim/routes.csv
//   DWSHIM_TUNE=off|readonly|measure|auto  ignore that file; use it but never write to it; also measure on first
//                      sight every problem it lacks (first_sight.h); auto (the default): measure on first sight
//                      on GPUs the static rules were not measured on (not compute capability 9.0), else as plain
//   DWSHIM_TUNE_IDENTITY=text  the identity of every GPU in that file (machines without a GPU in tests; identical
//                      GPUs sharing one cache) instead of the one read from the device
//   DWSHIM_TUNE_RECORD=path  append each depthwise problem the router is asked about, once, to this file (a cases
//                      list for dwshim-tune --program; tuned_routes.h)
#pragma once

#include <cstdio>
#include <string>

namespace dwshim {

// When dwshim times a problem the tuning cache lacks, on first sight of it (first_sight.h).
enum class FirstSight { kNever, kOnUnmeasuredGpus, kAlways };

struct Settings {
    bool disabled = false;
    bool stats = false;
    bool route_all = false;
    std::FILE* log = nullptr;  // null when logging is off
    bool tune_off = false;
    bool tune_readonly = false;
    FirstSight first_sight = FirstSight::kOnUnmeasuredGpus;
    std::string tune_cache;     // the file's path; empty when none can be named
    std::string tune_identity;  // empty: read from the device
    std::string tune_record;    // the problems file's path; empty when not recording
};

const Settings& settings();

}  // namespace dwshim
