// Host-side data for GPU tests: values in each storage type, and a float64 reference convolution.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tests/common/conv_case.h"

namespace dwtest {

// A host image of a device tensor: raw bytes in the storage type, `span` elements long.
struct HostTensor {
    cudnnDataType_t dtype;
    std::vector<unsigned char> bytes;

    HostTensor(cudnnDataType_t type, int64_t span) : dtype(type), bytes(span * dtype_size(type)) {}
    int64_t span() const { return static_cast<int64_t>(bytes.size() / dtype_size(dtype)); }
    double get(int64_t i) const;
    void set(int64_t i, double value);  // rounds to the storage type
};

// Every element uniform in [-1, 1), rounded to the storage type.
void fill_random(HostTensor* t, std::mt19937* rng);

// Float64 y = act(alpha * conv(x, filter) + beta * y0 + bias), over the logical elements of y; `bias` is
// read when cc.bias is set.
std::vector<double> reference_conv(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                   const HostTensor& filter, const TensorLayout& yl, const HostTensor& y0,
                                   const HostTensor* bias = nullptr);

// Float64 gradients: dx = alpha * conv_transpose(dy, filter) + beta * dx0 over dx's logical elements in
// (n, c, h, w) order, and dw = alpha * sum(dy * x) + beta * dw0 over the packed filter [k][kh][kw].
std::vector<double> reference_data_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& dx0,
                                        const HostTensor& filter, const TensorLayout& yl, const HostTensor& dy);
std::vector<double> reference_filter_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                          const HostTensor& dw0, const TensorLayout& yl, const HostTensor& dy);

// Offsets of y's logical elements, in (n, k, p, q) order.
std::vector<int64_t> logical_offsets(const TensorLayout& layout);

// ||a - b|| / ||b||.
double relative_error(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace dwtest
