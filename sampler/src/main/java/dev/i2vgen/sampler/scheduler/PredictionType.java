package dev.i2vgen.sampler.scheduler;

/** What the denoiser predicts ({@code prediction_type}); the code is the one the graph op DdimStep expects. */
public enum PredictionType {
    /** The noise ε. */
    EPSILON("epsilon", 0),
    /** v = √ᾱ·ε − √(1−ᾱ)·x0 (I2VGen-XL). */
    V_PREDICTION("v_prediction", 1),
    /** The clean sample x0 itself. */
    SAMPLE("sample", 2);

    private final String configName;
    private final int graphCode;

    PredictionType(String configName, int graphCode) {
        this.configName = configName;
        this.graphCode = graphCode;
    }

    public String configName() { return configName; }

    /** The value of coefficient 5 of {@link dev.i2vgen.graph.ops.DdimStep}. */
    public int graphCode() { return graphCode; }

    public static PredictionType fromConfig(String name) {
        for (PredictionType p : values()) if (p.configName.equals(name)) return p;
        throw new IllegalArgumentException("prediction_type given as " + name
                + " must be one of `epsilon`, `sample`, or `v_prediction`");
    }
}
