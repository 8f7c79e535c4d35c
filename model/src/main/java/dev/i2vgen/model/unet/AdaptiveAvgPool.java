package dev.i2vgen.model.unet;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

/**
 * PyTorch's AdaptiveAvgPool2d as two matrix products with fixed averaging matrices (no pooling op in
 * the runtime): output cell i of an axis averages input [floor(i·in/out), ceil((i+1)·in/out)), so
 * y = P_h · x · P_wᵀ with P[i, j] = 1/window size inside the window. Works for up- and downscaling.
 */
final class AdaptiveAvgPool {
    private AdaptiveAvgPool() {}

    /** @param x [N, C, H, W] → [N, C, outH, outW]; {@code name} prefixes the averaging-matrix constants. */
    static Value build(TaskGraph g, String name, Value x, int outH, int outW) {
        int h = x.dim(2), w = x.dim(3);
        Value t = x;
        if (w != outW) t = g.matmul(t, g.constant(name + ".pool_cols_" + w + "to" + outW, matrix(w, outW)), true, 1f);
        if (h != outH) {
            t = g.permute(t, 0, 1, 3, 2);
            t = g.matmul(t, g.constant(name + ".pool_rows_" + h + "to" + outH, matrix(h, outH)), true, 1f);
            t = g.permute(t, 0, 1, 3, 2);
        }
        return t;
    }

    /** The [out, in] averaging matrix of one axis. */
    static Tensor matrix(int in, int out) {
        float[] m = new float[out * in];
        for (int i = 0; i < out; i++) {
            int start = Math.floorDiv(i * in, out);
            int end = -Math.floorDiv(-(i + 1) * in, out);   // ceil
            for (int j = start; j < end; j++) m[i * in + j] = 1f / (end - start);
        }
        return Tensor.fromFloats(m, out, in);
    }
}
