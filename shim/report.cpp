#include "report.h"

#include <atomic>
#include <cstdio>

#include "settings.h"

namespace dwshim {
namespace {

constexpr int kReasonCount = static_cast<int>(RouteReason::kCount);
constexpr int kDirections = 3;

std::atomic<uint64_t> g_counts[kDirections][kReasonCount];
std::atomic<uint64_t> g_measured{0}, g_measured_faster{0};

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
        if (g_measured.load() > 0) {
            std::fprintf(out, "dwshim summary: %llu problems measured on first sight, dwshim faster on %llu\n",
                         static_cast<unsigned long long>(g_measured.load()),
                         static_cast<unsigned long long>(g_measured_faster.load()));
        }
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

namespace {

// "[fwd f32 NCHW n=.. c=.. ...]", the problem a log line is about.
void print_problem(std::FILE* log, Direction direction, const DepthwiseParams& p) {
    std::fprintf(log,
                 "[%s %s %s n=%lld c=%lld h=%lld w=%lld k=%lld filter=%lldx%lld stride=%lldx%lld pad=%lldx%lld "
                 "dil=%lldx%lld]\n",
                 direction_name(direction), dtype_name(p.dtype), layout_name(p.x_stride), static_cast<long long>(p.n),
                 static_cast<long long>(p.c), static_cast<long long>(p.h), static_cast<long long>(p.w),
                 static_cast<long long>(p.k), static_cast<long long>(p.r), static_cast<long long>(p.s),
                 static_cast<long long>(p.stride_h), static_cast<long long>(p.stride_w),
                 static_cast<long long>(p.pad_h), static_cast<long long>(p.pad_w), static_cast<long long>(p.dil_h),
                 static_cast<long long>(p.dil_w));
}

}  // namespace

void report_decision(const char* api_function, bool executes, RouteReason reason, Direction direction,
                     const DepthwiseParams* params) {
    if (executes) {
        g_counts[static_cast<int>(direction)][static_cast<int>(reason)].fetch_add(1, std::memory_order_relaxed);
    }
    std::FILE* log = settings().log;
    if (log == nullptr) return;
    const char* verdict = reason == RouteReason::kRouted ? "routed" : "forwarded";
    std::fprintf(log, "dwshim: %s %s: %s ", api_function, verdict, route_reason_text(reason));
    if (params == nullptr) {
        std::fprintf(log, "[%s]\n", direction_name(direction));
    } else {
        print_problem(log, direction, *params);
    }
    std::fflush(log);
}

void report_measurement(const char* api_name, const DepthwiseParams& params, double dwshim_ms, double replaced_ms,
                        bool routed) {
    g_measured.fetch_add(1, std::memory_order_relaxed);
    if (routed) g_measured_faster.fetch_add(1, std::memory_order_relaxed);
    std::FILE* log = settings().log;
    if (log == nullptr) return;
    std::fprintf(log, "dwshim: measured on first sight (%s): dwshim %.4f ms, replaced path %.4f ms, %s ", api_name,
                 dwshim_ms, replaced_ms, routed ? "routed" : "forwarded");
    print_problem(log, params.direction, params);
    std::fflush(log);
}

void report_unmeasured(const char* api_name, const DepthwiseParams& params, const char* why) {
    std::FILE* log = settings().log;
    if (log == nullptr) return;
    std::fprintf(log, "dwshim: not measured on first sight (%s): %s; the static rules decide ", api_name, why);
    print_problem(log, params.direction, params);
    std::fflush(log);
}

uint64_t decisions_with(RouteReason reason) {
    uint64_t total = 0;
    for (const auto& counts : g_counts) total += counts[static_cast<int>(reason)].load(std::memory_order_relaxed);
    return total;
}

}  // namespace dwshim
