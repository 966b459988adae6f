#include "tuned_routes.h"

#include <cuda_runtime_api.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "interpose/real_cudnn.h"
#include "settings.h"

namespace dwshim {
namespace {

// api, op, dtype, layout, n, c, h, w, k, p, q, r, s, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, fused
constexpr int kKeyFields = 20;
using Key = std::array<int64_t, kKeyFields>;

struct KeyHash {
    size_t operator()(const Key& key) const noexcept {
        uint64_t hash = 1469598103934665603ull;  // FNV-1a over the fields
        for (const int64_t field : key) {
            hash ^= static_cast<uint64_t>(field);
            hash *= 1099511628211ull;
        }
        return static_cast<size_t>(hash);
    }
};

using Decisions = std::unordered_map<Key, bool, KeyHash>;

// dwshim must take this much less time to be routed, so that a tie measured with noise does not flip a route.
constexpr double kRouteMargin = 1.03;
constexpr int kMaxDevices = 64;

// Names in the file, indexed by the enums' values.
constexpr const char* kApiNames[] = {"legacy", "backend", "torch"};
constexpr const char* kOpNames[] = {"fwd", "dgrad", "wgrad"};
constexpr const char* kDtypeNames[] = {"f32", "f16", "bf16"};
constexpr const char* kLayoutNames[] = {"nchw", "nhwc"};
constexpr int64_t kNchw = 0, kNhwc = 1;

bool packed(const int64_t strides[4], int64_t c, int64_t h, int64_t w, int64_t layout) {
    if (layout == kNchw) {
        return strides[kW] == 1 && strides[kH] == w && strides[kC] == h * w && strides[kN] == c * h * w;
    }
    return strides[kC] == 1 && strides[kW] == c && strides[kH] == w * c && strides[kN] == h * w * c;
}

// False for tensors neither packed NCHW nor packed NHWC: the file does not describe them.
bool make_key(Api api, const DepthwiseParams& p, Key* key) {
    int64_t layout = kNchw;
    if (!packed(p.x_stride, p.c, p.h, p.w, kNchw) || !packed(p.y_stride, p.k, p.p, p.q, kNchw)) {
        layout = kNhwc;
        if (!packed(p.x_stride, p.c, p.h, p.w, kNhwc) || !packed(p.y_stride, p.k, p.p, p.q, kNhwc)) return false;
    }
    const bool fused = p.bias != nullptr || p.residual != nullptr || p.activation != Activation::kIdentity;
    *key = {static_cast<int64_t>(api), static_cast<int64_t>(p.direction), static_cast<int64_t>(p.dtype), layout,
            p.n, p.c, p.h, p.w, p.k, p.p, p.q, p.r, p.s, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w,
            fused ? 1 : 0};
    return true;
}

template <size_t N>
bool parse_name(const std::string& text, const char* const (&names)[N], int64_t* value) {
    for (size_t i = 0; i < N; ++i) {
        if (text == names[i]) {
            *value = static_cast<int64_t>(i);
            return true;
        }
    }
    return false;
}

bool parse_int(const std::string& text, int64_t* value) {
    if (text.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long long parsed = std::strtoll(text.c_str(), &end, 10);
    *value = parsed;
    return errno == 0 && *end == '\0';
}

bool parse_ms(const std::string& text, double* value) {
    if (text.empty()) return false;
    char* end = nullptr;
    *value = std::strtod(text.c_str(), &end);
    return *end == '\0';
}

bool faster(double dwshim_ms, double replaced_ms) {
    return dwshim_ms > 0.0 && replaced_ms > 0.0 && dwshim_ms * kRouteMargin <= replaced_ms;
}

// One line of the file; false for a malformed one (skipped).
bool parse_line(const std::string& line, std::string* identity, Key* key, bool* is_faster) {
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, ',')) fields.push_back(field);
    if (fields.size() != 1 + kKeyFields + 2 || fields[0].empty()) return false;
    *identity = fields[0];
    bool ok = parse_name(fields[1], kApiNames, &(*key)[0]) && parse_name(fields[2], kOpNames, &(*key)[1]) &&
              parse_name(fields[3], kDtypeNames, &(*key)[2]) && parse_name(fields[4], kLayoutNames, &(*key)[3]);
    for (int i = 4; ok && i < kKeyFields; ++i) ok = parse_int(fields[1 + i], &(*key)[i]);
    double dwshim_ms = 0.0, replaced_ms = 0.0;
    ok = ok && parse_ms(fields[1 + kKeyFields], &dwshim_ms) && parse_ms(fields[2 + kKeyFields], &replaced_ms);
    *is_faster = faster(dwshim_ms, replaced_ms);
    return ok;
}

std::string format_line(const std::string& identity, const Key& key, double dwshim_ms, double replaced_ms) {
    std::ostringstream line;
    line << identity << ',' << kApiNames[key[0]] << ',' << kOpNames[key[1]] << ',' << kDtypeNames[key[2]] << ','
         << kLayoutNames[key[3]];
    for (int i = 4; i < kKeyFields; ++i) line << ',' << key[i];
    line << ',' << dwshim_ms << ',' << replaced_ms << '\n';
    return line.str();
}

// The decisions of every identity in the file, loaded on first use.
struct TunedCache {
    std::shared_mutex mutex;
    std::unordered_map<std::string, Decisions> by_identity;
    std::unordered_map<std::string, std::unordered_set<Key, KeyHash>> claimed;  // first sights, per identity
    std::atomic<bool> empty{true};

