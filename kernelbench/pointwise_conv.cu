// The 1x1 (pointwise) convolution of KernelBench problem 86, NCHW fp32: y[n][o][p] = bias[o] + sum over c of
// w[o][c] * x[n][c][p], p running over the H x W pixels of an image.
//
// It computes what the problem's reference computes. PyTorch lets cuDNN use TF32 for fp32 convolutions by default
// (torch.backends.cudnn.allow_tf32), and on GPUs with TF32 tensor cores (compute capability 8.0 on) the
// reference's pointwise conv multiplies operands rounded to TF32 (10 mantissa bits) and adds in fp32; an exact
// fp32 answer differs from it by up to 4.2e-4, beyond the harness's 1e-4 (../shared/FACTS.md). So where the
// caller says TF32 is in use (PointwiseParams::tf32), x and w are rounded to TF32 as cuDNN rounds them and
// multiplied on the tensor cores (mma.sync m16n8k8 TF32, fp32 accumulation); elsewhere the products and sums are
// plain fp32, as cuDNN's are then.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/common/async_copy.cuh"
#include "kernels/common/tf32_mma.cuh"

namespace dwshim {

struct PointwiseParams {
    int64_t n = 0, c = 0, o = 0, pixels = 0;  // images, input and output channels, H x W
    const float* x = nullptr;                 // [n][c][pixels], contiguous
    const float* w = nullptr;                 // [o][c], contiguous
    const float* bias = nullptr;              // [o] or null
    float* y = nullptr;                       // [n][o][pixels], contiguous
    bool tf32 = false;                        // the reference rounds operands to TF32 (tensor cores)
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

// Plain fp32 (no TF32): a block owns kOutputs output channels (blockIdx.y) and walks tiles of kPixels pixels of
// one image (grid-stride over images x tiles). Per tile it stages the input's channels kChannels at a time as
// xs[c][pixel], next to the filter slice ws[c][o] (staged once when every channel fits one chunk), and each thread
// adds the products of 8 outputs x 4 pixels (pixels 16 apart, so that 16 lanes store 16 consecutive values).
// Three blocks an SM: 80 registers, no spills (128 without the bound: two blocks).
__global__ void __launch_bounds__(kThreads, 3) pointwise_conv_fp32_kernel(PointwiseParams prm) {
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
            ws[c][o] = inside ? prm.w[(o0 + o) * prm.c + c0 + c] : 0.0f;
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
                xs[c][px] = inside ? x[c * prm.pixels + px] : 0.0f;
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

// TF32 on the tensor cores: a block owns kOutputs output channels (blockIdx.y) and walks tiles of kMmaPixels
// pixels of one image, each in steps of kChannels input channels. A step's inputs are copied to shared memory
// (cp.async, unrounded, xs[c][pixel]) kInputStages - 1 steps ahead of the one the block computes, so that its loads
// stay in flight while it multiplies and stores (staging and then computing, as before, left them idle: 2.58 ms for
// KB86, 38% of the pair's floor). Operands are rounded to TF32 as the fragments are read. The rounded filter slice
// ws[o][c] is staged once when every channel fits one step. The 8 warps split a tile 4 (outputs) x 2 (pixels): a
// warp owns 32 outputs x kMmaPixels / 2 pixels, 2 x kNTiles mma tiles of 16 x 8, and adds 8 channels per mma. Row
// strides padded so that the fragment reads are conflict-free: a fragment's 8 rows x 4 columns of ws fall in 32
// banks with a row stride of 4 mod 32 words, its 4 rows x 8 columns of xs with 8.
constexpr int kMmaPixels = 64;
constexpr int kInputStages = 2;
constexpr int kMmaBlocksPerSm = 2;
constexpr int kWsStride = kChannels + 4;
constexpr int kXsStride = kMmaPixels + 8;
constexpr int kXsFloats = kChannels * kXsStride;
constexpr int kWarpOutputs = 32, kWarpPixels = kMmaPixels / 2;
constexpr int kMTiles = kWarpOutputs / 16, kNTiles = kWarpPixels / 8;
constexpr size_t kMmaSharedBytes = (kOutputs * kWsStride + kInputStages * kXsFloats) * sizeof(float);
static_assert(kThreads / 32 == (kOutputs / kWarpOutputs) * (kMmaPixels / kWarpPixels), "8 warps cover the tile");

__global__ void __launch_bounds__(kThreads, kMmaBlocksPerSm) pointwise_conv_tf32_kernel(PointwiseParams prm) {
    extern __shared__ __align__(16) float shared[];
    float* ws = shared;  // [kOutputs][kWsStride], then kInputStages input buffers [kChannels][kXsStride]
    const auto buffer = [&](int64_t step) { return shared + kOutputs * kWsStride + step % kInputStages * kXsFloats; };
    const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
    const int group = lane / 4, quad = lane % 4;  // the fragment's row and column groups
    const int warp_o = warp % (kOutputs / kWarpOutputs) * kWarpOutputs;
    const int warp_px = warp / (kOutputs / kWarpOutputs) * kWarpPixels;
    const int64_t o0 = static_cast<int64_t>(blockIdx.y) * kOutputs;
    const int64_t tiles_per_image = (prm.pixels + kMmaPixels - 1) / kMmaPixels;
    const int64_t tiles = prm.n * tiles_per_image;
    const int64_t chunks = (prm.c + kChannels - 1) / kChannels;
    // Whole 16-byte vectors of x and 8-byte pairs of y where every image row of pixels starts 16-byte aligned.
    const bool vectors = prm.pixels % 4 == 0 && reinterpret_cast<uintptr_t>(prm.x) % 16 == 0 &&
                         reinterpret_cast<uintptr_t>(prm.y) % 8 == 0;

    // Consecutive threads read consecutive channels of one output: coalesced, and conflict-free stores.
    const auto stage_filter = [&](int64_t c0) {
        for (int i = tid; i < kOutputs * kChannels; i += kThreads) {
            const int o = i / kChannels, c = i % kChannels;
            const bool inside = c0 + c < prm.c && o0 + o < prm.o;
            ws[o * kWsStride + c] = inside ? round_to_tf32(prm.w[(o0 + o) * prm.c + c0 + c]) : 0.0f;
        }
    };
    // Step s of this block: tile blockIdx.x + (s / chunks) * gridDim.x, channels from (s % chunks) * kChannels.
    // Copies its inputs (zeros outside x) into buffer(s); past the last tile it copies nothing.
    const auto copy_step = [&](int64_t s) {
        const int64_t tile = blockIdx.x + s / chunks * gridDim.x;
        if (tile >= tiles) return;
        const int64_t n = tile / tiles_per_image, p0 = tile % tiles_per_image * kMmaPixels;
        const int64_t c0 = s % chunks * kChannels;
        const float* x = prm.x + (n * prm.c + c0) * prm.pixels + p0;
        float* xs = buffer(s);
        if (vectors) {
            // kMmaPixels / 4 threads copy one channel's pixels, the block kRowsAtOnce channels at a time.
            constexpr int kRowsAtOnce = kThreads / (kMmaPixels / 4);
            const int c = tid / (kMmaPixels / 4), px = tid % (kMmaPixels / 4) * 4;
            const bool pixel_inside = p0 + px < prm.pixels;
#pragma unroll
            for (int j = 0; j < kChannels / kRowsAtOnce; ++j) {
                const bool inside = pixel_inside && c0 + c + j * kRowsAtOnce < prm.c;
                const float* source = x + (c + j * kRowsAtOnce) * prm.pixels + px;
                copy_16_async<L1Policy::kBypass>(&xs[(c + j * kRowsAtOnce) * kXsStride + px],
                                                 inside ? source : prm.x, inside);
            }
        } else {
            for (int i = tid; i < kChannels * kMmaPixels; i += kThreads) {
                const int c = i / kMmaPixels, px = i % kMmaPixels;
                const bool inside = c0 + c < prm.c && p0 + px < prm.pixels;
                copy_async<4>(&xs[c * kXsStride + px], inside ? x + c * prm.pixels + px : prm.x, inside);
            }
        }
    };
    if (chunks == 1) stage_filter(0);

    float acc[kMTiles][kNTiles][4] = {};
    for (int s = 0; s < kInputStages - 1; ++s) {
        copy_step(s);
        commit_copies();
    }
    for (int64_t s = 0; blockIdx.x + s / chunks * gridDim.x < tiles; ++s) {
        copy_step(s + kInputStages - 1);  // into the buffer of step s - 1, which every warp is done with
        commit_copies();
        const int64_t chunk = s % chunks;
        if (chunks > 1) stage_filter(chunk * kChannels);
        wait_copies<kInputStages - 1>();  // this step's copies (the next steps' stay in flight)
        __syncthreads();   // and every other thread's, and the filter slice
        if (chunk == 0) {
#pragma unroll
            for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
                for (int t = 0; t < kNTiles; ++t) acc[m][t][0] = acc[m][t][1] = acc[m][t][2] = acc[m][t][3] = 0.0f;
            }
        }
        const float* xs = buffer(s);
#pragma unroll 1
        for (int k0 = 0; k0 < kChannels; k0 += 8) {
            unsigned a[kMTiles][4], b[kNTiles][2];
#pragma unroll
            for (int m = 0; m < kMTiles; ++m) {
                const float* w = ws + (warp_o + m * 16 + group) * kWsStride + k0 + quad;
                a[m][0] = __float_as_uint(w[0]);
                a[m][1] = __float_as_uint(w[8 * kWsStride]);
                a[m][2] = __float_as_uint(w[4]);
                a[m][3] = __float_as_uint(w[8 * kWsStride + 4]);
            }
#pragma unroll
            for (int t = 0; t < kNTiles; ++t) {
                const float* v = xs + (k0 + quad) * kXsStride + warp_px + t * 8 + group;
                b[t][0] = __float_as_uint(round_to_tf32(v[0]));
                b[t][1] = __float_as_uint(round_to_tf32(v[4 * kXsStride]));
            }
#pragma unroll
            for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
                for (int t = 0; t < kNTiles; ++t) mma_tf32(acc[m][t], a[m], b[t]);
            }
        }
        __syncthreads();  // every warp is done with this buffer (and the filter slice) before they are refilled
        if (chunk != chunks - 1) continue;
        const int64_t tile = blockIdx.x + s / chunks * gridDim.x;
        const int64_t n = tile / tiles_per_image, p0 = tile % tiles_per_image * kMmaPixels;
        // The accumulator's rows group and group + 8, columns 2 quad and 2 quad + 1 of each 16 x 8 tile.
#pragma unroll
        for (int m = 0; m < kMTiles; ++m) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                const int64_t o = o0 + warp_o + m * 16 + group + half * 8;
                if (o >= prm.o) continue;
                const float bias = prm.bias != nullptr ? prm.bias[o] : 0.0f;
                float* y = prm.y + (n * prm.o + o) * prm.pixels + p0;
#pragma unroll
                for (int t = 0; t < kNTiles; ++t) {
                    const int px = warp_px + t * 8 + 2 * quad;
                    const float first = acc[m][t][2 * half] + bias, second = acc[m][t][2 * half + 1] + bias;
                    if (vectors && p0 + px + 1 < prm.pixels) {
                        *reinterpret_cast<float2*>(y + px) = make_float2(first, second);
                    } else {
                        if (p0 + px < prm.pixels) y[px] = first;
                        if (p0 + px + 1 < prm.pixels) y[px + 1] = second;
                    }
                }
            }
        }
    }
}

