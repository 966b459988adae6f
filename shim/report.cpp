#include "report.h"

#include <atomic>
#include <cstdio>

#include "settings.h"

namespace dwshim {
namespace {

constexpr int kReasonCount = static_cast<int>(RouteReason::kCount);

std::atomic<uint64_t> g_counts[kReasonCount];

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
        uint64_t total = 0;
        for (const auto& count : g_counts) total += count.load();
        if (!s.stats || total == 0) return;  // say nothing in processes that never called a convolution
        std::FILE* out = s.log != nullptr ? s.log : stderr;
        std::fprintf(out, "dwshim summary: %llu convolutions routed\n",
                     static_cast<unsigned long long>(g_counts[0].load()));
        for (int i = 1; i < kReasonCount; ++i) {
            const uint64_t count = g_counts[i].load();
            if (count == 0) continue;
            std::fprintf(out, "dwshim summary: %llu forwarded: %s\n", static_cast<unsigned long long>(count),
                         route_reason_text(static_cast<RouteReason>(i)));
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

void report_decision(const char* api_function, bool executes, RouteReason reason, const DepthwiseParams* params) {
    if (executes) g_counts[static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
    std::FILE* log = settings().log;
    if (log == nullptr) return;
    const char* verdict = reason == RouteReason::kRouted ? "routed" : "forwarded";
    if (params == nullptr) {
        std::fprintf(log, "dwshim: %s %s: %s\n", api_function, verdict, route_reason_text(reason));
    } else {
        const DepthwiseParams& p = *params;
        std::fprintf(log,
                     "dwshim: %s %s: %s [%s %s n=%lld c=%lld h=%lld w=%lld k=%lld filter=%lldx%lld stride=%lldx%lld "
                     "pad=%lldx%lld dil=%lldx%lld]\n",
                     api_function, verdict, route_reason_text(reason), dtype_name(p.dtype), layout_name(p.x_stride),
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
    return g_counts[static_cast<int>(reason)].load(std::memory_order_relaxed);
}

}  // namespace dwshim
