// libdwshim.so exports exactly the cuDNN symbols of the X-macro list, plus dwshim_* entry points.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

namespace {

std::set<std::string> listed_symbols() {
    std::set<std::string> names;
#define DWSHIM_ROUTED(name) names.insert(#name);
#define DWSHIM_FORWARDED(name, ret, params, args) names.insert(#name);
#include "interpose/cudnn_symbols.def"
    return names;
}

std::set<std::string> exported_symbols(const std::string& library) {
    std::set<std::string> names;
    const std::string command = "nm -D --defined-only --format=posix '" + library + "'";
    std::FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return names;
    char line[512];
    while (std::fgets(line, sizeof(line), pipe) != nullptr) {
        char name[400], type[8];
        if (std::sscanf(line, "%399s %7s", name, type) == 2) names.insert(name);
    }
    pclose(pipe);
    return names;
}

TEST(Exports, CudnnSymbolsEqualTheListAndTheRestAreOurs) {
    const std::set<std::string> exported = exported_symbols(DWSHIM_LIBRARY_PATH);
    ASSERT_FALSE(exported.empty()) << "nm found no symbols in " << DWSHIM_LIBRARY_PATH;
    std::set<std::string> cudnn;
    for (const std::string& name : exported) {
        if (name.rfind("cudnn", 0) == 0) {
            cudnn.insert(name);
        } else {
            EXPECT_EQ(name.rfind("dwshim_", 0), 0u) << "unexpected export: " << name;
        }
    }
    EXPECT_EQ(cudnn, listed_symbols());
}

}  // namespace