    TunedCache() {
        const Settings& s = settings();
        if (s.tune_off || s.tune_cache.empty()) return;
        std::ifstream file(s.tune_cache);
        std::string line, identity;
        Key key{};
        bool is_faster = false;
        while (std::getline(file, line)) {
            if (line.empty() || line[0] == '#') continue;
            if (parse_line(line, &identity, &key, &is_faster)) by_identity[identity][key] = is_faster;
        }
        empty = by_identity.empty();
    }
};

TunedCache& tuned_cache() {
    static TunedCache* cache = new TunedCache();  // outlives exit-time calls
    return *cache;
}

// "NVIDIA H200 sm90 132SMs driver13000 cudnn91900 dwshim0.4.0", commas replaced (they separate the fields).
std::string read_identity(int device) {
    cudaDeviceProp prop;
    int driver = 0;
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess || cudaDriverGetVersion(&driver) != cudaSuccess) {
        return {};
    }
    const auto get_version = real_cudnn().cudnnGetVersion;
    std::ostringstream text;
    text << prop.name << " sm" << prop.major << prop.minor << ' ' << prop.multiProcessorCount << "SMs driver"
         << driver << " cudnn" << (get_version != nullptr ? get_version() : 0) << " dwshim" << DWSHIM_VERSION;
    std::string identity = text.str();
    for (char& ch : identity) {
        if (ch == ',' || ch == '\n') ch = ' ';
    }
    return identity;
}

// The current device's identity, or null when it has none (no device, or its properties unreadable).
const std::string* device_identity() {
    const Settings& s = settings();
    if (!s.tune_identity.empty()) return &s.tune_identity;
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return nullptr;
    static std::array<std::once_flag, kMaxDevices> once;
    static std::array<std::string, kMaxDevices> identities;
    std::call_once(once[device], [device] { identities[device] = read_identity(device); });
    return identities[device].empty() ? nullptr : &identities[device];
}

// The problem's key and the current device's identity; false when the file cannot describe either.
bool key_on_device(Api api, const DepthwiseParams& params, Key* key, const std::string** identity) {
    if (!make_key(api, params, key)) return false;
    *identity = device_identity();
    return *identity != nullptr;
}

// mkdir -p of the file's directory; failures show when the file is opened.
void make_parent_directories(const std::string& path) {
    for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        mkdir(path.substr(0, slash).c_str(), 0755);
    }
}

// Padding that bench/suite.csv's one pad per axis describes: the output size it gives is the problem's.
bool symmetric_padding(const DepthwiseParams& p) {
    return p.p == conv_output_size(p.h, p.pad_h, p.pad_h, p.r, p.dil_h, p.stride_h) &&
           p.q == conv_output_size(p.w, p.pad_w, p.pad_w, p.s, p.dil_w, p.stride_w);
}

struct ProblemRecord {
    std::mutex mutex;
    std::unordered_set<Key, KeyHash> seen;
};

}  // namespace

