package dev.i2vgen.sampler.scheduler;

/**
 * How DDPMScheduler sizes the noise it adds ({@code variance_type}); β̃_t = (1 − ᾱ_prev)/(1 − ᾱ_t)·β_t is the posterior
 * variance of Ho et al. (2020) eq. 7, clamped at 10⁻²⁰, and β_t = 1 − ᾱ_t/ᾱ_prev.
 */
public enum DdpmVarianceType {
    /** noise·√β̃_t. */
    FIXED_SMALL("fixed_small"),
    /** noise·exp(½·ln β̃_t), the same up to rounding (rl-diffuser). */
    FIXED_SMALL_LOG("fixed_small_log"),
    /** noise·√β_t. */
    FIXED_LARGE("fixed_large"),
    /** noise·√(ln β_t), as diffusers computes it: NaN for every β_t &lt; 1 (GLIDE's max_log, taken as a variance). */
    FIXED_LARGE_LOG("fixed_large_log"),
    /** noise·√v with v the second half of the model's channels. */
    LEARNED("learned"),
    /** noise·exp(½·(f·ln β_t + (1 − f)·ln β̃_t)), f = (v + 1)/2 from the second half of the model's channels. */
    LEARNED_RANGE("learned_range");

    private final String configName;

    DdpmVarianceType(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    /** Whether the model predicts the variance (its output has twice the sample's channels). */
    public boolean learned() { return this == LEARNED || this == LEARNED_RANGE; }
}
