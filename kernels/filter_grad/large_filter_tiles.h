// How the large-filter filter gradients (filter_grad/large_filter.cu on FMA, filter_grad/large_filter_toeplitz.cu
// on tensor cores) cut the output into tiles and the tiles into slices: both write partial[slice][k][tap] for the
// same slices, so the workspace does not depend on which kernel runs.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/depthwise_params.h"

namespace dwshim {

constexpr int kLargeGradTileRows = 32, kLargeGradTileCols = 64;  // outputs per tile

struct LargeGradTiles {
    int64_t tile_rows = 0, tile_cols = 0;  // tiles down and across a plane
    int64_t tiles = 0;                     // n * tile_rows * tile_cols
    int64_t tiles_per_slice = 1, slices = 1;
};

inline LargeGradTiles large_grad_tiles(const DepthwiseParams& p) {
    constexpr int64_t kTargetBlocks = 2048;
    LargeGradTiles g;
    g.tile_rows = (p.p + kLargeGradTileRows - 1) / kLargeGradTileRows;
    g.tile_cols = (p.q + kLargeGradTileCols - 1) / kLargeGradTileCols;
    g.tiles = p.n * g.tile_rows * g.tile_cols;
    const int64_t wanted = std::max<int64_t>(1, std::min(g.tiles, (kTargetBlocks + p.k - 1) / p.k));
    g.tiles_per_slice = (g.tiles + wanted - 1) / wanted;
    g.slices = (g.tiles + g.tiles_per_slice - 1) / g.tiles_per_slice;
    return g;
}

}  // namespace dwshim
