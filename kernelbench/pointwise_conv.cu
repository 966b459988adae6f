// The 1x1 (pointwise) convolution of KernelBench problem 86, NCHW fp32: y[n][o][p] = bias[o] + sum over c of
// w[o][c] * x[n][c][p], p running over the H x W pixels of an image.
//
// It computes what the problem's reference computes. PyTorch lets cuDNN use TF32 for fp32 convolutions by default
// (torch.backends.cudnn.allow_tf32), so the reference's pointwise conv multiplies operands rounded to TF32 (10
// mantissa bits) and adds in fp32; an exact fp32 answer differs from it by up to 4.2e-4, beyond the harness's
// 1e-4 (../shared/FACTS.md). So x and w are rounded to TF32 here too, and their products, exact in fp32 (11 x 11
// significant bits), are added in fp32.
//
// A block owns kOutputs output channels (blockIdx.y) and walks tiles of kPixels pixels of one image (grid-stride
// over images x tiles). Per tile it stages the input's channels kChannels at a time, rounded, as xs[c][pixel],
// next to the filter slice ws[c][o] (staged once when every channel fits one chunk), and each thread adds the
// products of 8 outputs x 4 pixels (pixels 16 apart, so that 16 lanes store 16 consecutive values).
#include <cuda_runtime.h>

#include <cstdint>

