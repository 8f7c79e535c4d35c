package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.graph.ops.TimestepEmbedding;

import java.lang.foreign.MemorySegment;

/**
 * diffusers' get_timestep_embedding, with the frequencies and arguments rounded to float at the same
 * points as its fp32 torch code (the arguments reach ~1000, where that rounding is visible).
 */
public final class TimestepEmbeddingKernel {
    private TimestepEmbeddingKernel() {}

    public static void run(MemorySegment t, int batch, TimestepEmbedding op, MemorySegment out) {
        int dim = op.dim(), half = dim / 2;
        float[] freq = new float[half];
        float logPeriod = (float) -Math.log(op.maxPeriod());
        for (int j = 0; j < half; j++) {
            float exponent = (logPeriod * j) / (half - op.downscaleFreqShift());
            freq[j] = (float) Math.exp(exponent);
        }
        for (int b = 0; b < batch; b++) {
            float ts = F32.get(t, b);
            long row = (long) b * dim;
            for (int j = 0; j < half; j++) {
                float arg = op.scale() * (ts * freq[j]);
                float s = (float) Math.sin(arg), c = (float) Math.cos(arg);
                F32.set(out, row + j, op.flipSinToCos() ? c : s);
                F32.set(out, row + half + j, op.flipSinToCos() ? s : c);
            }
            if (dim % 2 == 1) F32.set(out, row + dim - 1, 0f);
        }
    }
}
