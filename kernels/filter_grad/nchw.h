// The filter gradient's partial sums for row-contiguous data (NCHW): 3x3, 5x5 and 7x7 filters and the forward rows
// kernel's asymmetric ones (k x 1, 1 x k, 3x7, 7x3) at stride 1 without dilation, on the plane strip kernel's
// slicing (filter_grad/nchw.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

// How the plane strip kernel cut the rows: bands of band_rows output rows, bands_per_slice of them a slice.
struct FilterGradSlicing {
    int64_t band_rows = 1;
    int64_t bands_per_image = 0;
    int64_t bands_per_slice = 1;
    int64_t slices = 1;
};

bool filter_grad_nchw_rows_applies(const DepthwiseParams& params);
// Rows of 64 columns or fewer, several side by side in a warp, each band on its own: every band pays the filter's
// KH - 1 halo rows (wider rows walk runs of consecutive bands, paying it once a run). True where that halo is worth
// longer bands.
bool filter_grad_nchw_rows_long_bands(const DepthwiseParams& params);
// Bands a block walks side by side: the slicing gives it at least that many where the bands allow.
int64_t filter_grad_nchw_rows_block_bands(const DepthwiseParams& params);
// Writes partial[slice][k][tap] for slicing.slices slices (grid k x slices); the caller adds them in slice order.
cudaError_t filter_grad_nchw_rows(const DepthwiseParams& params, const FilterGradSlicing& slicing, float* partial,
                                  cudaStream_t stream);

}  // namespace dwshim
