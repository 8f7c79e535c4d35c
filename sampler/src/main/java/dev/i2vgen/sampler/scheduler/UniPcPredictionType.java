package dev.i2vgen.sampler.scheduler;

/**
 * What the denoiser predicts, for UniPCMultistepScheduler ({@code prediction_type}): {@link PredictionType}'s three
 * plus flow matching's velocity, which only UniPC's x0 update (predict_x0 = true) accepts.
 */
public enum UniPcPredictionType {
    /** The noise ε. */
    EPSILON("epsilon"),
    /** The clean sample x0 itself. */
    SAMPLE("sample"),
    /** v = α·ε − σ·x0. */
    V_PREDICTION("v_prediction"),
    /** The flow velocity ε − x0 of rectified flow (x = (1 − σ)·x0 + σ·ε): x0 = x − σ·v. */
    FLOW_PREDICTION("flow_prediction");

    private final String configName;

    UniPcPredictionType(String configName) { this.configName = configName; }

    public String configName() { return configName; }
}
