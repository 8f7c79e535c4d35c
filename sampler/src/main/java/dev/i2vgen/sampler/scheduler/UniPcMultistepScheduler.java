package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.Arrays;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * diffusers' UniPCMultistepScheduler (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework") on float
 * arrays, with every config option except {@code solver_p}. Each step first corrects the sample it is given with
 * UniC, using the model output just computed at it, then predicts the next sample with UniP of order up to
 * {@code solver_order} from the latest model outputs; both keep diffusers' float32 arithmetic operation by operation.
 *
 * <p>It is a multistep method: the scheduler keeps the last {@code solver_order} converted model outputs, the
 * sample before the last prediction and the order used, so steps must be called in sampling order, once each;
 * {@link #setTimesteps} clears that history. {@code scale_model_input} is the identity and the initial noise is
 * standard normal ({@code init_noise_sigma} = 1). On the device the same step runs as {@link UniPcStepGraph}.
 *
 * <p>Precision: every tensor operation of diffusers is a float32 operation here, in diffusers' order, the small
 * order-condition systems are solved with the rounding of torch's LAPACK ({@link UniPcLinearSolve}), and numpy's
 * float64 set_timesteps arithmetic is float64. sqrt, log and expm1 are rounded correctly, where torch's CPU kernels
 * are sometimes an ulp off, and betas come from {@link NoiseSchedule}; with diffusers' own rounding of just those,
 * the steps are bit-identical to diffusers', otherwise within 1e-6 plus what those last bits move diffusers' own
 * result (UniPcMultistepFixtureTest measures both).
 *
 * <p>As in diffusers: bh1 with {@code final_sigmas_type = "zero"}, and predict_x0 = false with a zero final sigma,
 * give NaN at the last step; lower_order_final = false with a zero final sigma gives ±∞ at order 2 and torch's
 * "singular" error at order ≥ 3. Those are diffusers' results, reproduced, not guarded against.
 */
public final class UniPcMultistepScheduler implements Scheduler {
    private final UniPcMultistepConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    /** √((1 − ᾱ)/ᾱ) per training timestep (ascending in t) and its float32 log. */
    private final float[] trainSigmas;
    private final float[] logTrainSigmas;

    private float[] sigmas;
    private long[] timesteps;
    private int numInferenceSteps; // 0 until setTimesteps

    // multistep state, diffusers' names in brackets
    private final float[][] modelOutputs;  // [model_outputs] converted outputs, the latest last
    private int lowerOrderNums;            // [lower_order_nums] steps taken, up to solver_order (warm-up)
    private float[] lastSample;            // [last_sample] the (corrected) sample the last prediction started from
    private int thisOrder;                 // [this_order] the order of the last prediction
    private Integer stepIndex;
    private Integer beginIndex;

    public UniPcMultistepScheduler(UniPcMultistepConfig config) {
        this.config = config;
        TrainingSchedule training = TrainingSchedule.of(config.numTrainTimesteps(), config.betaStart(),
                config.betaEnd(), config.betaSchedule(), config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.betas = training.betas();
        this.alphasCumprod = training.alphasCumprod();
        int n = alphasCumprod.length;
        this.trainSigmas = training.sigmas();
        this.logTrainSigmas = training.logSigmas();
        // before set_timesteps diffusers holds the training sigmas ascending and the timesteps descending
        this.sigmas = trainSigmas.clone();
        this.timesteps = new long[n];
        for (int i = 0; i < n; i++) timesteps[i] = n - 1 - i;
        this.modelOutputs = new float[config.solverOrder()][];
    }

    public UniPcMultistepConfig config() { return config; }

    @Override
    public String className() { return "UniPCMultistepScheduler"; }

    public float[] betas() { return betas.clone(); }

    /** ᾱ per training timestep (the last one 2⁻²⁴ with rescale_betas_zero_snr). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** The schedule's float32 sigmas with the final one appended (before setTimesteps: the training sigmas, ascending). */
    public float[] sigmas() { return sigmas.clone(); }

    /** The int64 timesteps the model receives, in sampling order. */
    public long[] integerTimesteps() { return timesteps.clone(); }

    @Override
    public float[] timesteps() { return TrainingSchedule.asFloats(timesteps); }

    /** 0 until {@link #setTimesteps} has run; then the number of timesteps (trailing spacing may give one more). */
    public int numInferenceSteps() { return numInferenceSteps; }

    /** diffusers' class attribute {@code order}: one model evaluation per step (the multistep history is internal). */
    public int order() { return 1; }

    /** The order of the last prediction (diffusers' {@code this_order}), 0 before the first step. */
    public int lastPredictorOrder() { return thisOrder; }

    /** The index of the next step; empty until the first {@code step}. */
    public OptionalInt stepIndex() { return stepIndex == null ? OptionalInt.empty() : OptionalInt.of(stepIndex); }

    public OptionalInt beginIndex() { return beginIndex == null ? OptionalInt.empty() : OptionalInt.of(beginIndex); }

    /** Start the next run at schedule index {@code beginIndex} (diffusers' set_begin_index, e.g. for image-to-image). */
    public UniPcMultistepScheduler setBeginIndex(int beginIndex) {
        if (beginIndex < 0 || beginIndex >= Math.max(1, timesteps.length)) throw new IllegalArgumentException(
                "begin_index " + beginIndex + " is outside 0.." + (timesteps.length - 1));
        this.beginIndex = beginIndex;
        return this;
    }

    @Override
    public float initNoiseSigma() { return 1.0f; }

    /** {@code set_timesteps(num_inference_steps)}. */
    @Override
    public UniPcMultistepScheduler setTimesteps(int numInferenceSteps) {
        return setTimesteps(numInferenceSteps, null, null);
    }

    /** {@code set_timesteps(num_inference_steps, mu=mu)}: μ is required with use_dynamic_shifting. */
    public UniPcMultistepScheduler setTimesteps(int numInferenceSteps, double mu) {
        return setTimesteps(numInferenceSteps, null, mu);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps, sigmas=, mu=)}: custom {@code sigmas} (flow sigmas of
     * every step, the final one is appended by final_sigmas_type) need use_flow_sigmas and replace the step count;
     * {@code mu} shifts flow sigmas with use_dynamic_shifting (required then). Clears the multistep history and the
     * step and begin indices.
     */
    public UniPcMultistepScheduler setTimesteps(Integer numInferenceSteps, double[] customSigmas, Double mu) {
        if (numInferenceSteps == null && customSigmas == null) throw new IllegalArgumentException(
                "set_timesteps needs num_inference_steps or sigmas");
        UniPcSchedule s = UniPcSchedule.compute(config, trainSigmas, logTrainSigmas,
                numInferenceSteps == null ? 0 : numInferenceSteps, customSigmas, mu);
        this.sigmas = s.sigmas();
        this.timesteps = s.timesteps();
        this.numInferenceSteps = timesteps.length;
        Arrays.fill(modelOutputs, null);
        this.lowerOrderNums = 0;
        this.lastSample = null;
        this.stepIndex = null;
        this.beginIndex = null;
        return this;
    }

    /**
     * diffusers' {@code index_for_timestep}: where {@code timestep} is in the schedule; the second match if it occurs
     * more than once (so that a run starting mid-schedule does not skip a sigma); the last index if it is absent.
     */
    public int indexForTimestep(long timestep) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == timestep) {
                if (first >= 0) return i;
                first = i;
            }
        }
        return first >= 0 ? first : timesteps.length - 1;
    }

    /** The identity: UniPC does not scale the model input. */
    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) { return sample; }

    /**
     * {@link Scheduler#step}: diffusers' {@code step(model_output, timesteps[stepIndex], sample)} on a sample of one
     * batch item (UniPC draws no noise; {@code generator} is unused). As in diffusers the timestep only places the
     * first step; later calls continue from the scheduler's own step index.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index " + stepIndex
                + " is outside 0.." + (timesteps.length - 1));
        return stepAtTimestep(modelOutput, timesteps[stepIndex], sample, null);
    }

    /**
     * {@link Scheduler#step(float[], int, float[], int[], double, TorchGenerator)}: {@link #stepAtTimestep} with the
     * sample's shape, so that dynamic thresholding works per batch item; UniPC takes no η and draws no noise.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta,
                        TorchGenerator generator) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index " + stepIndex
                + " is outside 0.." + (timesteps.length - 1));
        return stepAtTimestep(modelOutput, timesteps[stepIndex], sample, sampleShape);
    }

    /**
     * Dynamic thresholding (a quantile of |x0| per batch item) is the one option a linear combination cannot
     * express; diffusers applies it only to the x0 form, so with predict_x0 = false the step still runs on the device.
     */
    @Override
    public boolean stepsOnDevice() { return !(config.thresholding() && config.predictX0()); }

    /** diffusers locates the first step with index_for_timestep. */
    @Override
    public boolean locatesFirstStepByTimestep() { return true; }

    /** {@link UniPcStepGraph}: the step as linear combinations, the converted outputs and last sample on the device. */
    @Override
    public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
        if (!stepsOnDevice()) throw new UnsupportedOperationException("UniPCMultistepScheduler with 'thresholding'"
                + " (dynamic thresholding of the predicted x0, a quantile per batch item) has no step graph: step on the"
                + " host with step(modelOutput, stepIndex, sample, sampleShape, eta, generator)");
        return UniPcStepGraph.declare(g, this, sampleShape);
    }

    /**
     * The next step: {@link #stepAtTimestep} at the current step index (the begin index, else the first timestep's,
     * on the first call after setTimesteps).
     */
    public float[] step(float[] modelOutput, float[] sample, int[] shape) {
        long t = stepIndex != null || beginIndex != null || timesteps.length == 0 ? Long.MIN_VALUE : timesteps[0];
        return stepAtTimestep(modelOutput, t, sample, shape);
    }

    /**
     * diffusers' {@code step(model_output, timestep, sample).prev_sample}: UniC corrects {@code sample} (except on the
     * first step, after a reset, and after the steps listed in disable_corrector), then UniP predicts the sample at
     * the next sigma; advances the step index (placed by {@code timestep} or the begin index on the first call).
     *
     * @param shape the sample's shape, batch first: needed with thresholding (per batch item), else may be null
     */
    public float[] stepAtTimestep(float[] modelOutput, long timestep, float[] sample, int[] shape) {
        if (numInferenceSteps == 0) throw new IllegalStateException("Number of inference steps is 'None',"
                + " you need to run 'set_timesteps' after creating the scheduler");
        int batch = batchSize(shape, sample.length);
        if (modelOutput.length != sample.length) throw new IllegalArgumentException("step: model output has "
                + modelOutput.length + " values but the sample has " + sample.length);
        if (stepIndex == null) stepIndex = beginIndex != null ? beginIndex : indexForTimestep(timestep);
        int i = stepIndex;
        if (i >= timesteps.length) throw new IllegalStateException("step: all " + timesteps.length
                + " steps have run; call setTimesteps for a new run");

        boolean useCorrector = i > 0 && !config.correctorDisabledAfter(i - 1) && lastSample != null;
        float[] converted = convertModelOutput(modelOutput, sample, i, batch);
        float[] x = useCorrector ? correct(converted, sample, i) : sample.clone();

        int history = modelOutputs.length;
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, history - 1);
        modelOutputs[history - 1] = converted;

        thisOrder = predictorOrder(config, timesteps.length, i, lowerOrderNums);
        lastSample = x;
        float[] prev = predict(x, i, thisOrder);
        if (lowerOrderNums < config.solverOrder()) lowerOrderNums++;
        stepIndex = i + 1;
        return prev;
    }

    /**
     * diffusers' {@code convert_model_output} at step {@code index}: the predicted x0 (thresholded if configured)
     * when predict_x0, else the predicted noise ε.
     */
    float[] convertModelOutput(float[] modelOutput, float[] sample, int index, int batch) {
        float sigma = sigmas[index];
        UniPcAlphaSigma as = UniPcAlphaSigma.of(sigma, config.useFlowSigmas());
        float alphaT = as.alpha(), sigmaT = as.sigma();
        int n = sample.length;
        float[] out = new float[n];
        if (config.predictX0()) {
            switch (config.predictionType()) {
                case EPSILON -> { for (int j = 0; j < n; j++) out[j] = (sample[j] - sigmaT * modelOutput[j]) / alphaT; }
                case SAMPLE -> System.arraycopy(modelOutput, 0, out, 0, n);
                case V_PREDICTION -> { for (int j = 0; j < n; j++) out[j] = alphaT * sample[j] - sigmaT * modelOutput[j]; }
                // the schedule sigma itself, whichever sigmas the config uses
                case FLOW_PREDICTION -> { for (int j = 0; j < n; j++) out[j] = sample[j] - sigma * modelOutput[j]; }
            }
            if (config.thresholding()) {
                DynamicThresholding.apply(out, batch, config.dynamicThresholdingRatio(), config.sampleMaxValue());
            }
            return out;
        }
        switch (config.predictionType()) {
            case EPSILON -> System.arraycopy(modelOutput, 0, out, 0, n);
            case SAMPLE -> { for (int j = 0; j < n; j++) out[j] = (sample[j] - alphaT * modelOutput[j]) / sigmaT; }
            case V_PREDICTION -> { for (int j = 0; j < n; j++) out[j] = alphaT * modelOutput[j] + sigmaT * sample[j]; }
            case FLOW_PREDICTION -> throw new IllegalArgumentException("prediction_type given as flow_prediction must be"
                    + " one of `epsilon`, `sample`, or `v_prediction` for the UniPCMultistepScheduler.");
        }
        return out;
    }

    /** UniP from sigma {@code index} to {@code index + 1} with the latest {@code order} outputs. */
    private float[] predict(float[] x, int index, int order) {
        UniPcUpdate u = UniPcUpdate.of(sigmas, index + 1, index, order, config.useFlowSigmas(), config.predictX0(),
                config.solverType());
        float[] m0 = modelOutputs[modelOutputs.length - 1];
        float[][] d = u.differences(earlierOutputs(order), m0);
        return u.predict(x, m0, d, solve(u::predictorRhos, index, "predictor", order));
    }

    /** UniC of the last prediction (sigma {@code index − 1} to {@code index}), given the model output at its result. */
    private float[] correct(float[] convertedAtSample, float[] sample, int index) {
        UniPcUpdate u = UniPcUpdate.of(sigmas, index, index - 1, thisOrder, config.useFlowSigmas(), config.predictX0(),
                config.solverType());
        float[] m0 = modelOutputs[modelOutputs.length - 1];
        float[][] d = u.differences(earlierOutputs(thisOrder), m0);
        float[] rhos = solve(u::correctorRhos, index, "corrector", thisOrder);
        return u.correct(lastSample, m0, d, rhos, convertedAtSample);
    }

    /** The outputs before the latest one, most recent first: m_1 … m_{order−1}. */
    private float[][] earlierOutputs(int order) {
        float[][] earlier = new float[order - 1][];
        for (int k = 1; k < order; k++) earlier[k - 1] = modelOutputs[modelOutputs.length - 1 - k];
        return earlier;
    }

    /**
     * diffusers' {@code this_order} at step {@code stepIndex} of {@code steps}, after {@code stepsTaken} steps of this
     * run: solver_order, lowered to the steps left with lower_order_final, and to stepsTaken + 1 while warming up (no
     * more earlier outputs than steps taken).
     */
    static int predictorOrder(UniPcMultistepConfig config, int steps, int stepIndex, int stepsTaken) {
        int order = config.lowerOrderFinal() ? Math.min(config.solverOrder(), steps - stepIndex) : config.solverOrder();
        return Math.min(order, Math.min(stepsTaken, config.solverOrder()) + 1);
    }

    /** ρ from {@code rhos}, with the step, the update and its order named if the order-condition system is singular. */
    static float[] solve(Supplier<float[]> rhos, int index, String which, int order) {
        try {
            return rhos.get();
        } catch (ArithmeticException e) {
            throw new ArithmeticException("UniPC step " + index + ", " + which + " of order " + order + ": " + e.getMessage());
        }
    }

    /**
     * diffusers' {@code add_noise}: α_t·x0 + σ_t·ε at the timestep's index (or, once set, the current or begin index),
     * α and σ from the schedule sigma as in the steps.
     */
    public float[] addNoise(float[] originalSamples, float[] noise, long timestep) {
        if (originalSamples.length != noise.length) throw new IllegalArgumentException("addNoise: "
                + originalSamples.length + " samples vs " + noise.length + " noise values");
        int index = beginIndex == null ? indexForTimestep(timestep) : stepIndex != null ? stepIndex : beginIndex;
        UniPcAlphaSigma as = UniPcAlphaSigma.of(sigmas[index], config.useFlowSigmas());
        float[] out = new float[noise.length];
        for (int j = 0; j < out.length; j++) out[j] = as.alpha() * originalSamples[j] + as.sigma() * noise[j];
        return out;
    }

    private int batchSize(int[] shape, int length) {
        if (shape == null) {
            if (config.thresholding()) throw new IllegalArgumentException("thresholding works per batch item:"
                    + " pass the sample's shape (batch first) to step");
            return 1;
        }
        long numel = 1;
        for (int d : shape) numel *= d;
        if (shape.length == 0 || numel != length) throw new IllegalArgumentException("step: shape "
                + Arrays.toString(shape) + " does not match the sample's " + length + " values");
        return shape[0];
    }
}
