// KernelBench problem 86's two convolutions in one kernel, NCHW fp32 with TF32 in use: a 3x3 depthwise conv
// (stride 1, padding 1) and then a 1x1 conv, y[n][o] = pw_bias[o] + sum over c of pw[o][c] * dw_out[n][c], where
// dw_out is what Model's depthwise layer stores (PyTorch's own fp32 kernel: its bias, then the taps row by row,
// one fused multiply-add each) and the 1x1 conv multiplies operands rounded to TF32 as cuDNN does under
// allow_tf32 (kernelbench/pointwise_conv.cu says why). The depthwise output never leaves the chip: the pair moves
// x and y once, 3 of the 5 bytes per output pixel and channel the two kernels in turn move.
//
// A block owns a strip of kStripPixels columns of one image and walks its rows top to bottom (or a segment of
// them, where the images' strips alone would leave SMs idle). Input rows of every channel, with kHalo columns on
// either side, arrive in a ring of kRing buffers (cp.async, kRing - 3 rows ahead of the three the step reads);
// per output row the block computes the depthwise row of all channels into shared memory, rounded to TF32, and
// multiplies it by the 1x1 filter, whose fragments each warp keeps in registers for the whole walk.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/async_copy.cuh"
#include "kernels/common/tf32_mma.cuh"

