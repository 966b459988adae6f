// What the filter gradient's partial-sum kernels share: how rows are cut into bands and bands into slices, and
// the workspace layout partial[slice][k][tap] that the finalize pass adds up in slice order.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

constexpr int64_t kFilterGradTargetBlocks = 2048;  // enough to fill any current GPU several times
constexpr int64_t kMinPositionsPerSlice = 1024;    // below this a slice's reduction costs too much

struct FilterGradSlices {
    int64_t bands_per_image = 0;
    int64_t bands_per_slice = 1;
    int64_t slices = 1;
};

// Cuts the n * ceil(p / band_rows) bands into slices, enough for about kFilterGradTargetBlocks blocks over
// `block_columns` blocks per slice, none with fewer than kMinPositionsPerSlice output positions or (where the
// bands allow) block_bands bands, the most a block walks at once, where avoidable.
inline FilterGradSlices make_filter_grad_slices(const DepthwiseParams& p, int64_t band_rows, int64_t block_columns,
                                                int64_t block_bands = 1) {
    FilterGradSlices s;
    s.bands_per_image = (p.p + band_rows - 1) / band_rows;
    const int64_t bands = p.n * s.bands_per_image;
    const int64_t by_work = std::max<int64_t>(1, bands * band_rows * p.q / kMinPositionsPerSlice);
    const int64_t wanted = (kFilterGradTargetBlocks + block_columns - 1) / block_columns;
    const int64_t by_block = (bands + block_bands - 1) / block_bands;
    const int64_t slices = std::max<int64_t>(1, std::min({wanted, bands, by_work, by_block}));
    s.bands_per_slice = (bands + slices - 1) / slices;
    s.slices = (bands + s.bands_per_slice - 1) / s.bands_per_slice;
    return s;
}

}  // namespace dwshim
