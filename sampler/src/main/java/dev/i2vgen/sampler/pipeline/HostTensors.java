package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.tensor.Tensor;

/** Small host-side tensor helpers the pipeline needs between graph runs (all F32). */
final class HostTensors {
    private HostTensors() {}

    /** Concatenation along axis 0. */
    static Tensor concatBatch(Tensor... parts) {
        int[] shape = parts[0].shape();
        int rows = 0;
        for (Tensor p : parts) rows += p.dim(0);
        long total = 0;
        for (Tensor p : parts) total += p.numel();
        float[] out = new float[Math.toIntExact(total)];
        int at = 0;
        for (Tensor p : parts) {
            float[] v = p.toFloatArray();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        shape[0] = rows;
        return Tensor.fromFloats(out, shape);
    }

    /** [n] holding v everywhere: a per-video scalar input (timestep, fps). */
    static Tensor filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return Tensor.fromFloats(a, n);
    }

    /** t · s in float32 (the initial latents times init_noise_sigma); t itself for s = 1. */
    static Tensor scaled(Tensor t, float s) {
        if (s == 1.0f) return t;
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] *= s;
        return Tensor.fromFloats(v, t.shape());
    }

    static Tensor zerosLike(Tensor t) { return Tensor.fromFloats(new float[Math.toIntExact(t.numel())], t.shape()); }

    /** [B, C, F, h, w] ↔ [B·F, C, h, w]: the scheduler's frames-as-batch view (diffusers permutes before stepping). */
    static float[] framesToBatch(Tensor x) {
        int b = x.dim(0), c = x.dim(1), f = x.dim(2), h = x.dim(3), w = x.dim(4);
        return x.permute(0, 2, 1, 3, 4).contiguous().reshape(b * f, c, h, w).toFloatArray();
    }

    static Tensor batchToFrames(float[] v, int b, int c, int f, int h, int w) {
        return Tensor.fromFloats(v, b, f, c, h, w).permute(0, 2, 1, 3, 4).contiguous();
    }
}
