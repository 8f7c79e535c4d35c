package dev.i2vgen.sampler.scheduler;

/** Which DPM-Solver variant DPMSolverMultistepScheduler runs ({@code algorithm_type}). */
public enum DpmSolverAlgorithmType {
    /** DPM-Solver (Lu et al. 2022): integrates the noise prediction ε; diffusers deprecates it. */
    DPMSOLVER("dpmsolver", false, false),
    /** DPM-Solver++ (Lu et al. 2022b): integrates the data prediction x0; diffusers' default. */
    DPMSOLVER_PLUS_PLUS("dpmsolver++", true, false),
    /** The stochastic (SDE) form of DPM-Solver; adds fresh noise every step; deprecated in diffusers. */
    SDE_DPMSOLVER("sde-dpmsolver", false, true),
    /** The stochastic (SDE) form of DPM-Solver++. */
    SDE_DPMSOLVER_PLUS_PLUS("sde-dpmsolver++", true, true);

    /** The class diffusers names in its NotImplementedError messages. */
    static final String DIFFUSERS_CLASS = "<class 'diffusers.schedulers.scheduling_dpmsolver_multistep.DPMSolverMultistepScheduler'>";

    private final String configName;
    private final boolean dataPrediction;
    private final boolean stochastic;

    DpmSolverAlgorithmType(String configName, boolean dataPrediction, boolean stochastic) {
        this.configName = configName;
        this.dataPrediction = dataPrediction;
        this.stochastic = stochastic;
    }

    public String configName() { return configName; }

    /** Whether the solver works on x0 (the "++" variants) rather than on ε. */
    public boolean dataPrediction() { return dataPrediction; }

    /** Whether each step draws standard normal noise. */
    public boolean stochastic() { return stochastic; }

    /**
     * diffusers' reading of {@code algorithm_type}: "deis" is registered as dpmsolver++ (a config written for
     * DEISMultistepScheduler), anything else unknown is a NotImplementedError.
     */
    public static DpmSolverAlgorithmType fromConfig(String name) {
        if ("deis".equals(name)) return DPMSOLVER_PLUS_PLUS;
        for (DpmSolverAlgorithmType a : values()) if (a.configName.equals(name)) return a;
        throw new IllegalArgumentException(name + " is not implemented for " + DIFFUSERS_CLASS);
    }
}
