// A depthwise convolution built through cuDNN's backend API: tensors, convolution, operation and graph (these
// finalize without a GPU), and on a GPU an execution plan and a variant pack.
#pragma once

#include <cudnn.h>

#include <vector>

#include "conv_case.h"

namespace dwtest {

constexpr int64_t kXUid = 101, kWUid = 102, kYUid = 103, kBiasUid = 104, kResidualUid = 105;

cudnnBackendDescriptor_t make_backend_tensor(int64_t uid, cudnnDataType_t dtype, const int64_t dims[4],
                                             const int64_t strides[4]);

// Owns every descriptor it made. cc.post_pad_extra adds to the trailing padding (the backend API allows
// asymmetric padding); the output size follows. With cc.bias or cc.activation the graph is the conv into a
// virtual tensor, then pointwise ADD of beta * z (when beta != 0), ADD of a [1, k, 1, 1] bias and/or RELU_FWD
// into y; otherwise beta is the conv's own. cc.direction picks the operation: a data gradient reads y (dy) and
// writes x (dx), a filter gradient reads x and y (dy) and writes w (dw); the UIDs keep the forward roles.
class BackendConv {
public:
    explicit BackendConv(const ConvCase& cc);
    ~BackendConv();
    BackendConv(const BackendConv&) = delete;
    BackendConv& operator=(const BackendConv&) = delete;

    // Finalizes a graph of these ops, on `handle` when given (as cudnn_frontend does). Returns it or null.
    cudnnBackendDescriptor_t make_graph(const std::vector<cudnnBackendDescriptor_t>& ops,
                                        cudnnHandle_t handle = nullptr);
    // GPU only: the first plan cuDNN's heuristics offer that finalizes, or null.
    cudnnBackendDescriptor_t make_plan(cudnnHandle_t handle, cudnnBackendDescriptor_t graph, int64_t* workspace);
    cudnnBackendDescriptor_t make_variant_pack(void* x, void* w, void* y, void* workspace, void* bias = nullptr,
                                               void* residual = nullptr);
    // Another conv forward op over the same x and w into a new output; for multi-op graphs.
    cudnnBackendDescriptor_t make_second_op();

    int p = 0, q = 0;
    TensorLayout x_layout{}, y_layout{};
    cudnnBackendDescriptor_t x = nullptr, w = nullptr, y = nullptr, conv = nullptr, op = nullptr;
    std::vector<cudnnBackendDescriptor_t> ops;  // every op of the graph, the conv first

private:
    cudnnBackendDescriptor_t keep(cudnnBackendDescriptor_t d);
    cudnnBackendDescriptor_t make_pointwise(cudnnPointwiseMode_t mode, cudnnBackendDescriptor_t in,
                                            cudnnBackendDescriptor_t second, cudnnBackendDescriptor_t out,
                                            float second_scale = 1.0f);
    ConvCase cc_;
    std::vector<cudnnBackendDescriptor_t> owned_;
};

}  // namespace dwtest
