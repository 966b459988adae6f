// What the NCHW paths share: the grid that cuts every (n, k) output plane into column blocks x row bands, and
// the filter of one output channel held in registers.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/common/dtype_traits.cuh"

namespace dwshim {

struct PlaneGrid {
    int64_t col_blocks = 0;  // blocks across a plane's width
    int64_t bands = 0;       // blocks down a plane's height
    int64_t blocks = 0;      // all planes
};

// False when the grid would not fit a launch (more than 2^31 - 1 blocks).
inline bool make_plane_grid(const DepthwiseParams& p, int64_t cols_per_block, int64_t rows_per_band,
                            PlaneGrid* grid) {
    grid->col_blocks = (p.q + cols_per_block - 1) / cols_per_block;
    grid->bands = (p.p + rows_per_band - 1) / rows_per_band;
    grid->blocks = p.n * p.k * grid->bands * grid->col_blocks;
    return grid->blocks <= 0x7fffffff;
}

struct PlaneTile {
    int64_t col_block, band, n, k;
};

// Column blocks vary fastest, then bands, then output channels: blocks running together share input rows.
__device__ __forceinline__ PlaneTile plane_tile(const DepthwiseParams& p, const PlaneGrid& grid, int64_t block) {
    PlaneTile t;
    t.col_block = block % grid.col_blocks;
    block /= grid.col_blocks;
    t.band = block % grid.bands;
    const int64_t plane = block / grid.bands;
    t.n = plane / p.k;
    t.k = plane % p.k;
    return t;
}

// The tile of a kernel that runs one tile per block.
__device__ __forceinline__ PlaneTile plane_tile(const DepthwiseParams& p, const PlaneGrid& grid) {
    return plane_tile(p, grid, blockIdx.x);
}

// Output channel k's KH x KW filter as cross-correlation taps (rotated for true convolution).
template <DType D, int KH, int KW>
__device__ __forceinline__ void load_taps(const DepthwiseParams& p, int64_t k, float (&taps)[KH][KW]) {
    using Traits = DTypeTraits<D>;
    const auto* filter = static_cast<const typename Traits::Storage*>(p.filter) + k * KH * KW;
#pragma unroll
    for (int r = 0; r < KH; ++r)
#pragma unroll
        for (int s = 0; s < KW; ++s) {
            const int tr = p.flip ? KH - 1 - r : r;
            const int ts = p.flip ? KW - 1 - s : s;
            taps[r][s] = Traits::load(filter + tr * KW + ts);
        }
}

}  // namespace dwshim
