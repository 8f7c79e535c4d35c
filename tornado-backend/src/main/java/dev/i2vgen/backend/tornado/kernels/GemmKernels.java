package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Matrix products as KernelContext kernels tiled through local memory: {@link #TILE}×{@link #TILE} work-groups,
 * each work-item one output element, the K loop stepping a tile of A and a tile of B at a time (the same
 * algorithm as the OpenCL backend's gemm.cl, written in Java). Convolutions are the same GEMM with B gathered
 * from the input on the fly (an implicit im2col: no scratch buffer).
 */
public final class GemmKernels {
    /** Tile edge; launches use TILE×TILE×1 work-groups. */
    public static final int TILE = 16;

    private GemmKernels() {}

    /**
     * p: a, b, bias, c, M, N, K, transB, strideA, strideB, strideC, biasMode; f: alpha. Batched
     * C[z] = alpha · A[z] · op(B[z]) (+ bias[N] per column when biasMode is 1, bias[M] per row when 2); A[M, K]
     * row-major, B[K, N] or B[N, K] when transB; batch strides in elements (0: a shared operand). The output comes
     * last: TornadoVM 5.2's scheduler loops forever on a task that reads an array after the parameter it writes.
     */
    public static void gemm(KernelContext ctx, IntArray p, FloatArray f, FloatArray a, FloatArray b, FloatArray bias, FloatArray c) {
        int ao = p.get(0), bo = p.get(1), biasO = p.get(2), co = p.get(3);
        int m = p.get(4), n = p.get(5), k = p.get(6), transB = p.get(7);
        int biasMode = p.get(11);
        float alpha = f.get(0);
        float[] as = ctx.allocateFloatLocalArray(272);   // TILE × (TILE + 1): padded rows avoid bank conflicts
        float[] bs = ctx.allocateFloatLocalArray(272);
        int col = ctx.globalIdx, row = ctx.globalIdy, z = ctx.globalIdz;
        int lx = ctx.localIdx, ly = ctx.localIdy;
        int aBase = ao + z * p.get(8), bBase = bo + z * p.get(9), cBase = co + z * p.get(10);
        int bRow = ctx.groupIdx * 16 + ly;   // transB: the column n this work-item loads is bRow, at k = lx
        float acc = 0.0f;
        for (int k0 = 0; k0 < k; k0 += 16) {
            int ak = k0 + lx;
            as[ly * 17 + lx] = (row < m && ak < k) ? a.get(aBase + row * k + ak) : 0.0f;
            if (transB == 1) {
                int bk = k0 + lx;
                bs[lx * 17 + ly] = (bRow < n && bk < k) ? b.get(bBase + bRow * k + bk) : 0.0f;
            } else {
                int bk = k0 + ly;
                bs[ly * 17 + lx] = (col < n && bk < k) ? b.get(bBase + bk * n + col) : 0.0f;
            }
            ctx.localBarrier();
            for (int kk = 0; kk < 16; kk++) acc += as[ly * 17 + kk] * bs[kk * 17 + lx];
            ctx.localBarrier();
        }
        if (row < m && col < n) {
            float v = alpha * acc;
            if (biasMode == 1) v += bias.get(biasO + col);
            if (biasMode == 2) v += bias.get(biasO + row);
            c.set(cBase + row * n + col, v);
        }
    }

    /**
     * p: x, w, bias, y, hasBias, C, H, W, O, kh, kw, strideH, strideW, padTop, padLeft, OH, OW. One image per grid
     * z: y[O, OH·OW] = W[O, C·kh·kw] · col + bias, col[(c·kh + ky)·kw + kx, oy·OW + ox] = x[c, oy·sh − padT + ky,
     * ox·sw − padL + kx] (0 outside), gathered into the B tile as it is loaded.
     */
    public static void conv2d(KernelContext ctx, IntArray p, FloatArray x, FloatArray w, FloatArray bias, FloatArray y) {
        int xo = p.get(0), wo = p.get(1), biasO = p.get(2), yo = p.get(3), hasBias = p.get(4);
        int ch = p.get(5), h = p.get(6), wd = p.get(7), o = p.get(8), kh = p.get(9), kw = p.get(10);
        int sh = p.get(11), sw = p.get(12), padT = p.get(13), padL = p.get(14), oh = p.get(15), ow = p.get(16);
        int pixels = oh * ow, kdim = ch * kh * kw;
        float[] as = ctx.allocateFloatLocalArray(272);
        float[] bs = ctx.allocateFloatLocalArray(272);
        int col = ctx.globalIdx, row = ctx.globalIdy, img = ctx.globalIdz;
        int lx = ctx.localIdx, ly = ctx.localIdy;
        int xBase = xo + img * ch * h * wd;
        int oy = col / ow, ox = col % ow;
        float acc = 0.0f;
        for (int k0 = 0; k0 < kdim; k0 += 16) {
            int ak = k0 + lx;
            as[ly * 17 + lx] = (row < o && ak < kdim) ? w.get(wo + row * kdim + ak) : 0.0f;
            int bk = k0 + ly;
            float v = 0.0f;
            if (col < pixels && bk < kdim) {
                int kx = bk % kw, ky = (bk / kw) % kh, ci = bk / (kw * kh);
                int iy = oy * sh - padT + ky, ix = ox * sw - padL + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) v = x.get(xBase + (ci * h + iy) * wd + ix);
            }
            bs[ly * 17 + lx] = v;
            ctx.localBarrier();
            for (int kk = 0; kk < 16; kk++) acc += as[ly * 17 + kk] * bs[kk * 17 + lx];
            ctx.localBarrier();
        }
        if (row < o && col < pixels) {
            float v = acc;
            if (hasBias == 1) v += bias.get(biasO + row);
            y.set(yo + (img * o + row) * pixels + col, v);
        }
    }

    /**
     * p: x, w, bias, r, y, hasBias, hasResidual, frames, c, o, k, hw, n. The frames-first temporal convolution
     * (TemporalConv with framesFirst), one iteration per output element, straight from x:
     * y[b, f, o, p] = bias[o] (+ r[b, f, o, p]) + Σ_t Σ_c w[o, c, t] · x[b, f + t − pad, c, p], frames outside
     * [0, frames) being zero padding.
     */
    public static void temporalConvFrames(IntArray p, FloatArray x, FloatArray w, FloatArray bias, FloatArray r, FloatArray y) {
        int xo = p.get(0), wo = p.get(1), biasO = p.get(2), ro = p.get(3), yo = p.get(4), hasBias = p.get(5), hasResidual = p.get(6);
        int frames = p.get(7), c = p.get(8), o = p.get(9), k = p.get(10), hw = p.get(11), n = p.get(12);
        int pad = (k - 1) / 2;
        for (@Parallel int i = 0; i < n; i++) {
            int px = i % hw, rest = i / hw;
            int oc = rest % o;
            rest = rest / o;
            int fr = rest % frames;
            int b = rest / frames;
            float acc = hasBias == 1 ? bias.get(biasO + oc) : 0.0f;
            if (hasResidual == 1) acc += r.get(ro + i);
            for (int t = 0; t < k; t++) {
                int src = fr + t - pad;
                if (src >= 0 && src < frames) {
                    int xs = xo + (b * frames + src) * c * hw + px;
                    int ws = wo + oc * c * k + t;
                    for (int ci = 0; ci < c; ci++) acc += w.get(ws + ci * k) * x.get(xs + ci * hw);
                }
            }
            y.set(yo + i, acc);
        }
    }
}
