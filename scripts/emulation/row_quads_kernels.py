# NumPy emulation of the to-test branch's fwd-quads and NCHW rows filter-gradient index logic (one plane).
import numpy as np
Q = 4

def conv_ref(x, w, pad_h, pad_w):
    K = w.shape[0]; h, wd = x.shape
    p = h + 2 * pad_h - K + 1; q = wd + 2 * pad_w - K + 1
    xp = np.zeros((h + 2 * pad_h + K, wd + 2 * pad_w + K)); xp[pad_h:pad_h + h, pad_w:pad_w + wd] = x
    y = np.zeros((p, q))
    for r in range(K):
        for s in range(K):
            y += w[r, s] * xp[r:r + p, s:s + q]
    return y

def wgrad_ref(x, dy, K, pad_h, pad_w):
    h, wd = x.shape; p, q = dy.shape
    xp = np.zeros((h + 2 * pad_h + K + p, wd + 2 * pad_w + K + q)); xp[pad_h:pad_h + h, pad_w:pad_w + wd] = x
    dw = np.zeros((K, K))
    for r in range(K):
        for s in range(K):
            dw[r, s] = (dy * xp[r:r + p, s:s + q]).sum()
    return dw

def windows(x, row_ih, c0s, pad_w, K, lanes):
    # per lane: own columns from x (masked), halo from next lane in group (or own loads for the group's last lane)
    h, wd = x.shape
    n = len(c0s)
    own = np.zeros((n, Q + K - 1))
    for l, c0 in enumerate(c0s):
        last = (l % lanes) == lanes - 1
        for c in range(Q + K - 1):
            col = c0 - pad_w + c
            if (c < Q or last) and 0 <= row_ih < h and 0 <= col < wd:
                own[l, c] = x[row_ih, col]
    win = own.copy()
    for j in range(K - 1):
        for l in range(n):
            last = (l % lanes) == lanes - 1
            # shfl_down width lanes: source lane l+1 within the segment, else own value
            src = l + 1 if (l % lanes) + 1 < lanes else l
            if not last:
                win[l, Q + j] = win[src, j]
    return win

