package dev.i2vgen.sampler.scheduler;

/**
 * The signal and noise scales (α_t, σ_t) of x_t = α_t·x0 + σ_t·ε at a schedule sigma, float32 as diffusers'
 * {@code _sigma_to_alpha_sigma_t} computes them on 0-d tensors: variance preserving α = 1/√(σ² + 1), σ_t = σ·α
 * (σ is the EDM-style noise ratio √((1 − ᾱ)/ᾱ)); flow sigmas α = 1 − σ, σ_t = σ.
 */
record UniPcAlphaSigma(float alpha, float sigma) {

    static UniPcAlphaSigma of(float scheduleSigma, boolean flowSigmas) {
        if (flowSigmas) return new UniPcAlphaSigma(1.0f - scheduleSigma, scheduleSigma);
        float alpha = 1.0f / (float) Math.sqrt(scheduleSigma * scheduleSigma + 1.0f);
        return new UniPcAlphaSigma(alpha, scheduleSigma * alpha);
    }

    /** The half log-SNR λ = log α − log σ (float32 logs, as torch.log of 0-d tensors); +∞ at σ = 0. */
    float lambda() {
        return NumpyMath.logFloat32(alpha) - NumpyMath.logFloat32(sigma);
    }
}
