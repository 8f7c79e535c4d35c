package dev.i2vgen.sampler.scheduler;

/**
 * One schedule sigma as DPM-Solver sees it: x = α·x0 + σ·ε with log-SNR λ = ln α − ln σ, in float32 as diffusers'
 * {@code _sigma_to_alpha_sigma_t} computes them from a 0-d float32 sigma (each operation rounded).
 *
 * @param alpha  α: 1/√(s² + 1) for a variance-preserving schedule, 1 − s for flow sigmas
 * @param sigma  σ: s·α, or s itself for flow sigmas
 * @param lambda λ = ln α − ln σ (+∞ where σ = 0)
 */
public record DpmSolverNoiseLevel(float alpha, float sigma, float lambda) {

    /** The level of schedule sigma {@code s} (σ/α of the training schedule, or the flow sigma). */
    public static DpmSolverNoiseLevel of(float s, boolean flowSigmas) {
        float alpha, sigma;
        if (flowSigmas) {
            alpha = 1f - s;
            sigma = s;
        } else {
            alpha = 1f / (float) Math.sqrt(s * s + 1f);
            sigma = s * alpha;
        }
        return new DpmSolverNoiseLevel(alpha, sigma, NumpyMath.logFloat32(alpha) - NumpyMath.logFloat32(sigma));
    }
}
