package dev.i2vgen.sampler.scheduler;

/**
 * UniPC's B(h), the function of the log-SNR step h that scales the higher-order terms ({@code solver_type}).
 * diffusers also accepts the DPM-Solver names "midpoint", "heun" and "logrho", and records them as bh2.
 */
public enum UniPcSolverType {
    /** B(h) = h (with the sign of the update direction); the paper's choice for unconditional sampling with few steps. */
    BH1("bh1"),
    /** B(h) = e^h − 1; diffusers' default. */
    BH2("bh2");

    private final String configName;

    UniPcSolverType(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    /** The solver type of a config value, with diffusers' DPM-Solver aliases of bh2; null if unknown. */
    static UniPcSolverType fromConfig(String name) {
        return switch (name) {
            case "bh1" -> BH1;
            case "bh2", "midpoint", "heun", "logrho" -> BH2;
            default -> null;
        };
    }
}