namespace dwshim {

struct SeparableParams {
    int64_t n = 0, c = 0, o = 0, height = 0, width = 0;  // images, input and output channels, rows, columns
    int64_t kernel = 0;                                  // the depthwise filter's size: kernel x kernel
    int64_t stride = 0, padding = 0, dilation = 0;       // of the depthwise conv
    const float* x = nullptr;                            // [n][c][height][width], contiguous
    const float* dw_weight = nullptr;                    // [c][kernel][kernel]
    const float* dw_bias = nullptr;                      // [c] or null
    const float* pw_weight = nullptr;                    // [o][c]
    const float* pw_bias = nullptr;                      // [o] or null
    float* y = nullptr;                                  // [n][o][height][width], contiguous
    bool tf32 = false;                                   // the reference rounds the 1x1 conv's operands to TF32
};

namespace {

constexpr int kSepThreads = 256;
constexpr int kSepBlocksPerSm = 2;
constexpr int kSepChannels = 64;  // every input channel in one pass: the 1x1 filter's fragments fit registers
constexpr int kSepOutputs = 128;  // output channels a block computes
constexpr int kStripPixels = 32;
constexpr int kHalo = 4;  // whole 16-byte vectors on either side, of which the 3x3 filter reads one column
constexpr int kRowFloats = kStripPixels + 2 * kHalo;
constexpr int kRing = 6;
// Row strides in floats. kXStride: a quarter warp's 16-byte reads (two channels, four column groups) fall in
// distinct banks. kDwStride: the B fragments' 4 rows x 8 columns do.
constexpr int kXStride = kRowFloats + 4;
constexpr int kDwStride = kStripPixels + 8;
constexpr int kRingFloats = kSepChannels * kXStride;
constexpr int kTaps = 9;
constexpr size_t kSepSharedBytes =
    (kRing * kRingFloats + kSepChannels * kDwStride + kSepChannels * kTaps) * sizeof(float);
// The 8 warps split a row's tile 4 (outputs) x 2 (pixels): 32 outputs x 16 pixels each, 2 x 2 mma tiles.
constexpr int kSepWarpOutputs = 32, kSepWarpPixels = kStripPixels / 2;
constexpr int kSepMTiles = kSepWarpOutputs / 16, kSepNTiles = kSepWarpPixels / 8, kSteps = kSepChannels / 8;
// The depthwise row: a thread computes 8 consecutive pixels of one channel.
constexpr int kDwPixels = 8;
static_assert(kSepThreads == kSepChannels * (kStripPixels / kDwPixels), "a thread per channel and 8 pixels");
static_assert(kSepThreads / 32 == (kSepOutputs / kSepWarpOutputs) * (kStripPixels / kSepWarpPixels),
              "8 warps cover the tile");

struct StripWork {
    int64_t strips, segments, segment_rows;
};

__global__ void __launch_bounds__(kSepThreads, kSepBlocksPerSm)
    separable_conv3_kernel(SeparableParams prm, StripWork work) {
    extern __shared__ __align__(16) float shared[];
    float* ring = shared;                                // kRing x [kSepChannels][kXStride]
    float* dw_row = ring + kRing * kRingFloats;          // [kSepChannels][kDwStride], rounded to TF32
    float* dw_taps = dw_row + kSepChannels * kDwStride;  // [kSepChannels][kTaps]
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int group = lane / 4, quad = lane % 4;
    const int64_t strip = blockIdx.x % work.strips;
    const int64_t segment = blockIdx.x / work.strips % work.segments;
    const int64_t n = blockIdx.x / work.strips / work.segments;
    // Rows and columns fit 32 bits (separable_conv_applies); the kernel runs short of registers.
    const int w0 = static_cast<int>(strip) * kStripPixels;
    const int64_t o0 = static_cast<int64_t>(blockIdx.y) * kSepOutputs;
    const int h_begin = static_cast<int>(segment * work.segment_rows);
    const int h_end = static_cast<int>(h_begin + work.segment_rows < prm.height ? h_begin + work.segment_rows
                                                                                : prm.height);
    const int64_t plane = prm.height * prm.width;

    for (int i = tid; i < kSepChannels * kTaps; i += kSepThreads) {
        dw_taps[i] = i / kTaps < prm.c ? prm.dw_weight[i] : 0.0f;
    }
    // The warp's 1x1 filter fragments, rounded: rows warp_o + m * 16 + group (+ 8), columns 8 s + quad (+ 4).
    const int warp_o = warp % (kSepOutputs / kSepWarpOutputs) * kSepWarpOutputs;
    const int warp_px = warp / (kSepOutputs / kSepWarpOutputs) * kSepWarpPixels;
    unsigned a[kSteps][kSepMTiles][4];
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
#pragma unroll
        for (int m = 0; m < kSepMTiles; ++m) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int64_t o = o0 + warp_o + m * 16 + group + (r % 2) * 8;
                const int64_t c = s * 8 + quad + (r / 2) * 4;
                a[s][m][r] = __float_as_uint(o < prm.o && c < prm.c ? round_to_tf32(prm.pw_weight[o * prm.c + c])
                                                                    : 0.0f);
            }
        }
    }

    // Input row h of every channel, columns w0 - kHalo to w0 + kStripPixels + kHalo, into ring buffer h mod kRing:
    // zeros outside the image (the conv's padding) and past the channels; nothing past the rows the walk reads.
    const float* x_image = prm.x + n * prm.c * plane;
    const auto copy_row = [&](int h) {
        if (h > h_end) return;
        float* target = ring + ((h % kRing + kRing) % kRing) * kRingFloats;
        const bool row_inside = h >= 0 && h < prm.height;
        for (int i = tid; i < kSepChannels * (kRowFloats / 4); i += kSepThreads) {
            const int c = i / (kRowFloats / 4), column = i % (kRowFloats / 4) * 4;
            const int w = w0 - kHalo + column;
            const bool inside = row_inside && c < prm.c && w >= 0 && w < prm.width;
            const float* source = inside ? x_image + c * plane + static_cast<int64_t>(h) * prm.width + w : prm.x;
            copy_16_async<L1Policy::kBypass>(target + c * kXStride + column, source, inside);
        }
    };
    for (int r = 0; r < kRing - 1; ++r) {
        copy_row(h_begin - 1 + r);
        commit_copies();
    }

    const int dw_c = tid / (kStripPixels / kDwPixels), dw_px = tid % (kStripPixels / kDwPixels) * kDwPixels;
    const float dw_bias = prm.dw_bias != nullptr && dw_c < prm.c ? prm.dw_bias[dw_c] : 0.0f;
    for (int h = h_begin; h < h_end; ++h) {
        wait_copies<kRing - 4>();  // rows up to h + 1 (the later ones stay in flight)
        __syncthreads();           // every thread's copies, and every warp done with step h - 1
        copy_row(h + kRing - 2);   // into row h - 2's buffer
        commit_copies();

        // Depthwise row h: columns dw_px - 1 to dw_px + 8 of rows h - 1, h, h + 1, as PyTorch sums them.
        float sum[kDwPixels];
#pragma unroll
        for (int i = 0; i < kDwPixels; ++i) sum[i] = dw_bias;
#pragma unroll
        for (int r = 0; r < 3; ++r) {
            const int row = h - 1 + r;
            const float* source = ring + ((row % kRing + kRing) % kRing) * kRingFloats + dw_c * kXStride + dw_px;
            const float4 middle = *reinterpret_cast<const float4*>(source + kHalo);
            const float4 right = *reinterpret_cast<const float4*>(source + kHalo + 4);
            const float v[kDwPixels + 2] = {source[kHalo - 1], middle.x, middle.y, middle.z, middle.w,
                                            right.x,           right.y,  right.z,  right.w,  source[kHalo + 8]};
#pragma unroll
            for (int j = 0; j < 3; ++j) {
                const float tap = dw_taps[dw_c * kTaps + r * 3 + j];
#pragma unroll
                for (int i = 0; i < kDwPixels; ++i) sum[i] = __fmaf_rn(v[i + j], tap, sum[i]);
            }
        }
        float* out = dw_row + dw_c * kDwStride + dw_px;
        *reinterpret_cast<float4*>(out) = make_float4(round_to_tf32(sum[0]), round_to_tf32(sum[1]),
                                                      round_to_tf32(sum[2]), round_to_tf32(sum[3]));
        *reinterpret_cast<float4*>(out + 4) = make_float4(round_to_tf32(sum[4]), round_to_tf32(sum[5]),
                                                          round_to_tf32(sum[6]), round_to_tf32(sum[7]));
        __syncthreads();  // the depthwise row is complete

        float acc[kSepMTiles][kSepNTiles][4] = {};
#pragma unroll
        for (int s = 0; s < kSteps; ++s) {
            unsigned b[kSepNTiles][2];
#pragma unroll
            for (int t = 0; t < kSepNTiles; ++t) {
                const float* v = dw_row + (s * 8 + quad) * kDwStride + warp_px + t * 8 + group;
                b[t][0] = __float_as_uint(v[0]);
                b[t][1] = __float_as_uint(v[4 * kDwStride]);
            }
#pragma unroll
            for (int m = 0; m < kSepMTiles; ++m) {
#pragma unroll
                for (int t = 0; t < kSepNTiles; ++t) mma_tf32(acc[m][t], a[s][m], b[t]);
            }
        }
        // The accumulators' rows group and group + 8, columns 2 quad and 2 quad + 1 of each 16 x 8 tile; rows of a
        // multiple of 4 columns (separable_conv_applies) hold a tile's pairs whole.
#pragma unroll
        for (int m = 0; m < kSepMTiles; ++m) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int64_t o = o0 + warp_o + m * 16 + group + half * 8;
                if (o >= prm.o) continue;
                const float bias = prm.pw_bias != nullptr ? prm.pw_bias[o] : 0.0f;
                float* y = prm.y + (n * prm.o + o) * plane + static_cast<int64_t>(h) * prm.width + w0;
#pragma unroll
                for (int t = 0; t < kSepNTiles; ++t) {
                    const int px = warp_px + t * 8 + 2 * quad;
                    if (w0 + px < prm.width) {
                        *reinterpret_cast<float2*>(y + px) =
                            make_float2(acc[m][t][2 * half] + bias, acc[m][t][2 * half + 1] + bias);
                    }
                }
            }
        }
    }
    wait_copies<0>();  // no copy outlives the block
}

}  // namespace

