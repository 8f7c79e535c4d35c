package dev.i2vgen.sampler.scheduler;

/**
 * The training noise schedule a sigma-based scheduler starts from, as diffusers' constructors compute it in float32:
 * betas, alphas_cumprod (with rescale_betas_zero_snr the last one set to fp16's smallest subnormal 2⁻²⁴, so that
 * σ_max stays finite), the training sigmas √((1 − ᾱ)/ᾱ) ascending in t, and their float32 logs. Shared arrays: callers
 * must not modify them.
 */
record TrainingSchedule(float[] betas, float[] alphasCumprod, float[] sigmas, float[] logSigmas) {

    static TrainingSchedule of(int numTrainTimesteps, double betaStart, double betaEnd, BetaSchedule betaSchedule,
                               double[] trainedBetas, boolean rescaleBetasZeroSnr) {
        float[] betas = NoiseSchedule.betas(numTrainTimesteps, betaStart, betaEnd, betaSchedule, trainedBetas,
                rescaleBetasZeroSnr);
        float[] cumprod = NoiseSchedule.alphasCumprod(betas);
        // zero terminal SNR makes ᾱ_T = 0; diffusers uses fp16's smallest subnormal so that σ_max stays finite
        if (rescaleBetasZeroSnr) cumprod[cumprod.length - 1] = 0x1p-24f;
        int n = cumprod.length;
        float[] sigmas = new float[n], logSigmas = new float[n];
        for (int t = 0; t < n; t++) {
            sigmas[t] = (float) Math.sqrt((1.0f - cumprod[t]) / cumprod[t]);
            logSigmas[t] = NumpyMath.logFloat32(sigmas[t]);
        }
        return new TrainingSchedule(betas, cumprod, sigmas, logSigmas);
    }

    /** The integer timesteps as float32 values (a scheduler's model timestep input). */
    static float[] asFloats(int[] timesteps) {
        float[] out = new float[timesteps.length];
        for (int i = 0; i < out.length; i++) out[i] = timesteps[i];
        return out;
    }

    /** The integer timesteps as float32 values. */
    static float[] asFloats(long[] timesteps) {
        float[] out = new float[timesteps.length];
        for (int i = 0; i < out.length; i++) out[i] = timesteps[i];
        return out;
    }
}
