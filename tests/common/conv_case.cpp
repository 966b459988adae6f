#include "conv_case.h"

#include <fstream>
#include <sstream>

namespace dwtest {

TensorLayout make_layout(Layout layout, int n, int c, int h, int w) {
    TensorLayout t{{n, c, h, w}, {0, 0, 0, 0}, 0};
    switch (layout) {
        case Layout::kNCHW:
            t.strides[3] = 1;
            t.strides[2] = w;
            t.strides[1] = h * w;
            t.strides[0] = c * h * w;
            break;
        case Layout::kPaddedNCHW:
            t.strides[3] = 1;
            t.strides[2] = w + 3;
            t.strides[1] = h * (w + 3) + 1;
            t.strides[0] = c * t.strides[1] + 5;
            break;
        case Layout::kNHWC:
            t.strides[1] = 1;
            t.strides[3] = c;
            t.strides[2] = w * c;
            t.strides[0] = h * w * c;
            break;
    }
    t.span = 1;
    for (int d = 0; d < 4; ++d) t.span += int64_t{t.dims[d] - 1} * t.strides[d];
    return t;
}

TensorLayout filter_layout(const ConvCase& cc) {
    const int taps = cc.kh * cc.kw;
    return TensorLayout{{cc.k(), 1, cc.kh, cc.kw}, {taps, taps, cc.kw, 1}, int64_t{cc.k()} * taps};
}

const char* dtype_name(cudnnDataType_t dtype) {
    switch (dtype) {
        case CUDNN_DATA_FLOAT:
            return "f32";
        case CUDNN_DATA_HALF:
            return "f16";
        case CUDNN_DATA_BFLOAT16:
            return "bf16";
        case CUDNN_DATA_DOUBLE:
            return "f64";
        default:
            return "other";
    }
}

size_t dtype_size(cudnnDataType_t dtype) {
    switch (dtype) {
        case CUDNN_DATA_HALF:
        case CUDNN_DATA_BFLOAT16:
            return 2;
        case CUDNN_DATA_DOUBLE:
            return 8;
        default:
            return 4;
    }
}

std::string ConvCase::describe() const {
    const char* layouts[] = {"nchw", "nhwc", "padded-nchw"};
    const char* directions[] = {"fwd", "dgrad", "wgrad"};
    char text[400];
    std::snprintf(text, sizeof(text),
                  "%s %s %s n=%d c=%d h=%d w=%d mult=%d k=%dx%d stride=%dx%d pad=%dx%d dil=%dx%d %s alpha=%g beta=%g "
                  "bias=%d act=%d misalign=%d post_pad_extra=%d",
                  directions[static_cast<int>(direction)], dtype_name(dtype), layouts[static_cast<int>(layout)], n, c,
                  h, w, multiplier, kh, kw, stride_h,
                  stride_w, pad_h, pad_w, dil_h, dil_w, mode == CUDNN_CONVOLUTION ? "conv" : "xcorr", alpha, beta,
                  bias ? 1 : 0, activation, misalign, post_pad_extra);
    return text;
}

CudnnDescriptors::CudnnDescriptors(const ConvCase& cc) {
    x_layout = make_layout(cc.layout, cc.n, cc.c, cc.h, cc.w);
    y_layout = make_layout(cc.layout, cc.n, cc.k(), cc.p(), cc.q());
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&x));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&y));
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&w));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(x, cc.dtype, 4, x_layout.dims, x_layout.strides));
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(y, cc.dtype, 4, y_layout.dims, y_layout.strides));
    const cudnnTensorFormat_t filter_format = cc.layout == Layout::kNHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(w, cc.dtype, filter_format, cc.k(), 1, cc.kh, cc.kw));
    const cudnnDataType_t compute = cc.dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(conv, cc.pad_h, cc.pad_w, cc.stride_h, cc.stride_w, cc.dil_h,
                                                cc.dil_w, cc.mode, compute));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(conv, cc.c));
    // fp32 stays fp32 (no TF32) so that cuDNN's answer is comparable at fp32 tolerance.
    CHECK_CUDNN(cudnnSetConvolutionMathType(conv, cc.dtype == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH
                                                                               : CUDNN_TENSOR_OP_MATH));
}

CudnnDescriptors::~CudnnDescriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
}

std::vector<NamedCase> read_cases_file(const std::string& path) {
    std::vector<NamedCase> rows;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::stringstream fields(line);
        std::string name, value;
        std::getline(fields, name, ',');
        ConvCase cc;
        int* const columns[] = {&cc.n,        &cc.c,     &cc.h,     &cc.w,     &cc.kh,    &cc.kw,   &cc.stride_h,
                                &cc.stride_w, &cc.pad_h, &cc.pad_w, &cc.dil_h, &cc.dil_w, &cc.multiplier};
        for (int* column : columns) {
            std::getline(fields, value, ',');
            *column = std::atoi(value.c_str());
        }
        rows.push_back({name, cc});
    }
    return rows;
}

}  // namespace dwtest
