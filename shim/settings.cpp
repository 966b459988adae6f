#include "settings.h"

#include <cstdlib>
#include <cstring>

namespace dwshim {
namespace {

bool flag_set(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && value[0] != '\0' && std::strcmp(value, "0") != 0;
}

Settings read_settings() {
    Settings s;
    s.disabled = flag_set("DWSHIM_DISABLE");
    s.stats = flag_set("DWSHIM_STATS");
    const char* route = std::getenv("DWSHIM_ROUTE");
    s.route_all = route != nullptr && std::strcmp(route, "all") == 0;
    if (flag_set("DWSHIM_LOG")) {
        const char* target = std::getenv("DWSHIM_LOG");
        const bool to_stderr = std::strcmp(target, "1") == 0 || std::strcmp(target, "stderr") == 0;
        s.log = to_stderr ? stderr : std::fopen(target, "a");
        if (s.log == nullptr) s.log = stderr;
    }
    const char* tune = std::getenv("DWSHIM_TUNE");
    s.tune_off = tune != nullptr && std::strcmp(tune, "off") == 0;
    s.tune_readonly = tune != nullptr && std::strcmp(tune, "readonly") == 0;
    if (s.tune_off || s.tune_readonly) {
        s.first_sight = FirstSight::kNever;
    } else if (tune != nullptr && std::strcmp(tune, "measure") == 0) {
        s.first_sight = FirstSight::kAlways;
    }
    const char* cache = std::getenv("DWSHIM_TUNE_CACHE");
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (cache != nullptr && cache[0] != '\0') {
        s.tune_cache = cache;
    } else if (xdg != nullptr && xdg[0] != '\0') {
        s.tune_cache = std::string(xdg) + "/dwshim/routes.csv";
    } else if (home != nullptr && home[0] != '\0') {
        s.tune_cache = std::string(home) + "/.cache/dwshim/routes.csv";
    }
    const char* identity = std::getenv("DWSHIM_TUNE_IDENTITY");
    if (identity != nullptr) s.tune_identity = identity;
    const char* record = std::getenv("DWSHIM_TUNE_RECORD");
    if (record != nullptr) s.tune_record = record;
    return s;
}

}  // namespace

const Settings& settings() {
    static const Settings s = read_settings();
    return s;
}

}  // namespace dwshim
