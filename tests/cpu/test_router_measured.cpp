// The static routing rules against the H200 measurements they were read from: for every case, direction, dtype and
// layout a run timed (bench/results/: the suite, issue 15's classes file, the model layers), the decision the default policy makes through each API, and a failure where
// it routes a call that dwshim ran more than 3% slower than what the call runs otherwise, in the latest run that
// timed the call:
//   legacy:  cuDNN's legacy Find's best algorithm;
//   backend: cuDNN's heuristic plan, or PyTorch's plan where PyTorch runs the call on cuDNN (fp16, channels-last);
//   PyTorch's own kernels (fp32/bf16 NCHW, the C++ hook's calls): PyTorch's time.
// Prints the table of decisions (ctest -V shows it). Runs without DWSHIM_ROUTE (ctest's cpu_policy).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "shim/route_reason.h"
#include "shim/test_hooks.h"
#include "tests/cpu/route_cases.h"

namespace {

// Issue 15's bar: no routed call slower than what it replaces by more than 3%.
constexpr double kSlowestAccepted = 0.97;

using Row = std::map<std::string, std::string>;

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> fields;
    std::stringstream in(line);
    std::string field;
    while (std::getline(in, field, ',')) fields.push_back(field);
    return fields;
}

// A CSV whose first line names the columns; lines starting with '#' are skipped.
std::vector<Row> read_csv(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << path;
    std::vector<Row> rows;
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const std::vector<std::string> fields = split(line);
        if (names.empty()) {
            names = fields;
            continue;
        }
        Row row;
        for (size_t i = 0; i < names.size() && i < fields.size(); ++i) row[names[i]] = fields[i];
        rows.push_back(row);
    }
    return rows;
}

std::string source_path(const std::string& relative) {
    return std::string(DWSHIM_SOURCE_DIR) + "/" + relative;
}

// The cases of bench/suite.csv-format files by name.
std::map<std::string, dwtest::ConvCase> read_cases(const std::vector<std::string>& files) {
    std::map<std::string, dwtest::ConvCase> cases;
    for (const std::string& file : files) {
        for (const dwtest::NamedCase& row : dwtest::read_cases_file(source_path(file))) cases[row.name] = row.cc;
    }
    return cases;
}

// The case's geometry in the measured row's direction, dtype and layout.
dwtest::ConvCase conv_case(dwtest::ConvCase cc, const Row& measured) {
    const std::string& op = measured.at("op");
    const std::string& dtype = measured.at("dtype");
    cc.direction = op == "dgrad"   ? dwshim::Direction::kDataGrad
                   : op == "wgrad" ? dwshim::Direction::kFilterGrad
                                   : dwshim::Direction::kForward;
    cc.dtype = dtype == "f16" ? CUDNN_DATA_HALF : dtype == "bf16" ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    cc.layout = measured.at("layout") == "nhwc" ? dwtest::Layout::kNHWC : dwtest::Layout::kNCHW;
    return cc;
}

// Whether a call on cc's packed tensors is routed through `api` (1 backend, 2 PyTorch's own kernel).
bool routed_by_sizes(int api, const dwtest::ConvCase& cc) {
    const dwtest::TensorLayout x = dwtest::make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w);
    const dwtest::TensorLayout y = dwtest::make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q());
    int64_t x_sizes[4], x_strides[4], y_sizes[4], y_strides[4];
    for (int i = 0; i < 4; ++i) {
        x_sizes[i] = x.dims[i];
        x_strides[i] = x.strides[i];
        y_sizes[i] = y.dims[i];
        y_strides[i] = y.strides[i];
    }
    const int64_t geometry[8] = {cc.kh, cc.kw, cc.stride_h, cc.stride_w, cc.pad_h, cc.pad_w, cc.dil_h, cc.dil_w};
    const int dtype = cc.dtype == CUDNN_DATA_HALF       ? DWSHIM_HALF
                      : cc.dtype == CUDNN_DATA_BFLOAT16 ? DWSHIM_BFLOAT16
                                                        : DWSHIM_FLOAT;
    dwshim::DepthwiseParams params;
    params.direction = cc.direction;
    return dwshim_route_sizes(api, dtype, x_sizes, x_strides, geometry, y_sizes, y_strides, &params) ==
           static_cast<int>(dwshim::RouteReason::kRouted);
}

