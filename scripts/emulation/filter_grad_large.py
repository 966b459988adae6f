# NumPy emulation of branch wgrad-large's tile logic (one channel, all images), against a direct filter gradient.
import numpy as np
TR, TC = 32, 64; TAPR, TAPC, QUAD = 4, 8, 4

def wgrad_ref(x, dy, R, S, ph, pw):
    h, w = x.shape; p, q = dy.shape
    xp = np.zeros((h + 2 * ph + R + p, w + 2 * pw + S + q)); xp[ph:ph + h, pw:pw + w] = x
    return np.array([[(dy * xp[r:r + p, s:s + q]).sum() for s in range(S)] for r in range(R)])

def large(xs, dys, R, S, ph, pw):
    n, h, w = xs.shape; _, p, q = dys.shape
    ttr, tts = -(-R // TAPR), -(-S // TAPC)
    groups = 256 // (ttr * tts)
    pitch = TC + tts * TAPC + QUAD; rows = TR + ttr * TAPR
    tile_rows, tile_cols = -(-p // TR), -(-q // TC)
    acc = np.zeros((ttr * TAPR, tts * TAPC))
    for t in range(n * tile_rows * tile_cols):
        img = t // (tile_rows * tile_cols); oh0 = t // tile_cols % tile_rows * TR; ow0 = t % tile_cols * TC
        xt = np.zeros((rows, pitch)); dt = np.zeros((TR, TC))
        for i in range(rows):
            for j in range(pitch):
                ih, iw = oh0 - ph + i, ow0 - pw + j
                if i < TR + R - 1 and j < TC + S - 1 and 0 <= ih < h and 0 <= iw < w: xt[i, j] = xs[img, ih, iw]
        for e in range(TR * TC):
            oh, ow = oh0 + e // TC, ow0 + e % TC
            if oh < p and ow < q: dt[e // TC, e % TC] = dys[img, oh, ow]
        for tile in range(ttr * tts):
            fr0, fs0 = tile // tts * TAPR, tile % tts * TAPC
            for g in range(groups):
                for row in range(g, TR, groups):
                    for qq in range(0, TC, QUAD):
                        d = dt[row, qq:qq + QUAD]
                        for fr in range(TAPR):
                            win = xt[row + fr0 + fr, qq + fs0: qq + fs0 + QUAD + TAPC]
                            assert len(win) == QUAD + TAPC, "read past the staged row"
                            for s in range(TAPC):
                                acc[fr0 + fr, fs0 + s] += (d * win[s:s + QUAD]).sum()
    return acc[:R, :S]

rng = np.random.default_rng(3)
for R, S, ph, pw, h, w in [(9, 13, 4, 6, 20, 70), (31, 31, 15, 15, 40, 40), (8, 17, 0, 3, 33, 20), (12, 5, 2, 1, 50, 90)]:
    n = 2
    xs = rng.standard_normal((n, h, w)); p = h + 2 * ph - R + 1; q = w + 2 * pw - S + 1
    dys = rng.standard_normal((n, p, q))
    ref = sum(wgrad_ref(xs[i], dys[i], R, S, ph, pw) for i in range(n))
    got = large(xs, dys, R, S, ph, pw)
    print(R, S, "err", np.abs(got - ref).max() / np.abs(ref).max())