// Enough blocks for every SM to hold as many as fit, each walking tiles.
template <typename Kernel>
cudaError_t launch_tiles(Kernel kernel, const PointwiseParams& p, int64_t tile_pixels, size_t shared_bytes,
                         cudaStream_t stream) {
    int device = 0, sms = 0, blocks_per_sm = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    if (status == cudaSuccess && shared_bytes > 0) {
        status = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(shared_bytes));
    }
    if (status == cudaSuccess) {
        status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, kernel, kThreads, shared_bytes);
    }
    if (status != cudaSuccess) return status;
    const int64_t output_blocks = (p.o + kOutputs - 1) / kOutputs;
    const int64_t tiles = p.n * ((p.pixels + tile_pixels - 1) / tile_pixels);
    const int64_t wanted = static_cast<int64_t>(sms) * blocks_per_sm / output_blocks;
    const int64_t tile_blocks = tiles < wanted ? tiles : (wanted > 0 ? wanted : 1);
    if (output_blocks > 65535) return cudaErrorInvalidConfiguration;
    const dim3 grid(static_cast<unsigned>(tile_blocks), static_cast<unsigned>(output_blocks));
    kernel<<<grid, kThreads, shared_bytes, stream>>>(p);
    return cudaGetLastError();
}

}  // namespace

// TF32 tensor cores where p.tf32 says the reference uses them (the caller checks the GPU has them), else fp32.
cudaError_t pointwise_conv(const PointwiseParams& p, cudaStream_t stream) {
    if (p.n <= 0 || p.c <= 0 || p.o <= 0 || p.pixels <= 0) return cudaErrorInvalidValue;
    return p.tf32 ? launch_tiles(pointwise_conv_tf32_kernel, p, kMmaPixels, kMmaSharedBytes, stream)
                  : launch_tiles(pointwise_conv_fp32_kernel, p, kPixels, 0, stream);
}

}  // namespace dwshim
