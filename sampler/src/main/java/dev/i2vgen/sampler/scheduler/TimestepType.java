package dev.i2vgen.sampler.scheduler;

/** What EulerDiscreteScheduler hands the model as its timestep ({@code timestep_type}). */
public enum TimestepType {
    /** Training-timestep values (possibly fractional, interpolated from σ). */
    DISCRETE("discrete"),
    /** EDM's c_noise = ¼·ln σ; diffusers applies it only together with v_prediction (SVD). */
    CONTINUOUS("continuous");

    private final String configName;

    TimestepType(String configName) { this.configName = configName; }

    public String configName() { return configName; }
}