// What the fused kernel computes: TF32 in use, the 3x3 depthwise conv at stride 1 with "same" padding, up to
// kSepChannels channels, rows of a multiple of 4 columns and 16-byte aligned tensors (whole vectors per row).
bool separable_conv_applies(const SeparableParams& p) {
    const bool aligned = reinterpret_cast<uintptr_t>(p.x) % 16 == 0 && reinterpret_cast<uintptr_t>(p.y) % 16 == 0;
    return p.tf32 && p.kernel == 3 && p.stride == 1 && p.padding == 1 && p.dilation == 1 && p.c > 0 &&
           p.c <= kSepChannels && p.o > 0 && p.n > 0 && p.height > 0 && p.height < (int64_t{1} << 30) &&
           p.width > 0 && p.width < (int64_t{1} << 30) && p.width % 4 == 0 && aligned;
}

// Requires separable_conv_applies(p). One block per strip and row segment, rows split into segments only as far
// as the SMs need blocks to hold.
cudaError_t separable_conv(const SeparableParams& p, cudaStream_t stream) {
    if (!separable_conv_applies(p)) return cudaErrorInvalidValue;
    int device = 0, sms = 0, blocks_per_sm = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    if (status == cudaSuccess) {
        status = cudaFuncSetAttribute(separable_conv3_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(kSepSharedBytes));
    }
    if (status == cudaSuccess) {
        status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, separable_conv3_kernel, kSepThreads,
                                                               kSepSharedBytes);
    }
    if (status != cudaSuccess) return status;
    const int64_t output_blocks = (p.o + kSepOutputs - 1) / kSepOutputs;
    StripWork work;
    work.strips = (p.width + kStripPixels - 1) / kStripPixels;
    const int64_t slots = static_cast<int64_t>(sms) * blocks_per_sm / output_blocks;
    const int64_t wanted = slots / (p.n * work.strips);
    work.segments = wanted > 1 ? (wanted < p.height ? wanted : p.height) : 1;
    work.segment_rows = (p.height + work.segments - 1) / work.segments;
    work.segments = (p.height + work.segment_rows - 1) / work.segment_rows;
    const int64_t blocks = p.n * work.strips * work.segments;
    if (blocks > 0x7fffffff || output_blocks > 65535) return cudaErrorInvalidConfiguration;
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(output_blocks));
    separable_conv3_kernel<<<grid, kSepThreads, kSepSharedBytes, stream>>>(p, work);
    return cudaGetLastError();
}

}  // namespace dwshim
