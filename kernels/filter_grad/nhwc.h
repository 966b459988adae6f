// The filter gradient's partial sums for channels-innermost data (NHWC): 3x3, 5x5 and 7x7 filters at equal
// strides 1 or 2 without dilation (filter_grad_strip_applies). 2-byte 5x5 and 7x7 at stride 1 with short output
// rows and channels in 16-byte vectors run on the image-tile kernel (filter_grad/nhwc_images.cu); other
// aligned channel vectors with one filter per channel on the ring kernel (filter_grad/nhwc_ring.cu), the
// rest (channel multipliers, 2-byte tensors whose channels do not pair into aligned 32-bit words) on the tile kernel
// (filter_grad/nhwc.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

// Whether the layout suits the ring kernel (sizes and strides), and whether these tensors' addresses do too.
bool filter_grad_nhwc_ring_applies(const DepthwiseParams& params);
bool filter_grad_nhwc_ring_aligned(const DepthwiseParams& params);
int64_t filter_grad_nhwc_ring_max_slices(const DepthwiseParams& params);
cudaError_t filter_grad_nhwc_ring(const DepthwiseParams& params, float* partial, int64_t* slices,
                                  cudaStream_t stream);

// Whether the sizes and strides suit the image-tile kernel, and whether these tensors' addresses do too.
bool filter_grad_nhwc_images_applies(const DepthwiseParams& params);
bool filter_grad_nhwc_images_aligned(const DepthwiseParams& params);
int64_t filter_grad_nhwc_images_slices(const DepthwiseParams& params);
cudaError_t filter_grad_nhwc_images(const DepthwiseParams& params, float* partial, int64_t* slices,
                                    cudaStream_t stream);

bool filter_grad_nhwc_tiles_apply(const DepthwiseParams& params);
int64_t filter_grad_nhwc_tiles_slices(const DepthwiseParams& params);
// Writes partial[slice][k][tap] for *slices slices; the caller adds them in slice order.
cudaError_t filter_grad_nhwc_tiles(const DepthwiseParams& params, float* partial, int64_t* slices,
                                   cudaStream_t stream);

}  // namespace dwshim
