package dev.i2vgen.cli.bench;

/**
 * One line of the benchmark table: what was measured ({@code value} in {@code unit}: "s" or "GiB"; null = not
 * measured on this backend), diffusers' figure (on the anchor's GPU) and the target (null = none).
 */
public record BenchRow(String key, String what, Double value, String unit, Double diffusers, Double target) {
    /** diffusers ÷ ours: above 1 means we are faster (or use less memory). */
    public Double ratio() {
        return value == null || diffusers == null || value == 0 ? null : diffusers / value;
    }

    /** Whether the target is met; null without a target or a measurement. */
    public Boolean meetsTarget() {
        return value == null || target == null ? null : value <= target;
    }
}
