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

std::vector<double> reference_conv(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                   const HostTensor& filter, const TensorLayout& yl, const HostTensor& y0,
                                   const HostTensor* bias) {
    std::vector<double> out;
    out.reserve(logical_offsets(yl).size());
    for (int n = 0; n < cc.n; ++n)
        for (int k = 0; k < cc.k(); ++k)
            for (int oh = 0; oh < cc.p(); ++oh)
                for (int ow = 0; ow < cc.q(); ++ow) {
                    const int c = k / cc.multiplier;
                    double acc = 0.0;
                    for (int r = 0; r < cc.kh; ++r)
                        for (int s = 0; s < cc.kw; ++s) {
                            const int ih = oh * cc.stride_h - cc.pad_h + r * cc.dil_h;
                            const int iw = ow * cc.stride_w - cc.pad_w + s * cc.dil_w;
                            if (ih < 0 || ih >= cc.h || iw < 0 || iw >= cc.w) continue;
                            const bool flip = cc.mode == CUDNN_CONVOLUTION;
                            const int tr = flip ? cc.kh - 1 - r : r;
                            const int ts = flip ? cc.kw - 1 - s : s;
                            acc += x.get(int64_t{n} * xl.strides[0] + int64_t{c} * xl.strides[1] +
                                         int64_t{ih} * xl.strides[2] + int64_t{iw} * xl.strides[3]) *
                                   filter.get((int64_t{k} * cc.kh + tr) * cc.kw + ts);
                        }
                    const int64_t y_at = int64_t{n} * yl.strides[0] + int64_t{k} * yl.strides[1] +
                                         int64_t{oh} * yl.strides[2] + int64_t{ow} * yl.strides[3];
                    double value = cc.alpha * acc;
                    if (cc.beta != 0.0f) value += cc.beta * y0.get(y_at);
                    if (cc.bias) value += bias->get(k);
                    if (cc.activation != 0) value = std::max(value, 0.0);
                    if (cc.activation == 2) value = std::min(value, static_cast<double>(cc.clip));
                    out.push_back(value);
                }
    return out;
}

namespace {

// Calls visit(n, k, c, oh, ow, ih, iw, tap) for every product of the convolution: output (n, k, oh, ow), input
// (n, c, ih, iw) and the packed filter index of the tap that multiplies them.
template <typename Visit>
void for_each_product(const ConvCase& cc, Visit&& visit) {
    const bool flip = cc.mode == CUDNN_CONVOLUTION;
    for (int n = 0; n < cc.n; ++n)
        for (int k = 0; k < cc.k(); ++k)
            for (int oh = 0; oh < cc.p(); ++oh)
                for (int ow = 0; ow < cc.q(); ++ow)
                    for (int r = 0; r < cc.kh; ++r)
                        for (int s = 0; s < cc.kw; ++s) {
                            const int ih = oh * cc.stride_h - cc.pad_h + r * cc.dil_h;
                            const int iw = ow * cc.stride_w - cc.pad_w + s * cc.dil_w;
                            if (ih < 0 || ih >= cc.h || iw < 0 || iw >= cc.w) continue;
                            const int tr = flip ? cc.kh - 1 - r : r;
                            const int ts = flip ? cc.kw - 1 - s : s;
                            visit(n, k, k / cc.multiplier, oh, ow, ih, iw, (int64_t{k} * cc.kh + tr) * cc.kw + ts);
                        }
}

int64_t offset_of(const TensorLayout& l, int n, int c, int h, int w) {
    return int64_t{n} * l.strides[0] + int64_t{c} * l.strides[1] + int64_t{h} * l.strides[2] +
           int64_t{w} * l.strides[3];
}

}  // namespace

std::vector<double> reference_data_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& dx0,
                                        const HostTensor& filter, const TensorLayout& yl, const HostTensor& dy) {
    std::vector<double> acc(static_cast<size_t>(cc.n) * cc.c * cc.h * cc.w, 0.0);
    for_each_product(cc, [&](int n, int k, int c, int oh, int ow, int ih, int iw, int64_t tap) {
        acc[((static_cast<size_t>(n) * cc.c + c) * cc.h + ih) * cc.w + iw] +=
            dy.get(offset_of(yl, n, k, oh, ow)) * filter.get(tap);
    });
    const std::vector<int64_t> offsets = logical_offsets(xl);
    for (size_t i = 0; i < acc.size(); ++i) {
        acc[i] = cc.alpha * acc[i] + (cc.beta != 0.0f ? cc.beta * dx0.get(offsets[i]) : 0.0);
    }
    return acc;
}

std::vector<double> reference_filter_grad(const ConvCase& cc, const TensorLayout& xl, const HostTensor& x,
                                          const HostTensor& dw0, const TensorLayout& yl, const HostTensor& dy) {
    std::vector<double> acc(static_cast<size_t>(cc.k()) * cc.kh * cc.kw, 0.0);
    for_each_product(cc, [&](int n, int k, int c, int oh, int ow, int ih, int iw, int64_t tap) {
        acc[tap] += dy.get(offset_of(yl, n, k, oh, ow)) * x.get(offset_of(xl, n, c, ih, iw));
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
