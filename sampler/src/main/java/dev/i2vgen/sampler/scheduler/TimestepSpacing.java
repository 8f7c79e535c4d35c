package dev.i2vgen.sampler.scheduler;

/** How {@code set_timesteps(n)} picks n of the training timesteps ({@code timestep_spacing}). */
public enum TimestepSpacing {
    /** k·(T // n) + steps_offset, k = n−1 … 0. */
    LEADING("leading"),
    /** round(T − k·T/n) − 1, k = 0 … (ends at the last training step, used with zero-terminal-SNR). */
    TRAILING("trailing"),
    /** round(linspace(0, T−1, n)), descending. */
    LINSPACE("linspace");

    private final String configName;

    TimestepSpacing(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    public static TimestepSpacing fromConfig(String name) {
        for (TimestepSpacing s : values()) if (s.configName.equals(name)) return s;
        throw new IllegalArgumentException("timestep_spacing '" + name + "' is not supported."
                + " Please make sure to choose one of 'leading', 'trailing' or 'linspace'.");
    }
}
