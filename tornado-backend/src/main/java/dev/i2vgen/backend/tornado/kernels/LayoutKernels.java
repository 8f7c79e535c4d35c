package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/** Data movement and lookups: exact copies, one {@code @Parallel} iteration per output element (see ElementwiseKernels for p). */
public final class LayoutKernels {
    private LayoutKernels() {}

    /** p: src, dst, n. */
    public static void copy(IntArray p, FloatArray src, FloatArray dst) {
        int so = p.get(0), dO = p.get(1), n = p.get(2);
        for (@Parallel int i = 0; i < n; i++) dst.set(dO + i, src.get(so + i));
    }

    /** p: src, srcRow, srcOff, dst, dstRow, dstOff, rows, len: dst[r·dstRow + dstOff + j] = src[r·srcRow + srcOff + j]. */
    public static void copyRows(IntArray p, FloatArray src, FloatArray dst) {
        int so = p.get(0), srcRow = p.get(1), srcOff = p.get(2), dO = p.get(3), dstRow = p.get(4), dstOff = p.get(5);
        int rows = p.get(6), len = p.get(7);
        for (@Parallel int i = 0; i < rows * len; i++) {
            int r = i / len, j = i % len;
            dst.set(dO + r * dstRow + dstOff + j, src.get(so + r * srcRow + srcOff + j));
        }
    }

    /** p: x, y, n, rank, output dims[rank], then the input stride of each output axis[rank]. */
    public static void permute(IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), n = p.get(2), rank = p.get(3);
        for (@Parallel int i = 0; i < n; i++) {
            int rest = i, src = 0;
            for (int d = rank - 1; d >= 0; d--) {
                int dim = p.get(4 + d);
                src += (rest % dim) * p.get(4 + rank + d);
                rest = rest / dim;
            }
            y.set(yo + i, x.get(xo + src));
        }
    }

    /** p: x, y, planes, h, w, oh, ow. PyTorch 'nearest': source index = floor(dst · in / out). */
    public static void upsampleNearest(IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), planes = p.get(2), h = p.get(3), w = p.get(4), oh = p.get(5), ow = p.get(6);
        for (@Parallel int i = 0; i < planes * oh * ow; i++) {
            int plane = i / (oh * ow), r = i % (oh * ow);
            int oy = r / ow, ox = r % ow;
            int sy = (oy * h) / oh, sx = (ox * w) / ow;
            y.set(yo + i, x.get(xo + (plane * h + sy) * w + sx));
        }
    }

    /**
     * p: t, y, batch, dim, flip; f: scale, then the dim / 2 frequencies (made on the host, rounded to float as in
     * torch). diffusers' get_timestep_embedding: t[batch] → y[batch, dim] (odd dim: a zero column).
     */
    public static void timestepEmbedding(IntArray p, FloatArray f, FloatArray t, FloatArray y) {
        int to = p.get(0), yo = p.get(1), batch = p.get(2), dim = p.get(3), flip = p.get(4);
        float scale = f.get(0);
        int halfDim = dim / 2;
        for (@Parallel int i = 0; i < batch * dim; i++) {
            int b = i / dim, j = i % dim;
            int fi = j < halfDim ? j : j - halfDim;
            float freq = f.get(1 + fi);
            float arg = scale * (t.get(to + b) * freq);
            boolean first = j < halfDim;
            float v = (first != (flip == 1)) ? TornadoMath.sin(arg) : TornadoMath.cos(arg);
            y.set(yo + i, j >= 2 * halfDim ? 0.0f : v);
        }
    }

    /**
     * p: table, ids, y, count, vocab, d; f: NaN (TornadoVM 5.2 writes a NaN literal as an undeclared identifier).
     * y[i, :] = table[ids[i], :]; an id outside [0, vocab) yields NaN.
     */
    public static void embedding(IntArray p, FloatArray f, FloatArray table, FloatArray ids, FloatArray y) {
        int tO = p.get(0), io = p.get(1), yo = p.get(2), count = p.get(3), vocab = p.get(4), d = p.get(5);
        float nan = f.get(0);
        for (@Parallel int i = 0; i < count * d; i++) {
            int r = i / d, j = i % d;
            float fv = ids.get(io + r);
            int id = (int) fv;
            boolean valid = fv >= 0 && fv < vocab && id == fv;
            y.set(yo + i, valid ? table.get(tO + id * d + j) : nan);
        }
    }
}
