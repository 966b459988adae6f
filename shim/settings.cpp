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
    return s;
}

}  // namespace

const Settings& settings() {
    static const Settings s = read_settings();
    return s;
}

}  // namespace dwshim
