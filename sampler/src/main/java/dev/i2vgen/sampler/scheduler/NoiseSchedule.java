package dev.i2vgen.sampler.scheduler;

/**
 * The training noise schedule (betas, alphas_cumprod) computed with the precision diffusers gets from torch on
 * the CPU: betas are float32; element-wise steps round to float32 after every operation; {@code torch.cumprod}
 * of a float32 tensor accumulates in double and rounds each prefix product to float32.
 */
public final class NoiseSchedule {
    private NoiseSchedule() {}

    /** The float32 betas of a config (trained_betas, or the beta schedule), zero-terminal-SNR rescaled if asked. */
    public static float[] betas(DdimConfig config) {
        return betas(config.numTrainTimesteps(), config.betaStart(), config.betaEnd(), config.betaSchedule(),
                config.trainedBetas(), config.rescaleBetasZeroSnr());
    }

    /**
     * The float32 betas of any diffusers scheduler config: {@code trained} (if not null) or the beta schedule over
     * {@code n} training steps, zero-terminal-SNR rescaled if asked.
     */
    public static float[] betas(int n, double betaStart, double betaEnd, BetaSchedule schedule, double[] trained,
                                boolean rescaleBetasZeroSnr) {
        float[] betas;
        if (trained != null) {
            if (trained.length != n) throw new IllegalArgumentException("trained_betas has " + trained.length
                    + " values but num_train_timesteps is " + n);
            betas = new float[n];
            for (int i = 0; i < n; i++) betas[i] = (float) trained[i];
        } else {
            betas = switch (schedule) {
                case LINEAR -> torchLinspace(betaStart, betaEnd, n);
                case SCALED_LINEAR -> {
                    float[] roots = torchLinspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), n);
                    for (int i = 0; i < n; i++) roots[i] = roots[i] * roots[i];
                    yield roots;
                }
                case SQUAREDCOS_CAP_V2 -> cosineBetas(n, 0.999);
            };
        }
        return rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas) : betas;
    }

    /** alphas_cumprod = cumprod(1 − β). */
    public static float[] alphasCumprod(float[] betas) {
        float[] alphas = new float[betas.length];
        for (int i = 0; i < betas.length; i++) alphas[i] = 1.0f - betas[i];
        return cumprod(alphas);
    }

    /** {@code torch.linspace(start, end, steps, dtype=float32)} on the CPU: symmetric from both ends, in float. */
    public static float[] torchLinspace(double start, double end, int steps) {
        float s = (float) start, e = (float) end;
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = s;
            return out;
        }
        float step = (e - s) / (float) (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) out[i] = i < halfway ? s + step * (float) i : e - step * (float) (steps - i - 1);
        return out;
    }

    /** squaredcos_cap_v2: β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), maxBeta), in double, stored float32. */
    static float[] cosineBetas(int steps, double maxBeta) {
        float[] betas = new float[steps];
        for (int i = 0; i < steps; i++) {
            double t1 = (double) i / steps, t2 = (double) (i + 1) / steps;
            betas[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), maxBeta);
        }
        return betas;
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * Rescale betas to zero terminal SNR (Lin et al. 2023, Algorithm 1), float32 op by op as diffusers:
     * shift and scale √ᾱ so that its last value is 0 and its first is unchanged, then undo the cumprod.
     */
    public static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] alphas = new float[n];
        for (int i = 0; i < n; i++) alphas[i] = 1.0f - betas[i];
        float[] sqrtBar = cumprod(alphas);
        for (int i = 0; i < n; i++) sqrtBar[i] = (float) Math.sqrt(sqrtBar[i]);
        float first = sqrtBar[0], last = sqrtBar[n - 1];
        float scale = first / (first - last);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float s = (sqrtBar[i] - last) * scale;
            bar[i] = s * s;
        }
        float[] out = new float[n];
        out[0] = 1.0f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1.0f - bar[i] / bar[i - 1];
        return out;
    }

    /** {@code torch.cumprod} of float32 on the CPU: double accumulator, each prefix rounded to float. */
    static float[] cumprod(float[] values) {
        float[] out = new float[values.length];
        double acc = 1.0;
        for (int i = 0; i < values.length; i++) {
            acc *= values[i];
            out[i] = (float) acc;
        }
        return out;
    }
}
