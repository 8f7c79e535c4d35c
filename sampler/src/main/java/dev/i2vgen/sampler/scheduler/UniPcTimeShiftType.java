package dev.i2vgen.sampler.scheduler;

/** How dynamic shifting moves flow sigmas by the resolution-dependent μ ({@code time_shift_type}). */
public enum UniPcTimeShiftType {
    /** σ' = e^μ / (e^μ + (1/σ − 1)). */
    EXPONENTIAL("exponential"),
    /** σ' = μ / (μ + (1/σ − 1)). */
    LINEAR("linear");

    private final String configName;

    UniPcTimeShiftType(String configName) { this.configName = configName; }

    public String configName() { return configName; }
}