double ms(const Row& row, const char* column) {
    const auto it = row.find(column);
    return it == row.end() || it->second.empty() ? -1.0 : std::stod(it->second);
}

// One run: the cases files its rows name, its bench_cudnn CSVs and its bench_torch CSVs.
struct MeasuredRun {
    std::vector<std::string> cases, cudnn, torch;
};

struct Verdict {
    int routed = 0, forwarded = 0;
    std::vector<std::string> slower;
};

// "R" (routed) or "." and the other path's time over dwshim's, "-" where either was not measured; records a routed
// call that lost.
std::string judge(const std::string& call, bool routed, double dwshim_ms, double other_ms, Verdict* verdict) {
    if (dwshim_ms <= 0 || other_ms <= 0) return "      -  ";
    const double ratio = other_ms / dwshim_ms;
    (routed ? verdict->routed : verdict->forwarded)++;
    if (routed && ratio < kSlowestAccepted) {
        verdict->slower.push_back(call + ": " + std::to_string(dwshim_ms) + " ms vs " + std::to_string(other_ms));
    }
    char text[32];
    std::snprintf(text, sizeof text, "%s %5.2fx", routed ? "R" : ".", ratio);
    return text;
}

std::string row_key(const Row& row) {
    return row.at("case") + "," + row.at("op") + "," + row.at("dtype") + "," + row.at("layout");
}

// One call's latest measurement: the bench_cudnn row, its case and PyTorch's time (-1 where not measured).
struct Measured {
    Row row;
    dwtest::ConvCase cc;
    double torch_ms = -1.0;
};

// Adds a run's rows to `latest`, keyed by cases file and call: a later run's row replaces an earlier one (a kernel
// changed and the call was timed again).
void collect_run(const MeasuredRun& run, std::map<std::string, Measured>* latest) {
    const std::map<std::string, dwtest::ConvCase> cases = read_cases(run.cases);
    std::map<std::string, double> torch_ms;  // the faster of PyTorch's cudnn.benchmark modes
    for (const std::string& file : run.torch) {
        for (const Row& row : read_csv(source_path(file))) {
            const double a = ms(row, "torch_ms"), b = ms(row, "torch_benchmark_ms");
            torch_ms[row_key(row)] = a > 0 && b > 0 ? std::min(a, b) : std::max(a, b);
        }
    }
    for (const std::string& file : run.cudnn) {
        for (const Row& m : read_csv(source_path(file))) {
            const auto c = cases.find(m.at("case"));
            ASSERT_NE(c, cases.end()) << m.at("case");
            const std::string key = row_key(m);
            (*latest)[run.cases.front() + ":" + key] =
                Measured{m, conv_case(c->second, m), torch_ms.count(key) ? torch_ms.at(key) : -1.0};
        }
    }
}

void check_measured(const std::map<std::string, Measured>& latest, Verdict* verdict) {
    std::printf("(R routed, . forwarded; the other path's time / dwshim's)\n%-22s %-5s %-4s %-4s %-9s %-9s %s\n",
                "case", "op", "type", "lay", "legacy", "backend", "PyTorch's kernel");
    for (const auto& entry : latest) {
        const Row& m = entry.second.row;
        const dwtest::ConvCase& cc = entry.second.cc;
        const std::string key = row_key(m);
        const double torch = entry.second.torch_ms;
        // PyTorch runs fp32 and bf16 NCHW depthwise convolutions on its own kernels, the rest on cuDNN.
        const bool torch_native = cc.layout == dwtest::Layout::kNCHW && cc.dtype != CUDNN_DATA_HALF;
        double backend_other = ms(m, "cudnn_backend_ms");
        if (!torch_native && torch > 0 && (backend_other <= 0 || torch < backend_other)) backend_other = torch;
        const std::string l = judge(key + " legacy", legacy(cc) == dwshim::RouteReason::kRouted, ms(m, "dwshim_ms"),
                                    ms(m, "cudnn_legacy_ms"), verdict);
        const std::string b =
            judge(key + " backend", routed_by_sizes(1, cc), ms(m, "dwshim_backend_ms"), backend_other, verdict);
        const std::string n =
            torch_native ? judge(key + " PyTorch", routed_by_sizes(2, cc), ms(m, "dwshim_ms"), torch, verdict) : "";
        std::printf("%-22s %-5s %-4s %-4s %-9s %-9s %s\n", m.at("case").c_str(), m.at("op").c_str(),
                    m.at("dtype").c_str(), m.at("layout").c_str(), l.c_str(), b.c_str(), n.c_str());
    }
}

