package dev.i2vgen.sampler.scheduler;

/** The sigma that set_timesteps appends after the last step ({@code final_sigmas_type}). */
public enum FinalSigmasType {
    /** σ = 0: the last step lands on the clean sample. */
    ZERO("zero"),
    /** The smallest training sigma, √((1−ᾱ_0)/ᾱ_0). */
    SIGMA_MIN("sigma_min");

    private final String configName;

    FinalSigmasType(String configName) { this.configName = configName; }

    public String configName() { return configName; }
}
