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

// The packed filter [k][kh][kw] in float64.
std::vector<double> filter_values(const ConvCase& cc, const HostTensor& filter) {
    std::vector<double> values(static_cast<size_t>(cc.k()) * cc.kh * cc.kw);
    for (size_t i = 0; i < values.size(); ++i) values[i] = filter.get(static_cast<int64_t>(i));
    return values;
}

// Calls visit(x_at, y_at, tap) for every product of the convolution, with the indices in logical_values' order of
// its input element (n, c, ih, iw) and output element (n, k, oh, ow) and the packed filter index of its tap. The
// order is n, k, r, s, oh, ow: each output's products arrive in tap order, each tap's in (n, oh, ow) order, and
// the innermost loop walks a row.
template <typename Visit>
void for_each_product(const ConvCase& cc, Visit&& visit) {
    const bool flip = cc.mode == CUDNN_CONVOLUTION;
    const int64_t p = cc.p(), q = cc.q();
    for (int64_t n = 0; n < cc.n; ++n)
        for (int64_t k = 0; k < cc.k(); ++k) {
            const int64_t x_plane = (n * cc.c + k / cc.multiplier) * cc.h, y_plane = (n * cc.k() + k) * p;
            for (int r = 0; r < cc.kh; ++r)
                for (int s = 0; s < cc.kw; ++s) {
                    const int tr = flip ? cc.kh - 1 - r : r;
                    const int ts = flip ? cc.kw - 1 - s : s;
                    const int64_t tap = (k * cc.kh + tr) * cc.kw + ts;
                    for (int64_t oh = 0; oh < p; ++oh) {
                        const int64_t ih = oh * cc.stride_h - cc.pad_h + int64_t{r} * cc.dil_h;
                        if (ih < 0 || ih >= cc.h) continue;
                        const int64_t x_row = (x_plane + ih) * cc.w, y_row = (y_plane + oh) * q;
                        for (int64_t ow = 0; ow < q; ++ow) {
                            const int64_t iw = ow * cc.stride_w - cc.pad_w + int64_t{s} * cc.dil_w;
                            if (iw >= 0 && iw < cc.w) visit(static_cast<size_t>(x_row + iw), y_row + ow, tap);
                        }
                    }
                }
        }
}

}  // namespace

std::vector<double> reference_conv(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                   const HostTensor& filter, const TensorLayout& yl, const HostTensor& y0,
                                   const HostTensor* bias) {
    const std::vector<double> xv = logical_values(x, xl), fv = filter_values(cc, filter);
    std::vector<double> acc(static_cast<size_t>(cc.n) * cc.k() * cc.p() * cc.q(), 0.0);
    for_each_product(cc, [&](size_t x_at, int64_t y_at, int64_t tap) { acc[y_at] += xv[x_at] * fv[tap]; });
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
    const std::vector<double> dyv = logical_values(dy, yl), fv = filter_values(cc, filter);
    std::vector<double> acc(static_cast<size_t>(cc.n) * cc.c * cc.h * cc.w, 0.0);
    for_each_product(cc, [&](size_t x_at, int64_t y_at, int64_t tap) { acc[x_at] += dyv[y_at] * fv[tap]; });
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
    for_each_product(cc, [&](size_t x_at, int64_t y_at, int64_t tap) { acc[tap] += dyv[y_at] * xv[x_at]; });
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
