package dev.i2vgen.sampler.scheduler;

/**
 * The scalars of one Euler-family step (discrete with churn, or ancestral), float32 as diffusers computes them, in the
 * two forms {@link EulerStepGraph} runs: diffusers' own operations (σ̂, dt, churn scale, σ_up) for float32 graphs, and
 * the equivalent linear map {@code a·x + b·m + c·noise} for fp16/bf16 graphs.
 *
 * @param inputDivisor √(σ² + 1): scale_model_input divides by it
 * @param sigma        σ of the step
 * @param sigmaHat     σ̂ (σ·(1 + γ) with churn, σ otherwise): x0 and the derivative use it
 * @param dt           the float32 step: σ_next − σ̂ (discrete) or σ_down − σ (ancestral)
 * @param churnScale   √(σ̂² − σ²) where the step churns, else 0 (noise added to the sample before the update)
 * @param sNoise       s_noise, the churn noise's factor
 * @param sigmaUp      σ_up of an ancestral step (noise added after the update), else 0
 * @param a            linear form: weight of the sample
 * @param b            linear form: weight of the model output
 * @param c            linear form: weight of the noise
 * @param drawsNoise   whether diffusers' step draws noise here (the generator advances even where the weight is 0)
 */
record EulerStepNumbers(float inputDivisor, float sigma, float sigmaHat, float dt, float churnScale, float sNoise,
                        float sigmaUp, float a, float b, float c, boolean drawsNoise) {

    /** A discrete Euler step from its coefficients ({@link EulerDiscreteScheduler#coefficients}). */
    static EulerStepNumbers discrete(EulerDiscreteScheduler s, int stepIndex, EulerChurn churn) {
        EulerStepCoefficients k = s.coefficients(stepIndex, churn);
        float sigma = k.sigma(), sigmaHat = k.sigmaHat();
        float churnScale = k.needsNoise() ? (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma) : 0f;
        return new EulerStepNumbers(s.scaleModelInputDivisor(stepIndex), sigma, sigmaHat, k.sigmaNext() - sigmaHat,
                churnScale, (float) churn.sNoise(), 0f, k.a(), k.b(), k.c(), k.needsNoise());
    }

    /** An ancestral step: x0 at σ, dt = σ_down − σ, then σ_up times fresh noise, drawn on every step. */
    static EulerStepNumbers ancestral(EulerAncestralDiscreteScheduler s, PredictionType prediction, int stepIndex) {
        float sigma = s.sigmas()[stepIndex];
        float dt = s.sigmaDown(stepIndex) - sigma;
        double dtOverSigma = (double) dt / sigma, a, b;
        switch (prediction) {
            case EPSILON -> { a = 1; b = dt; }
            case V_PREDICTION -> {
                double sigmaSquaredPlusOne = sigma * sigma + 1.0f;
                double cOut = -sigma / (float) Math.sqrt((float) sigmaSquaredPlusOne);
                a = 1 + (1 - 1 / sigmaSquaredPlusOne) * dtOverSigma;
                b = -cOut * dtOverSigma;
            }
            default -> throw new UnsupportedOperationException("EulerAncestralDiscreteScheduler (prediction_type '"
                    + prediction.configName() + "'): prediction_type not implemented yet: " + prediction.configName());
        }
        float up = s.sigmaUp(stepIndex);
        return new EulerStepNumbers(s.scaleModelInputDivisor(stepIndex), sigma, sigma, dt, 0f, 1f, up,
                (float) a, (float) b, up, true);
    }
}
