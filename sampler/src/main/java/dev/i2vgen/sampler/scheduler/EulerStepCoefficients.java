package dev.i2vgen.sampler.scheduler;

/**
 * One Euler step as a linear map, so that a device can run it with plain multiply-adds:
 * {@code prev = a·sample + b·modelOutput + c·noise}, where {@code noise} is the standard normal draw
 * {@code randn(sample.shape)} that diffusers makes only when {@link #needsNoise()}.
 *
 * <p>Derivation (s' = sample + k·noise the churned sample, k = sNoise·√(σ̂² − σ²), dt = σ_next − σ̂):
 * epsilon: x0 = s' − σ̂·m, so prev = s' + dt·m; sample: x0 = m, so prev = (1 + dt/σ̂)·s' − (dt/σ̂)·m;
 * v-prediction: x0 = c_out·m + s'/(σ² + 1) with c_out = −σ/√(σ² + 1), so
 * prev = (1 + σ²/(σ² + 1)·dt/σ̂)·s' − c_out·(dt/σ̂)·m. The coefficients are evaluated in double from the scheduler's
 * float32 scalars and rounded once; the host step rounds after every operation instead, so the two agree to a few
 * float32 ulps of the largest term (relative to prev, more where the step cancels most of the sample).
 *
 * @param stepIndex  index of σ in the schedule
 * @param sigma      σ (float32 schedule value)
 * @param sigmaHat   σ̂ = σ·(1 + γ)
 * @param sigmaNext  the next σ
 * @param a          weight of the sample
 * @param b          weight of the model output
 * @param c          weight of the standard normal noise (0 without churn)
 * @param needsNoise whether diffusers draws noise at this step (γ &gt; 0; the generator advances even where c is 0)
 */
public record EulerStepCoefficients(int stepIndex, float sigma, float sigmaHat, float sigmaNext,
                                    float a, float b, float c, boolean needsNoise) {

    /** Evaluates the step on the host from these coefficients (noise may be null when not {@link #needsNoise()}). */
    public float[] apply(float[] sample, float[] modelOutput, float[] noise) {
        if (modelOutput.length != sample.length) throw new IllegalArgumentException("apply: model output has "
                + modelOutput.length + " values but the sample has " + sample.length);
        if (needsNoise && (noise == null || noise.length != sample.length)) throw new IllegalArgumentException(
                "apply: step " + stepIndex + " needs " + sample.length + " noise values, got "
                        + (noise == null ? "none" : String.valueOf(noise.length)));
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) {
            float v = a * sample[i] + b * modelOutput[i];
            out[i] = needsNoise ? v + c * noise[i] : v;
        }
        return out;
    }
}
