package dev.i2vgen.sampler.scheduler;

/** How the second-order multistep update uses the previous model output ({@code solver_type}). */
public enum DpmSolverSolverType {
    /** Midpoint rule: the difference term weighted by ½ of the first-order coefficient (diffusers' default). */
    MIDPOINT("midpoint"),
    /** Heun-like (trapezoidal) weighting of the difference term. */
    HEUN("heun");

    private final String configName;

    DpmSolverSolverType(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    /**
     * diffusers' reading of {@code solver_type}: UniPC's and DEIS's names (logrho, bh1, bh2) are registered as
     * midpoint, anything else unknown is a NotImplementedError.
     */
    public static DpmSolverSolverType fromConfig(String name) {
        if ("logrho".equals(name) || "bh1".equals(name) || "bh2".equals(name)) return MIDPOINT;
        for (DpmSolverSolverType s : values()) if (s.configName.equals(name)) return s;
        throw new IllegalArgumentException(name + " is not implemented for " + DpmSolverAlgorithmType.DIFFUSERS_CLASS);
    }
}