namespace dwshim {

struct PointwiseParams {
    int64_t n = 0, c = 0, o = 0, pixels = 0;  // images, input and output channels, H x W
    const float* x = nullptr;                 // [n][c][pixels], contiguous
    const float* w = nullptr;                 // [o][c], contiguous
    const float* bias = nullptr;              // [o] or null
    float* y = nullptr;                       // [n][o][pixels], contiguous
};

namespace {

constexpr int kThreads = 256;
constexpr int kPixels = 64;
constexpr int kChannels = 64;
constexpr int kOutputs = 128;
constexpr int kPixelLanes = 16;                          // threads across a tile's pixels
constexpr int kPixelsPerThread = kPixels / kPixelLanes;  // 4, kPixelLanes apart
constexpr int kOutputsPerThread = kOutputs / (kThreads / kPixelLanes);  // 8, consecutive
static_assert(kOutputsPerThread == 8, "two 16-byte filter reads per channel");

// Round to the nearest TF32 value, ties to even: of the four roundings bench/tf32_rounding.py compares with the
// reference's output on the H200 (cuDNN 9.19), this one alone matches it at 1e-4 (largest difference 3.4e-7; ties
// away from zero 1.2e-4, exact fp32 4.2e-4). Infinities and NaNs pass unchanged.
__device__ __forceinline__ float round_to_tf32(float v) {
    unsigned bits = __float_as_uint(v);
    if ((bits & 0x7f800000u) != 0x7f800000u) bits += 0xfffu + ((bits >> 13) & 1u);
    return __uint_as_float(bits & 0xffffe000u);
}

// Three blocks an SM: 80 registers, no spills (128 without the bound: two blocks).
__global__ void __launch_bounds__(kThreads, 3) pointwise_conv_tf32_kernel(PointwiseParams prm) {
    __shared__ __align__(16) float xs[kChannels][kPixels];
    __shared__ __align__(16) float ws[kChannels][kOutputs];
    const int tid = threadIdx.x;
    const int pixel_lane = tid % kPixelLanes, output_lane = tid / kPixelLanes;
    const int64_t o0 = static_cast<int64_t>(blockIdx.y) * kOutputs;
    const int64_t tiles_per_image = (prm.pixels + kPixels - 1) / kPixels;
    const int64_t chunks = (prm.c + kChannels - 1) / kChannels;

    // Filter slice of channels [c0, c0 + kChannels): outputs fastest, so the shared-memory stores are
    // conflict-free; the strided global reads hit L1 (the whole filter is w's o x c floats).
    const auto stage_filter = [&](int64_t c0) {
        for (int i = tid; i < kChannels * kOutputs; i += kThreads) {
            const int c = i / kOutputs, o = i % kOutputs;
            const bool inside = c0 + c < prm.c && o0 + o < prm.o;
            ws[c][o] = inside ? round_to_tf32(prm.w[(o0 + o) * prm.c + c0 + c]) : 0.0f;
        }
    };
    if (chunks == 1) stage_filter(0);

    for (int64_t tile = blockIdx.x; tile < prm.n * tiles_per_image; tile += gridDim.x) {
        const int64_t n = tile / tiles_per_image;
        const int64_t p0 = tile % tiles_per_image * kPixels;
        float acc[kOutputsPerThread][kPixelsPerThread] = {};
        for (int64_t chunk = 0; chunk < chunks; ++chunk) {
            const int64_t c0 = chunk * kChannels;
            if (chunks > 1) stage_filter(c0);
            const float* x = prm.x + (n * prm.c + c0) * prm.pixels + p0;
            for (int i = tid; i < kChannels * kPixels; i += kThreads) {
                const int c = i / kPixels, px = i % kPixels;
                const bool inside = c0 + c < prm.c && p0 + px < prm.pixels;
                xs[c][px] = inside ? round_to_tf32(x[c * prm.pixels + px]) : 0.0f;
            }
            __syncthreads();  // the chunk's inputs (and filter) are staged
#pragma unroll 4
            for (int c = 0; c < kChannels; ++c) {
                const float4 wa = *reinterpret_cast<const float4*>(&ws[c][output_lane * kOutputsPerThread]);
                const float4 wb = *reinterpret_cast<const float4*>(&ws[c][output_lane * kOutputsPerThread + 4]);
                const float w[kOutputsPerThread] = {wa.x, wa.y, wa.z, wa.w, wb.x, wb.y, wb.z, wb.w};
#pragma unroll
                for (int j = 0; j < kPixelsPerThread; ++j) {
                    const float v = xs[c][pixel_lane + j * kPixelLanes];
#pragma unroll
                    for (int k = 0; k < kOutputsPerThread; ++k) acc[k][j] += w[k] * v;
                }
            }
            __syncthreads();  // every thread is done with the chunk before the next one is staged
        }
#pragma unroll
        for (int k = 0; k < kOutputsPerThread; ++k) {
            const int64_t o = o0 + output_lane * kOutputsPerThread + k;
            if (o >= prm.o) break;
            const float b = prm.bias != nullptr ? prm.bias[o] : 0.0f;
            float* y = prm.y + (n * prm.o + o) * prm.pixels + p0;
#pragma unroll
            for (int j = 0; j < kPixelsPerThread; ++j) {
                const int px = pixel_lane + j * kPixelLanes;
                if (p0 + px < prm.pixels) y[px] = acc[k][j] + b;
            }
        }
    }
}

}  // namespace

// Enough blocks for every SM to hold as many as fit (48 KiB of shared memory each), each walking tiles.
cudaError_t pointwise_conv_tf32(const PointwiseParams& p, cudaStream_t stream) {
    if (p.n <= 0 || p.c <= 0 || p.o <= 0 || p.pixels <= 0) return cudaErrorInvalidValue;
    int device = 0, sms = 0, blocks_per_sm = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    if (status == cudaSuccess) {
        status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, pointwise_conv_tf32_kernel, kThreads, 0);
    }
    if (status != cudaSuccess) return status;
    const int64_t output_blocks = (p.o + kOutputs - 1) / kOutputs;
    const int64_t tiles = p.n * ((p.pixels + kPixels - 1) / kPixels);
    const int64_t wanted = static_cast<int64_t>(sms) * blocks_per_sm / output_blocks;
    const int64_t tile_blocks = tiles < wanted ? tiles : (wanted > 0 ? wanted : 1);
    if (output_blocks > 65535) return cudaErrorInvalidConfiguration;
    const dim3 grid(static_cast<unsigned>(tile_blocks), static_cast<unsigned>(output_blocks));
    pointwise_conv_tf32_kernel<<<grid, kThreads, 0, stream>>>(p);
    return cudaGetLastError();
}

}  // namespace dwshim