void record_problem(Api api, const DepthwiseParams& params) {
    const Settings& s = settings();
    Key key;
    if (s.tune_record.empty() || !make_key(api, params, &key) || !symmetric_padding(params)) return;
    static ProblemRecord* record = new ProblemRecord();  // outlives exit-time calls
    std::lock_guard<std::mutex> lock(record->mutex);
    if (!record->seen.insert(key).second) return;
    const DepthwiseParams& p = params;
    std::ostringstream line;
    line << 'n' << p.n << 'c' << p.c << 'h' << p.h << 'w' << p.w << "_k" << p.r << 'x' << p.s << "_s" << p.stride_h
         << 'x' << p.stride_w << "_p" << p.pad_h << 'x' << p.pad_w << "_d" << p.dil_h << 'x' << p.dil_w << "_m"
         << p.multiplier;
    for (const int64_t size : {p.n, p.c, p.h, p.w, p.r, p.s, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h,
                               p.dil_w, p.multiplier}) {
        line << ',' << size;
    }
    line << ',' << kApiNames[key[0]] << ' ' << kOpNames[key[1]] << ' ' << kDtypeNames[key[2]] << ' '
         << kLayoutNames[key[3]] << '\n';
    make_parent_directories(s.tune_record);
    std::FILE* file = std::fopen(s.tune_record.c_str(), "a");
    if (file == nullptr) return;
    std::fputs(line.str().c_str(), file);
    std::fclose(file);
}

TunedRoute tuned_route(Api api, const DepthwiseParams& params) {
    TunedCache& cache = tuned_cache();
    if (cache.empty) return TunedRoute::kUnknown;
    Key key;
    const std::string* identity = nullptr;
    if (!key_on_device(api, params, &key, &identity)) return TunedRoute::kUnknown;
    std::shared_lock<std::shared_mutex> lock(cache.mutex);
    const auto decisions = cache.by_identity.find(*identity);
    if (decisions == cache.by_identity.end()) return TunedRoute::kUnknown;
    const auto decision = decisions->second.find(key);
    if (decision == decisions->second.end()) return TunedRoute::kUnknown;
    return decision->second ? TunedRoute::kFaster : TunedRoute::kSlower;
}

bool remember_measured_route(Api api, const DepthwiseParams& params, double dwshim_ms, double replaced_ms) {
    const Settings& s = settings();
    Key key;
    const std::string* identity = nullptr;
    if (s.tune_off || !(dwshim_ms > 0.0) || !(replaced_ms > 0.0) || !key_on_device(api, params, &key, &identity)) {
        return false;
    }
    TunedCache& cache = tuned_cache();
    std::unique_lock<std::shared_mutex> lock(cache.mutex);
    cache.by_identity[*identity][key] = faster(dwshim_ms, replaced_ms);
    cache.empty = false;
    if (s.tune_readonly || s.tune_cache.empty()) return false;
    make_parent_directories(s.tune_cache);
    std::FILE* file = std::fopen(s.tune_cache.c_str(), "a");
    if (file == nullptr) return false;
    const std::string line = format_line(*identity, key, dwshim_ms, replaced_ms);
    const bool written = std::fputs(line.c_str(), file) >= 0;
    return std::fclose(file) == 0 && written;
}

bool record_tuned_route(Api api, const DepthwiseParams& params, double dwshim_ms, double replaced_ms) {
    const Settings& s = settings();
    if (s.tune_readonly || s.tune_cache.empty()) return false;
    return remember_measured_route(api, params, dwshim_ms, replaced_ms);
}

bool tunable(Api api, const DepthwiseParams& params) {
    Key key;
    return make_key(api, params, &key);
}

bool claim_unmeasured(Api api, const DepthwiseParams& params) {
    if (settings().tune_off || tuned_route(api, params) != TunedRoute::kUnknown) return false;
    Key key;
    const std::string* identity = nullptr;
    if (!key_on_device(api, params, &key, &identity)) return false;
    TunedCache& cache = tuned_cache();
    std::unique_lock<std::shared_mutex> lock(cache.mutex);
    return cache.claimed[*identity].insert(key).second;
}

}  // namespace dwshim
