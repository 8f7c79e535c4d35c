package dev.i2vgen.sampler.scheduler;

import java.util.Arrays;

/**
 * Imagen's dynamic thresholding of a predicted x0, per batch item, as diffusers' {@code _threshold_sample}:
 * s = quantile(|x0|, ratio) clamped to [1, maxValue]; x0 ← clamp(x0, −s, s) / s. Float32 throughout, with
 * torch.quantile's linear interpolation (rank = q·(n−1), lerp between the neighbouring sorted values).
 */
final class DynamicThresholding {
    private DynamicThresholding() {}

    /** Thresholds {@code x0} in place; it holds {@code batch} equally sized items. */
    static void apply(float[] x0, int batch, double ratio, double maxValue) {
        if (batch < 1 || x0.length % batch != 0) throw new IllegalArgumentException("thresholding: "
                + x0.length + " values cannot be split into " + batch + " batch items");
        int n = x0.length / batch;
        float[] abs = new float[n];
        for (int b = 0; b < batch; b++) {
            int off = b * n;
            for (int i = 0; i < n; i++) abs[i] = Math.abs(x0[off + i]);
            float s = quantile(abs, (float) ratio);
            s = Math.min(Math.max(s, 1.0f), (float) maxValue); // torch.clamp(min=1, max=sample_max_value)
            for (int i = 0; i < n; i++) x0[off + i] = Math.min(Math.max(x0[off + i], -s), s) / s;
        }
    }

    /** torch.quantile(values, q, interpolation='linear') for float32 data without NaN; sorts {@code values}. */
    static float quantile(float[] values, float q) {
        Arrays.sort(values);
        float rank = q * (float) (values.length - 1);
        int below = (int) rank;
        int above = (int) Math.ceil(rank);
        float weight = rank - below;
        return lerp(values[below], values[above], weight);
    }

    /** torch.lerp's CPU formula, which is exact at both ends. */
    private static float lerp(float a, float b, float w) {
        return Math.abs(w) < 0.5f ? a + w * (b - a) : b - (b - a) * (1.0f - w);
    }
}
