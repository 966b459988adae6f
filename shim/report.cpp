#include "report.h"

#include <atomic>
#include <cstdio>

#include "settings.h"

namespace dwshim {
namespace {

constexpr int kReasonCount = static_cast<int>(RouteReason::kCount);
constexpr int kDirections = 3;

std::atomic<uint64_t> g_counts[kDirections][kReasonCount];

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::kFloat:
            return "f32";
        case DType::kHalf:
            return "f16";
        case DType::kBFloat16:
            return "bf16";
    }
    return "?";
}

const char* layout_name(const int64_t stride[4]) {
    if (stride[kW] == 1 && stride[kH] <= stride[kC]) return "NCHW";
    if (stride[kC] == 1) return "NHWC";
    return "strided";
}

// Prints the summary at exit when DWSHIM_STATS asked for it.
struct ExitSummary {
    ~ExitSummary() {
        const Settings& s = settings();
        if (!s.stats) return;
        std::FILE* out = s.log != nullptr ? s.log : stderr;
        for (int d = 0; d < kDirections; ++d) {
            uint64_t total = 0;
            for (const auto& count : g_counts[d]) total += count.load();
            if (total == 0) continue;  // say nothing of a direction the process never called
            const char* name = direction_name(static_cast<Direction>(d));
            std::fprintf(out, "dwshim summary: %llu %s convolutions routed\n",
                         static_cast<unsigned long long>(g_counts[d][0].load()), name);
            for (int i = 1; i < kReasonCount; ++i) {
                const uint64_t count = g_counts[d][i].load();
                if (count == 0) continue;
                std::fprintf(out, "dwshim summary: %llu %s forwarded: %s\n", static_cast<unsigned long long>(count),
                             name, route_reason_text(static_cast<RouteReason>(i)));
            }
        }
        std::fflush(out);
    }
} g_exit_summary;

}  // namespace

const char* route_reason_text(RouteReason reason) {
    switch (reason) {
#define DWSHIM_REASON_TEXT(name, text) \
    case RouteReason::name:            \
        return text;
        DWSHIM_ROUTE_REASONS(DWSHIM_REASON_TEXT)
#undef DWSHIM_REASON_TEXT
        case RouteReason::kCount:
            break;
    }
    return "unknown";
}

const char* direction_name(Direction direction) {
    switch (direction) {
        case Direction::kForward:
            return "fwd";
        case Direction::kDataGrad:
            return "dgrad";
        case Direction::kFilterGrad:
            return "wgrad";
    }
    return "?";
}

void report_decision(const char* api_function, bool executes, RouteReason reason, Direction direction,
                     const DepthwiseParams* params) {
    if (executes) {
        g_counts[static_cast<int>(direction)][static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
    }
    std::FILE* log = settings().log;
    if (log == nullptr) return;
    const char* verdict = reason == RouteReason::kRouted ? "routed" : "forwarded";
    if (params == nullptr) {
        std::fprintf(log, "dwshim: %s %s: %s [%s]\n", api_function, verdict, route_reason_text(reason),
                     direction_name(direction));
    } else {
        const DepthwiseParams& p = *params;
        std::fprintf(log,
                     "dwshim: %s %s: %s [%s %s %s n=%lld c=%lld h=%lld w=%lld k=%lld filter=%lldx%lld stride=%lldx%lld "
                     "pad=%lldx%lld dil=%lldx%lld]\n",
                     api_function, verdict, route_reason_text(reason), direction_name(direction),
                     dtype_name(p.dtype), layout_name(p.x_stride),
                     static_cast<long long>(p.n), static_cast<long long>(p.c), static_cast<long long>(p.h),
                     static_cast<long long>(p.w), static_cast<long long>(p.k), static_cast<long long>(p.r),
                     static_cast<long long>(p.s), static_cast<long long>(p.stride_h),
                     static_cast<long long>(p.stride_w), static_cast<long long>(p.pad_h),
                     static_cast<long long>(p.pad_w), static_cast<long long>(p.dil_h),
                     static_cast<long long>(p.dil_w));
    }
    std::fflush(log);
}

uint64_t decisions_with(RouteReason reason) {
    uint64_t total = 0;
    for (const auto& counts : g_counts) total += counts[static_cast<int>(reason)].load(std::memory_order_relaxed);
    return total;
}

}  // namespace dwshim
