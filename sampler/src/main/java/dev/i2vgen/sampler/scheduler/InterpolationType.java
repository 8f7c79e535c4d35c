package dev.i2vgen.sampler.scheduler;

/** How EulerDiscreteScheduler turns the chosen timesteps into sigmas ({@code interpolation_type}). */
public enum InterpolationType {
    /** σ(t) linearly interpolated between the training sigmas at integer timesteps (np.interp). */
    LINEAR("linear"),
    /** n+1 sigmas evenly spaced in log σ from the largest to the smallest training sigma (ignores the timesteps). */
    LOG_LINEAR("log_linear");

    private final String configName;

    InterpolationType(String configName) { this.configName = configName; }

    public String configName() { return configName; }
}
