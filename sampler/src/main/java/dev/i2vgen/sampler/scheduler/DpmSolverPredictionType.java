package dev.i2vgen.sampler.scheduler;

/**
 * What the denoiser predicts, for DPMSolverMultistepScheduler ({@code prediction_type}): the shared
 * {@link PredictionType} plus flow matching's velocity, which only the DPM-Solver++ variants accept.
 */
public enum DpmSolverPredictionType {
    /** The noise ε. */
    EPSILON("epsilon"),
    /** The clean sample x0. */
    SAMPLE("sample"),
    /** v = α·ε − σ·x0. */
    V_PREDICTION("v_prediction"),
    /** The flow-matching velocity; x0 = x − σ·model_output. */
    FLOW_PREDICTION("flow_prediction");

    private final String configName;

    DpmSolverPredictionType(String configName) { this.configName = configName; }

    public String configName() { return configName; }

    /**
     * Reads {@code prediction_type} for an algorithm; the errors are the ValueErrors diffusers raises (in its
     * convert_model_output, i.e. on the first step).
     */
    public static DpmSolverPredictionType fromConfig(String name, DpmSolverAlgorithmType algorithm) {
        for (DpmSolverPredictionType p : values()) {
            if (p.configName.equals(name) && (algorithm.dataPrediction() || p != FLOW_PREDICTION)) return p;
        }
        throw new IllegalArgumentException(algorithm.dataPrediction()
                ? "prediction_type given as " + name + " must be one of `epsilon`, `sample`, `v_prediction`, or"
                        + " `flow_prediction` for the DPMSolverMultistepScheduler."
                : "prediction_type given as " + name + " must be one of `epsilon`, `sample`, or `v_prediction` for"
                        + " the DPMSolverMultistepScheduler.");
    }
}
