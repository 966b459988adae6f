#include "reference.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dwtest {

double HostTensor::get(int64_t i) const {
    const unsigned char* at = bytes.data() + i * dtype_size(dtype);
    switch (dtype) {
        case CUDNN_DATA_HALF: {
            __half v;
            std::memcpy(&v, at, sizeof(v));
            return __half2float(v);
        }
        case CUDNN_DATA_BFLOAT16: {
            __nv_bfloat16 v;
            std::memcpy(&v, at, sizeof(v));
            return __bfloat162float(v);
        }
        case CUDNN_DATA_DOUBLE: {
            double v;
            std::memcpy(&v, at, sizeof(v));
            return v;
        }
        default: {
            float v;
            std::memcpy(&v, at, sizeof(v));
            return v;
        }
    }
}

void HostTensor::set(int64_t i, double value) {
    unsigned char* at = bytes.data() + i * dtype_size(dtype);
    switch (dtype) {
        case CUDNN_DATA_HALF: {
            const __half v = __float2half_rn(static_cast<float>(value));
            std::memcpy(at, &v, sizeof(v));
            break;
        }
        case CUDNN_DATA_BFLOAT16: {
            const __nv_bfloat16 v = __float2bfloat16_rn(static_cast<float>(value));
            std::memcpy(at, &v, sizeof(v));
            break;
        }
        case CUDNN_DATA_DOUBLE:
            std::memcpy(at, &value, sizeof(value));
            break;
        default: {
            const float v = static_cast<float>(value);
            std::memcpy(at, &v, sizeof(v));
            break;
        }
    }
}

void fill_random(HostTensor* t, std::mt19937* rng) {
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    for (int64_t i = 0; i < t->span(); ++i) t->set(i, uniform(*rng));
}

std::vector<int64_t> logical_offsets(const TensorLayout& l) {
    std::vector<int64_t> offsets;
    offsets.reserve(static_cast<size_t>(l.dims[0]) * l.dims[1] * l.dims[2] * l.dims[3]);
    for (int n = 0; n < l.dims[0]; ++n)
        for (int c = 0; c < l.dims[1]; ++c)
            for (int h = 0; h < l.dims[2]; ++h)
                for (int w = 0; w < l.dims[3]; ++w)
                    offsets.push_back(int64_t{n} * l.strides[0] + int64_t{c} * l.strides[1] +
                                      int64_t{h} * l.strides[2] + int64_t{w} * l.strides[3]);
    return offsets;
}

namespace {

// The tensor's logical elements in float64, in (n, c, h, w) order whatever its layout, decoded once: get() per
// product (a type switch and a conversion) made the references most of the GPU tests' time.
std::vector<double> logical_values(const HostTensor& t, const TensorLayout& layout) {
    const std::vector<int64_t> offsets = logical_offsets(layout);
    std::vector<double> values(offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) values[i] = t.get(offsets[i]);
    return values;
}

// The products of one output row with one tap: y's elements y_row + ow for ow in [begin, end) times x's elements
// x_row + ow * stride_w (indices in logical_values' order), weighted by the packed filter's element `tap`.
struct RowProducts {
    int64_t x_row, y_row, begin, end, tap;
};

// Calls visit(RowProducts) for every output row and tap, in the order n, k, r, s, oh: each output's products arrive
// in tap order and each tap's in (n, oh, ow) order.
template <typename Visit>
void for_each_row(const ConvCase& cc, Visit&& visit) {
    const bool flip = cc.mode == CUDNN_CONVOLUTION;
    const int64_t p = cc.p(), q = cc.q();
    for (int64_t n = 0; n < cc.n; ++n)
        for (int64_t k = 0; k < cc.k(); ++k) {
            const int64_t x_plane = (n * cc.c + k / cc.multiplier) * cc.h, y_plane = (n * cc.k() + k) * p;
            for (int r = 0; r < cc.kh; ++r)
                for (int s = 0; s < cc.kw; ++s) {
                    const int tr = flip ? cc.kh - 1 - r : r;
                    const int ts = flip ? cc.kw - 1 - s : s;
                    // Output column ow reads input column ow * stride_w + shift: inside [0, w) for ow in [begin, end).
                    const int64_t shift = int64_t{s} * cc.dil_w - cc.pad_w;
                    const int64_t begin = shift >= 0 ? 0 : (-shift + cc.stride_w - 1) / cc.stride_w;
                    const int64_t end = cc.w - 1 - shift < 0 ? 0 : std::min(q, (cc.w - 1 - shift) / cc.stride_w + 1);
                    for (int64_t oh = 0; oh < p; ++oh) {
                        const int64_t ih = oh * cc.stride_h - cc.pad_h + int64_t{r} * cc.dil_h;
                        if (ih < 0 || ih >= cc.h) continue;
                        visit(RowProducts{(x_plane + ih) * cc.w + shift, (y_plane + oh) * q, begin, end,
                                          (k * cc.kh + tr) * cc.kw + ts});
                    }
                }
        }
}

}  // namespace