def fwd_quads(x, w, pad_h, pad_w, band=64):
    K = w.shape[0]; h, wd = x.shape
    p = h + 2 * pad_h - K + 1; q = wd + 2 * pad_w - K + 1
    y = np.full((p, q), np.nan)
    seg = 32 * Q
    warps_across = 1
    while warps_across < 4 and warps_across * seg < q: warps_across *= 2
    col_blocks = -(-q // (warps_across * seg)); bands = -(-p // ((4 // warps_across) * band))
    for cb in range(col_blocks):
        for b in range(bands):
            for warp in range(4):
                wc0 = (cb * warps_across + warp % warps_across) * seg
                oh_begin = (b * (4 // warps_across) + warp // warps_across) * band
                if wc0 >= q or oh_begin >= p: continue
                c0s = [wc0 + l * Q for l in range(32)]
                oh_end = min(p, oh_begin + band)
                acc = np.zeros((K, 32, Q))
                for ih in range(oh_begin - pad_h, oh_end - pad_h + K - 1):
                    win = windows(x, ih, c0s, pad_w, K, 32)
                    for r in range(K):
                        for c in range(Q):
                            for s in range(K):
                                acc[r, :, c] += win[:, c + s] * w[r, s]
                    oh = ih + pad_h - (K - 1)
                    if oh >= oh_begin:
                        for l in range(32):
                            for c in range(Q):
                                if c0s[l] + c < q: y[oh, c0s[l] + c] = acc[K - 1, l, c]
                    acc[1:] = acc[:-1].copy(); acc[0] = 0
    return y

def row_lanes(q):
    lanes = 2
    while lanes < 32 and lanes * Q < q: lanes *= 2
    return lanes

def wgrad_rows(xs, dys, K, pad_h, pad_w, band_rows=8, bands_per_slice=5, kwarps=8):
    # xs: [n][h][w], dys: [n][p][q]; one channel; sums over slices
    n, h, wd = xs.shape; _, p, q = dys.shape
    bpi = -(-p // band_rows); total = n * bpi
    dw = np.zeros((K, K))
    lanes = row_lanes(q)
    for band_begin in range(0, total, bands_per_slice):
        band_end = min(total, band_begin + bands_per_slice)
        if lanes < 32:
            raw = kwarps * (32 // lanes)
            for first in range(band_begin, band_end, raw):
                for slot in range(raw):
                    band = first + slot
                    if band >= band_end: continue  # masked rows contribute zero
                    img = band // bpi; oh_begin = (band - img * bpi) * band_rows; oh_end = min(p, oh_begin + band_rows)
                    c0s = [(l % lanes) * Q for l in range(lanes)]
                    acc = np.zeros((K, K))
                    dy_rows = np.zeros((K, lanes, Q))
                    for step in range(band_rows + K - 1):
                        ih = oh_begin - pad_h + step; oh = oh_begin + step
                        dy_rows[1:] = dy_rows[:-1].copy()
                        for l in range(lanes):
                            for c in range(Q):
                                dy_rows[0, l, c] = dys[img, oh, c0s[l] + c] if (oh < oh_end and c0s[l] + c < q) else 0
                        win = windows(xs[img], ih, c0s, pad_w, K, lanes)
                        for fr in range(K):
                            for fs in range(K):
                                acc[fr, fs] += (dy_rows[fr] * win[:, fs:fs + Q]).sum()
                    dw += acc
        else:
            seg = 32 * Q
            segments = -(-q // seg)
            across = 1
            while across < kwarps and across < segments: across *= 2
            groups = kwarps // across
            per_group = -(-(band_end - band_begin) // groups)
            for warp in range(kwarps):
                group = warp // across
                gb = band_begin + group * per_group; ge = min(band_end, gb + per_group)
                for segment in range(warp % across, segments, across):
                    c0s = [segment * seg + l * Q for l in range(32)]
                    band = gb
                    while band < ge:
                        img = band // bpi; b0 = img * bpi; run_end = min(ge, b0 + bpi)
                        oh_begin = (band - b0) * band_rows; oh_end = min(p, (run_end - b0) * band_rows)
                        dy_rows = np.zeros((K, 32, Q))
                        for ih in range(oh_begin - pad_h, oh_end - pad_h + K - 1):
                            oh = ih + pad_h
                            dy_rows[1:] = dy_rows[:-1].copy()
                            for l in range(32):
                                for c in range(Q):
                                    dy_rows[0, l, c] = dys[img, oh, c0s[l] + c] if (oh < oh_end and c0s[l] + c < q) else 0
                            win = windows(xs[img], ih, c0s, pad_w, K, 32)
                            for fr in range(K):
                                for fs in range(K):
                                    dw[fr, fs] += (dy_rows[fr] * win[:, fs:fs + Q]).sum()
                        band = run_end
    return dw

rng = np.random.default_rng(1)
worst = 0
for t in range(14):
    K = [3, 5, 7][t % 3]
    pad_h = rng.integers(0, K); pad_w = rng.integers(0, K)
    h = int(rng.integers(max(1, K - 2 * pad_h), 40)); wd = int(rng.integers(max(1, K - 2 * pad_w), 300))
    x = rng.standard_normal((h, wd)); w = rng.standard_normal((K, K))
    ref = conv_ref(x, w, pad_h, pad_w)
    if ref.shape[1] >= 96:
        got = fwd_quads(x, w, pad_h, pad_w, band=int(rng.choice([8, 64])))
        err = np.nanmax(np.abs(got - ref)); assert not np.isnan(got).any(), "unwritten output"
        worst = max(worst, err); print("fwd", K, pad_h, pad_w, h, wd, ref.shape, "err", err)
    n = 3
    xs = rng.standard_normal((n, h, min(wd, int(rng.choice([7, 14, 30, 60, 140]))) ))
    p = h + 2 * pad_h - K + 1; q = xs.shape[2] + 2 * pad_w - K + 1
    if q < 1: continue
    dys = rng.standard_normal((n, p, q))
    ref = sum(wgrad_ref(xs[i], dys[i], K, pad_h, pad_w) for i in range(n))
    got = wgrad_rows(xs, dys, K, pad_h, pad_w, bands_per_slice=int(rng.integers(1, 9)))
    err = np.abs(got - ref).max() / np.abs(ref).max(); worst = max(worst, err)
    print("wgrad", K, pad_h, pad_w, (h, xs.shape[2]), "q", q, "lanes", row_lanes(q), "err", err)
print("worst", worst)
