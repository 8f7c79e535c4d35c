package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Row reductions as KernelContext kernels: one work-group of {@link #GROUP} work-items per row, partial sums in
 * local memory reduced by a tree with barriers; mean first, then the biased variance of the deviations (two passes,
 * as accurate as the JVM backend's).
 */
public final class NormKernels {
    /** Work-items per row (the local arrays below have this size). */
    public static final int GROUP = 64;

    private NormKernels() {}

    /** p: x, gamma, beta, y, d; f: eps. */
    public static void layerNorm(KernelContext c, IntArray p, FloatArray f, FloatArray x, FloatArray gamma, FloatArray beta, FloatArray y) {
        int xo = p.get(0), go = p.get(1), bo = p.get(2), yo = p.get(3), d = p.get(4);
        float eps = f.get(0);
        float[] scratch = c.allocateFloatLocalArray(64);
        int row = c.groupIdx, l = c.localIdx;
        int xr = xo + row * d, yr = yo + row * d;
        float s = 0.0f;
        for (int j = l; j < d; j += 64) s += x.get(xr + j);
        float mean = sum(c, scratch, l, s) / d;
        float q = 0.0f;
        for (int j = l; j < d; j += 64) {
            float t = x.get(xr + j) - mean;
            q += t * t;
        }
        float inv = 1.0f / TornadoMath.sqrt(sum(c, scratch, l, q) / d + eps);
        for (int j = l; j < d; j += 64) y.set(yr + j, (x.get(xr + j) - mean) * inv * gamma.get(go + j) + beta.get(bo + j));
    }

    /**
     * p: x, gamma, beta, y, channels, groups, inner, mid, silu; f: eps. One work-group per (image, group) of
     * x[n, mid, channels, inner]: the group is its mid segments of channels/groups · inner contiguous elements at a
     * stride of channels · inner ([N, C, *] is mid = 1; a frame-major video [B, F, C, h, w] has mid = F).
     */
    public static void groupNorm(KernelContext c, IntArray p, FloatArray f, FloatArray x, FloatArray gamma, FloatArray beta, FloatArray y) {
        int xo = p.get(0), go = p.get(1), bo = p.get(2), yo = p.get(3), channels = p.get(4), groups = p.get(5);
        int inner = p.get(6), mid = p.get(7), silu = p.get(8);
        float eps = f.get(0);
        float[] scratch = c.allocateFloatLocalArray(64);
        int ng = c.groupIdx, l = c.localIdx;
        int image = ng / groups, g = ng % groups;
        int perGroup = channels / groups;
        int seg = perGroup * inner, stride = channels * inner;
        float len = (float) mid * (float) seg;
        int base = image * mid * stride + g * seg;
        float s = 0.0f;
        for (int m = 0; m < mid; m++) {
            for (int j = l; j < seg; j += 64) s += x.get(xo + base + m * stride + j);
        }
        float mean = sum(c, scratch, l, s) / len;
        float q = 0.0f;
        for (int m = 0; m < mid; m++) {
            for (int j = l; j < seg; j += 64) {
                float t = x.get(xo + base + m * stride + j) - mean;
                q += t * t;
            }
        }
        float inv = 1.0f / TornadoMath.sqrt(sum(c, scratch, l, q) / len + eps);
        for (int m = 0; m < mid; m++) {
            for (int j = l; j < seg; j += 64) {
                int ch = g * perGroup + j / inner;
                float v = (x.get(xo + base + m * stride + j) - mean) * inv * gamma.get(go + ch) + beta.get(bo + ch);
                y.set(yo + base + m * stride + j, silu == 1 ? v * KernelMath.sigmoid(v) : v);
            }
        }
    }

    /** p: x, y, d: softmax over the last axis of rows of d. */
    public static void softmax(KernelContext c, IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), d = p.get(2);
        float[] scratch = c.allocateFloatLocalArray(64);
        int row = c.groupIdx, l = c.localIdx;
        int xr = xo + row * d, yr = yo + row * d;
        float m = Float.NEGATIVE_INFINITY;
        for (int j = l; j < d; j += 64) m = TornadoMath.max(m, x.get(xr + j));
        scratch[l] = m;
        c.localBarrier();
        for (int st = 32; st > 0; st >>= 1) {
            if (l < st) scratch[l] = TornadoMath.max(scratch[l], scratch[l + st]);
            c.localBarrier();
        }
        float max = scratch[0];
        c.localBarrier();
        float s = 0.0f;
        for (int j = l; j < d; j += 64) s += TornadoMath.exp(x.get(xr + j) - max);
        float inv = 1.0f / sum(c, scratch, l, s);
        for (int j = l; j < d; j += 64) y.set(yr + j, TornadoMath.exp(x.get(xr + j) - max) * inv);
    }

    /**
     * The work-group's sum of each work-item's {@code partial}: a tree over the local {@code scratch} with barriers;
     * the last barrier lets the caller use the scratch again.
     */
    private static float sum(KernelContext c, float[] scratch, int l, float partial) {
        scratch[l] = partial;
        c.localBarrier();
        for (int st = 32; st > 0; st >>= 1) {
            if (l < st) scratch[l] += scratch[l + st];
            c.localBarrier();
        }
        float total = scratch[0];
        c.localBarrier();
        return total;
    }
}