std::vector<double> reference_conv(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                   const HostTensor& filter, const TensorLayout& yl, const HostTensor& y0,
                                   const HostTensor* bias) {
    const std::vector<double> xv = logical_values(x, xl), fv = logical_values(filter, filter_layout(cc));
    std::vector<double> acc(static_cast<size_t>(cc.n) * cc.k() * cc.p() * cc.q(), 0.0);
    for_each_row(cc, [&](const RowProducts& row) {
        for (int64_t ow = row.begin; ow < row.end; ++ow) {
            acc[row.y_row + ow] += xv[row.x_row + ow * cc.stride_w] * fv[row.tap];
        }
    });
    const std::vector<int64_t> offsets = logical_offsets(yl);
    const int64_t plane = cc.p() * cc.q();
    for (size_t i = 0; i < acc.size(); ++i) {
        double value = cc.alpha * acc[i];
        if (cc.beta != 0.0f) value += cc.beta * y0.get(offsets[i]);
        if (cc.bias) value += bias->get(static_cast<int64_t>(i) / plane % cc.k());
        if (cc.activation != 0) value = std::max(value, 0.0);
        if (cc.activation == 2) value = std::min(value, static_cast<double>(cc.clip));
        acc[i] = value;
    }
    return acc;
}

std::vector<double> reference_data_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& dx0,
                                        const HostTensor& filter, const TensorLayout& yl, const HostTensor& dy) {
    const std::vector<double> dyv = logical_values(dy, yl), fv = logical_values(filter, filter_layout(cc));
    std::vector<double> acc(static_cast<size_t>(cc.n) * cc.c * cc.h * cc.w, 0.0);
    for_each_row(cc, [&](const RowProducts& row) {
        for (int64_t ow = row.begin; ow < row.end; ++ow) {
            acc[row.x_row + ow * cc.stride_w] += dyv[row.y_row + ow] * fv[row.tap];
        }
    });
    const std::vector<int64_t> offsets = logical_offsets(xl);
    for (size_t i = 0; i < acc.size(); ++i) {
        acc[i] = cc.alpha * acc[i] + (cc.beta != 0.0f ? cc.beta * dx0.get(offsets[i]) : 0.0);
    }
    return acc;
}

std::vector<double> reference_filter_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                          const HostTensor& dw0, const TensorLayout& yl, const HostTensor& dy) {
    const std::vector<double> dyv = logical_values(dy, yl), xv = logical_values(x, xl);
    std::vector<double> acc(static_cast<size_t>(cc.k()) * cc.kh * cc.kw, 0.0);
    for_each_row(cc, [&](const RowProducts& row) {
        double sum = acc[row.tap];
        for (int64_t ow = row.begin; ow < row.end; ++ow) sum += dyv[row.y_row + ow] * xv[row.x_row + ow * cc.stride_w];
        acc[row.tap] = sum;
    });
    for (size_t i = 0; i < acc.size(); ++i) {
        acc[i] = cc.alpha * acc[i] + (cc.beta != 0.0f ? cc.beta * dw0.get(static_cast<int64_t>(i)) : 0.0);
    }
    return acc;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::isnan(a[i])) return INFINITY;
        diff += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return norm > 0.0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

}  // namespace dwtest