TEST(EnvPolicy, RoutedCallsWereMeasuredFasterOnTheH200) {
    ASSERT_EQ(std::getenv("DWSHIM_ROUTE"), nullptr);
    const std::vector<MeasuredRun> runs = {
        {{"bench/suite.csv"},
         {"bench/results/2026-12-03r-h200-suite-cudnn.csv"},
         {"bench/results/2026-12-03r-h200-suite-torch.csv"}},
        {{"bench/classes.csv"},
         {"bench/results/2026-12-03s-h200-classes-fwd-cudnn.csv"},
         {"bench/results/2026-12-03s-h200-classes-fwd-torch.csv"}},
        {{"bench/classes.csv"},
         {"bench/results/2026-12-03u-h200-classes-grads-cudnn.csv",
          "bench/results/2026-12-03u-h200-classes-asym-fwd-cudnn.csv"},
         {"bench/results/2026-12-03u-h200-classes-grads-torch.csv"}},
        {{"bench/classes.csv"},
         {"bench/results/2026-12-03v-h200-classes-large-cudnn.csv"},
         {"bench/results/2026-12-03v-h200-classes-large-torch.csv"}},
        {{"bench/models.csv"},
         {"bench/results/2026-12-03q-h200-models-nchw-wgrad-cudnn.csv"},
         {"bench/results/2026-12-03q-h200-models-nchw-wgrad-torch.csv",
          "bench/results/2026-12-03r-h200-models-nchw-wgrad-f16-torch.csv"}},
        // The asymmetric filter gradient on the NCHW rows kernel (it ran on the generic kernel in run u).
        {{"bench/classes.csv"},
         {"bench/results/2026-12-03cc-h200-classes-asym-grads-cudnn.csv"},
         {"bench/results/2026-12-03cc-h200-classes-asym-wgrad-torch.csv"}},
        // The quads kernel on narrow planes and the NCHW rows filter gradient's long bands (PyTorch's kernels did
        // not change: its times from runs r and q).
        {{"bench/suite.csv"},
         {"bench/results/2026-12-04jj-h200-suite-nchw-grads-cudnn.csv"},
         {"bench/results/2026-12-03r-h200-suite-torch.csv"}},
        {{"bench/models.csv"},
         {"bench/results/2026-12-04kk-h200-models-nchw-wgrad-cudnn.csv"},
         {"bench/results/2026-12-03q-h200-models-nchw-wgrad-torch.csv",
          "bench/results/2026-12-03r-h200-models-nchw-wgrad-f16-torch.csv"}},
        // The model layers on channels-last tensors, three directions, against cuDNN's plans and PyTorch's.
        {{"bench/models.csv"},
         {"bench/results/2026-12-04mm-h200-models-nhwc-bf16-cudnn.csv",
          "bench/results/2026-12-04mm-h200-models-nhwc-f16-cudnn.csv"},
         {"bench/results/2026-12-04mm-h200-models-nhwc-bf16-torch.csv",
          "bench/results/2026-12-04mm-h200-models-nhwc-f16-torch.csv"}},
        // The image-tile filter gradient (2-byte 5x5 and 7x7 at stride 1): run pp's rows of those filters (its 3x3
        // rows timed the kernel at 3x3, which does not ship).
        {{"bench/models.csv"},
         {"bench/results/2026-12-04pp-h200-models-nhwc-wgrad-k5k7s1-cudnn.csv"},
         {"bench/results/2026-12-04pp-h200-models-nhwc-wgrad-k5k7s1-torch.csv"}},
        // The tensor-core forward (2-byte 7x7 at stride 1 on rows of 28 or more, which the data gradient runs on
        // too): run ss's rows of the layers it takes, against PyTorch's plans from run rr (same session) and the
        // suite's from run r.
        {{"bench/models.csv"},
         {"bench/results/2026-12-04ss-h200-models-nhwc-k7-mma-cudnn.csv"},
         {"bench/results/2026-12-04rr-h200-models-nhwc-k7-torch.csv"}},
        {{"bench/suite.csv"},
         {"bench/results/2026-12-04ss-h200-suite-convnext7-mma-cudnn.csv"},
         {"bench/results/2026-12-03r-h200-suite-torch.csv"}},
        // The large filters on the tensor-core kernels (fp16/bf16 from 13 x 13, fp32 from 25 x 25): k9 and k11 in
        // run yy, k13 in run za, against PyTorch's plans from run yy (same session).
        {{"bench/classes.csv"},
         {"bench/results/2026-12-04yy-h200-large-k9-k11-cudnn.csv", "bench/results/2026-12-04za-h200-k13-cudnn.csv"},
         {"bench/results/2026-12-04yy-h200-large-torch.csv"}},
        // The NHWC small-plane kernel (7 x 7; 2-byte rows of 28 run on the tensor-core kernel): its first form in
        // run zd, its final one in run zf.
        {{"bench/models.csv"},
         {"bench/results/2026-12-04zd-h200-small-planes-k7-cudnn.csv"},
         {"bench/results/2026-12-04zd-h200-small-planes-k7-torch.csv"}},
        {{"bench/models.csv"},
         {"bench/results/2026-12-04zf-h200-small-planes-k7-cudnn.csv"},
         {"bench/results/2026-12-04zf-h200-small-planes-k7-torch.csv"}},
        // Its 2-byte 5 x 5 (run zh's tree also built 3x3 and fp32 5x5 there, which do not ship: only the 2-byte 5x5
        // rows are kept).
        {{"bench/models.csv"},
         {"bench/results/2026-12-04zh-h200-small-planes-k5-cudnn.csv"},
         {"bench/results/2026-12-04zh-h200-small-planes-k5-torch.csv"}},
        // The tree as landed (run zi): the models' stride-2 layers and 5x5 layers on rows of 28 or fewer, and the
        // suite's stride-2 cases mbv2_s2 and effnet_k5s2.
        {{"bench/models.csv", "bench/suite.csv"},
         {"bench/results/2026-12-04zi-h200-models-nhwc-s2-k5-cudnn.csv"},
         {"bench/results/2026-12-04zi-h200-models-nhwc-s2-k5-torch.csv"}},
        // The stride-2 data gradient with padded tap rows and walking blocks (run zm): the models' stride-2 layers,
        // mbv2_s2 and effnet_k5s2.
        {{"bench/models.csv", "bench/suite.csv"},
         {"bench/results/2026-12-04zm-h200-models-nhwc-s2-dgrad-cudnn.csv"},
         {"bench/results/2026-12-04zm-h200-models-nhwc-s2-dgrad-torch.csv"}},
    };
    std::map<std::string, Measured> latest;
    for (const MeasuredRun& run : runs) collect_run(run, &latest);
    Verdict verdict;
    check_measured(latest, &verdict);
    std::printf("%d measured calls routed, %d forwarded\n", verdict.routed, verdict.forwarded);
    EXPECT_GT(verdict.routed, 0);
    EXPECT_GT(verdict.forwarded, 0);
    for (const std::string& loss : verdict.slower) ADD_FAILURE() << "routed but slower: " << loss;
}

}  // namespace
