package dev.i2vgen.sampler.scheduler;

/** How the training betas are laid out over the timesteps ({@code beta_schedule} in a scheduler config). */
public enum BetaSchedule {
    /** β evenly spaced from beta_start to beta_end (torch.linspace in float32). */
    LINEAR("linear"),
    /** √β evenly spaced, then squared (the Stable Diffusion schedule). */
    SCALED_LINEAR("scaled_linear"),
    /** The cosine ᾱ(τ) of Nichol &amp; Dhariwal, β capped at 0.999; beta_start/beta_end are ignored. */
    SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

    private final String configName;

    BetaSchedule(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    public static BetaSchedule fromConfig(String name) {
        for (BetaSchedule s : values()) if (s.configName.equals(name)) return s;
        throw new IllegalArgumentException("beta_schedule '" + name + "' is not implemented for DDIMScheduler"
                + " (expected linear, scaled_linear or squaredcos_cap_v2)");
    }
}
