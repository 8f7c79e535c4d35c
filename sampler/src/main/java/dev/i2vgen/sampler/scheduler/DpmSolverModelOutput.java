package dev.i2vgen.sampler.scheduler;

import java.util.Arrays;

/**
 * diffusers' {@code convert_model_output} for DPMSolverMultistepScheduler: the model output turned into what the
 * solver integrates, x0 for the ++ algorithms and ε for the others, float32 operation by operation, with dynamic
 * thresholding of x0 when configured.
 */
final class DpmSolverModelOutput {
    /** How many channels diffusers keeps of a learned-variance ε output (hard-coded there: RGB pixel models). */
    static final int MEAN_CHANNELS = 3;

    private DpmSolverModelOutput() {}

    /**
     * @param sigma the step's schedule sigma (its α and σ follow from it as in the update)
     */
    static float[] convert(DpmSolverMultistepConfig config, float[] modelOutput, int[] modelOutputShape,
                           float[] sample, int[] sampleShape, float sigma) {
        boolean epsilon = config.predictionType() == DpmSolverPredictionType.EPSILON;
        float[] m = modelOutput;
        int[] mShape = modelOutputShape;
        if (epsilon && config.learnedVariance()) {
            mShape = meanShape(modelOutputShape);
            m = meanChannels(modelOutput, modelOutputShape);
        }
        if (!Arrays.equals(mShape, sampleShape)) throw new IllegalArgumentException("step: model output shape "
                + Arrays.toString(mShape) + (m == modelOutput ? "" : " (its first " + MEAN_CHANNELS + " channels)")
                + " does not match the sample's " + Arrays.toString(sampleShape));
        if (config.thresholding() && sampleShape.length < 3) throw new IllegalArgumentException("step: dynamic"
                + " thresholding needs a sample shaped [batch, channels, …] with at least 3 dimensions, as diffusers'"
                + " _threshold_sample (it fails on " + Arrays.toString(sampleShape) + ")");
        DpmSolverNoiseLevel level = DpmSolverNoiseLevel.of(sigma, config.useFlowSigmas());
        float alpha = level.alpha(), sig = level.sigma();
        int n = sample.length;
        float[] out = new float[n];
        if (config.algorithmType().dataPrediction()) {
            switch (config.predictionType()) {
                case EPSILON -> { for (int i = 0; i < n; i++) out[i] = (sample[i] - sig * m[i]) / alpha; }
                case SAMPLE -> System.arraycopy(m, 0, out, 0, n);
                case V_PREDICTION -> { for (int i = 0; i < n; i++) out[i] = alpha * sample[i] - sig * m[i]; }
                // the schedule sigma itself, whatever the alpha/sigma convention
                case FLOW_PREDICTION -> { for (int i = 0; i < n; i++) out[i] = sample[i] - sigma * m[i]; }
            }
            if (config.thresholding()) threshold(config, out, sampleShape);
            return out;
        }
        switch (config.predictionType()) {
            case EPSILON -> System.arraycopy(m, 0, out, 0, n);
            case SAMPLE -> { for (int i = 0; i < n; i++) out[i] = (sample[i] - alpha * m[i]) / sig; }
            case V_PREDICTION -> { for (int i = 0; i < n; i++) out[i] = alpha * m[i] + sig * sample[i]; }
            case FLOW_PREDICTION -> throw new IllegalStateException("flow_prediction with " + config.algorithmType()
                    + " is refused by the config");
        }
        if (config.thresholding()) {   // threshold the x0 implied by ε, then recover ε from it
            float[] x0 = new float[n];
            for (int i = 0; i < n; i++) x0[i] = (sample[i] - sig * out[i]) / alpha;
            threshold(config, x0, sampleShape);
            for (int i = 0; i < n; i++) out[i] = (sample[i] - alpha * x0[i]) / sig;
        }
        return out;
    }

    /**
     * {@link #convert} without thresholding as weights {p, q} of one linear combination p·sample + q·modelOutput,
     * in double from the float32 α and σ of {@code sigma} (for a sample-shaped model output: no learned-variance
     * slicing).
     */
    static double[] linearForm(DpmSolverMultistepConfig config, float sigma) {
        DpmSolverNoiseLevel level = DpmSolverNoiseLevel.of(sigma, config.useFlowSigmas());
        double alpha = level.alpha(), sig = level.sigma();
        if (config.algorithmType().dataPrediction()) {
            return switch (config.predictionType()) {
                case EPSILON -> new double[]{1 / alpha, -sig / alpha};
                case SAMPLE -> new double[]{0, 1};
                case V_PREDICTION -> new double[]{alpha, -sig};
                case FLOW_PREDICTION -> new double[]{1, -(double) sigma};
            };
        }
        return switch (config.predictionType()) {
            case EPSILON -> new double[]{0, 1};
            case SAMPLE -> new double[]{1 / sig, -alpha / sig};
            case V_PREDICTION -> new double[]{sig, alpha};
            case FLOW_PREDICTION -> throw new IllegalStateException("flow_prediction with " + config.algorithmType()
                    + " is refused by the config");
        };
    }

    private static void threshold(DpmSolverMultistepConfig config, float[] x0, int[] shape) {
        DynamicThresholding.apply(x0, shape[0], config.dynamicThresholdingRatio(), config.sampleMaxValue());
    }

    /** [B, C, …] → [B, min(C, 3), …]. */
    static int[] meanShape(int[] shape) {
        if (shape.length < 2) throw new IllegalArgumentException("step: a learned-variance model output must be shaped"
                + " [batch, channels, …], got " + Arrays.toString(shape));
        int[] out = shape.clone();
        out[1] = Math.min(shape[1], MEAN_CHANNELS);
        return out;
    }

    /** {@code model_output[:, :3]}, row-major. */
    static float[] meanChannels(float[] values, int[] shape) {
        int batch = shape[0], channels = shape[1], kept = Math.min(channels, MEAN_CHANNELS);
        int inner = values.length / Math.max(1, batch * channels);
        float[] out = new float[batch * kept * inner];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(values, b * channels * inner, out, b * kept * inner, kept * inner);
        }
        return out;
    }
}
