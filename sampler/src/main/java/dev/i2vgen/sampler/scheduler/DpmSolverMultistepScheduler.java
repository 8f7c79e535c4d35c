package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * diffusers' DPMSolverMultistepScheduler (DPM-Solver and DPM-Solver++, ODE and SDE forms, orders 1 to 3) on float
 * arrays, with every config option. Like diffusers, it keeps the converted model outputs of the last steps and the
 * number of lower-order warm-up steps between calls; {@link #setTimesteps} clears them. The training schedule and
 * each step are torch float32 operations in diffusers' order; set_timesteps computes in numpy float64 and stores
 * float32 sigmas and integer timesteps. On the device the same update runs as a {@link DpmSolverStepGraph}
 * ({@link #stepGraph}).
 *
 * <p>Steps must run in order, from the index diffusers would start at (0, or the begin index): where diffusers would
 * start elsewhere (a repeated first timestep, see {@link #scaleModelInput}), the port refuses rather than reproduce
 * the run that skips a sigma and fails on its last step.
 */
public final class DpmSolverMultistepScheduler implements Scheduler {
    private final DpmSolverMultistepConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    private final DpmSolverSchedule.Training training;

    /** diffusers overwrites config.flow_shift with e^mu on a dynamically shifted set_timesteps; it stays so. */
    private double flowShift;
    private int[] timesteps;
    private float[] sigmas;
    private int numInferenceSteps; // 0 until setTimesteps
    /** The last solver_order converted model outputs, oldest first (null where none yet). */
    private float[][] modelOutputs;
    private int lowerOrderNums;
    private Integer stepIndex;
    private Integer beginIndex;

    public DpmSolverMultistepScheduler(DpmSolverMultistepConfig config) {
        this.config = config;
        TrainingSchedule schedule = TrainingSchedule.of(config.numTrainTimesteps(), config.betaStart(),
                config.betaEnd(), config.betaSchedule(), config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.betas = schedule.betas();
        this.alphasCumprod = schedule.alphasCumprod();
        int n = alphasCumprod.length;
        float[] cumprod = alphasCumprod, trainSigmas = schedule.sigmas(), logSigmas = schedule.logSigmas();
        float[] lambdas = new float[n];
        for (int t = 0; t < n; t++) {
            float alpha = (float) Math.sqrt(cumprod[t]), sigma = (float) Math.sqrt(1.0f - cumprod[t]);
            lambdas[t] = NumpyMath.logFloat32(alpha) - NumpyMath.logFloat32(sigma);
        }
        this.training = new DpmSolverSchedule.Training(trainSigmas, logSigmas, lambdas);
        this.flowShift = config.flowShift();
        // before set_timesteps diffusers lists every training timestep (descending) and the training sigmas (ascending)
        this.timesteps = new int[n];
        for (int i = 0; i < n; i++) timesteps[i] = n - 1 - i;
        this.sigmas = trainSigmas.clone();
        this.modelOutputs = new float[config.solverOrder()][];
    }

    @Override
    public String className() { return "DPMSolverMultistepScheduler"; }

    public DpmSolverMultistepConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    /** ᾱ per training timestep (the last one 2⁻²⁴ with rescale_betas_zero_snr). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** λ = ln √ᾱ − ln √(1 − ᾱ) per training timestep, float32 (what lambda_min_clipped is compared with). */
    public float[] trainingLambdas() { return training.lambdas().clone(); }

    /** σ per step plus the final σ after {@link #setTimesteps}; before it, the training sigmas, ascending in t. */
    public float[] sigmas() { return sigmas.clone(); }

    @Override
    public float[] timesteps() { return TrainingSchedule.asFloats(timesteps); }

    /** The timesteps as diffusers' int64 values. */
    public int[] discreteTimesteps() { return timesteps.clone(); }

    /** Steps of the schedule (may differ from the count asked: trailing spacing, lambda_min_clipped); 0 before. */
    public int numInferenceSteps() { return numInferenceSteps; }

    /** The flow shift in force: the config's, or e^mu since the last dynamically shifted {@link #setTimesteps}. */
    public double flowShift() { return flowShift; }

    /** diffusers' class attribute {@code order}: one model evaluation per step. */
    public int order() { return 1; }

    /** DPM-Solver's initial noise is plain standard normal noise. */
    @Override
    public float initNoiseSigma() { return 1.0f; }

    /** The index of the next step; empty until the first step. */
    public OptionalInt stepIndex() { return stepIndex == null ? OptionalInt.empty() : OptionalInt.of(stepIndex); }

    public OptionalInt beginIndex() { return beginIndex == null ? OptionalInt.empty() : OptionalInt.of(beginIndex); }

    /** Start the next run at schedule index {@code beginIndex} (diffusers' set_begin_index, e.g. for image-to-image). */
    public DpmSolverMultistepScheduler setBeginIndex(int beginIndex) {
        if (beginIndex < 0 || beginIndex >= timesteps.length) throw new IllegalArgumentException("begin_index "
                + beginIndex + " is outside 0.." + (timesteps.length - 1));
        this.beginIndex = beginIndex;
        return this;
    }

    @Override
    public DpmSolverMultistepScheduler setTimesteps(int numInferenceSteps) {
        return setTimesteps(numInferenceSteps, null, null);
    }

    /** {@code set_timesteps(n, mu=mu)}: flow sigmas shifted by e^mu (needs use_dynamic_shifting); the shift stays. */
    public DpmSolverMultistepScheduler setTimesteps(int numInferenceSteps, double mu) {
        return setTimesteps(numInferenceSteps, mu, null);
    }

    /** {@code set_timesteps(timesteps=...)}: these training timesteps, sigmas interpolated at them. */
    public DpmSolverMultistepScheduler setCustomTimesteps(int... timesteps) {
        return setTimesteps(null, null, timesteps);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps, mu=, timesteps=)}: a step count or custom timesteps, with
     * diffusers' errors. Clears the multistep history and the step and begin indices.
     */
    public DpmSolverMultistepScheduler setTimesteps(Integer numInferenceSteps, Double mu, int[] customTimesteps) {
        if (mu != null) {
            if (!config.useDynamicShifting() || !"exponential".equals(config.timeShiftType())) {
                throw new IllegalArgumentException("mu (a dynamic timestep shift) needs use_dynamic_shifting = true and"
                        + " time_shift_type = 'exponential' (diffusers asserts both); got use_dynamic_shifting = "
                        + config.useDynamicShifting() + ", time_shift_type = '" + config.timeShiftType() + "'");
            }
            flowShift = Math.exp(mu);
        }
        if (numInferenceSteps == null && customTimesteps == null) throw new IllegalArgumentException(
                "Must pass exactly one of `num_inference_steps` or `timesteps`.");
        if (numInferenceSteps != null && customTimesteps != null) throw new IllegalArgumentException(
                "Can only pass one of `num_inference_steps` or `custom_timesteps`.");
        if (customTimesteps != null) {
            if (config.useKarrasSigmas()) throw new IllegalArgumentException("Cannot use `timesteps` with `config.use_karras_sigmas = True`");
            if (config.useLuLambdas()) throw new IllegalArgumentException("Cannot use `timesteps` with `config.use_lu_lambdas = True`");
            if (config.useExponentialSigmas()) throw new IllegalArgumentException("Cannot set `timesteps` with `config.use_exponential_sigmas = True`.");
            if (config.useBetaSigmas()) throw new IllegalArgumentException("Cannot set `timesteps` with `config.use_beta_sigmas = True`.");
            // diffusers builds flow sigmas from num_inference_steps, which is None here (it fails with a TypeError)
            if (config.useFlowSigmas()) throw new IllegalArgumentException("Cannot use `timesteps` with"
                    + " `config.use_flow_sigmas = True`: flow sigmas follow from num_inference_steps");
            if (customTimesteps.length == 0) throw new IllegalArgumentException("timesteps must not be empty");
        } else if (numInferenceSteps < 1) {
            throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + numInferenceSteps);
        }
        DpmSolverSchedule schedule = customTimesteps != null ? DpmSolverSchedule.custom(config, training, customTimesteps)
                : DpmSolverSchedule.spaced(config, training, numInferenceSteps, flowShift);
        this.timesteps = schedule.timesteps();
        this.sigmas = schedule.sigmas();
        this.numInferenceSteps = timesteps.length;
        this.modelOutputs = new float[config.solverOrder()][];
        this.lowerOrderNums = 0;
        this.stepIndex = null;
        this.beginIndex = null;
        return this;
    }

    /**
     * diffusers' {@code index_for_timestep}: where {@code timestep} is in the schedule; its second position if it
     * occurs more than once, the last index if it does not occur.
     */
    public int indexForTimestep(int timestep) {
        List<Integer> at = positions(timestep);
        if (at.isEmpty()) return timesteps.length - 1;
        return at.size() > 1 ? at.get(1) : at.get(0);
    }

    private List<Integer> positions(int timestep) {
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < timesteps.length; i++) if (timesteps[i] == timestep) at.add(i);
        return at;
    }

    /**
     * {@code scale_model_input}: DPM-Solver does not scale, so this is {@code sample} itself. It checks that step
     * {@code stepIndex} can run next (see {@link #step}), so that a refused step fails before the model runs.
     */
    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) {
        if (numInferenceSteps > 0) checkSupported(runIndex(stepIndex));
        return sample;
    }

    /**
     * {@link #step(float[], int[], int, float[], int[], TorchGenerator, float[])} for a model output shaped like the
     * sample; thresholding and learned-variance outputs need the shapes: that overload or
     * {@link #step(float[], int, float[], int[], double, TorchGenerator)}.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        if (config.thresholding() || learnedEpsilon()) throw new IllegalStateException((config.thresholding()
                ? "thresholding works per batch item" : "a learned-variance model output is sliced by channel")
                + ": use the step overload that takes the shapes");
        return step(modelOutput, new int[]{modelOutput.length}, stepIndex, sample, new int[]{sample.length}, generator, null);
    }

    /**
     * The shape-aware step for a model output shaped like the sample but for its channel count (a learned-variance
     * model's): supports dynamic thresholding and learned-variance outputs. {@code eta} is not used (DPM-Solver
     * takes none).
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta,
                        TorchGenerator generator) {
        return step(modelOutput, modelOutputShape(modelOutput.length, sampleShape), stepIndex, sample, sampleShape,
                generator, null);
    }

    /** The sample's shape, with as many channels (axis 1) as {@code values} fills. */
    private static int[] modelOutputShape(int values, int[] sampleShape) {
        long n = 1;
        for (int d : sampleShape) n *= d;
        if (n == values || sampleShape.length < 2 || sampleShape[1] == 0) return sampleShape.clone();
        long perChannel = n / sampleShape[1];
        if (perChannel == 0 || values % perChannel != 0) throw new IllegalArgumentException("step: the model output's "
                + values + " values are not the sample shape " + Arrays.toString(sampleShape) + " with another channel count");
        int[] shape = sampleShape.clone();
        shape[1] = (int) (values / perChannel);
        return shape;
    }

    /**
     * False where the update is more than a linear combination: dynamic thresholding (a quantile per batch item), or
     * a learned-variance ε output (variance_type learned/learned_range), which diffusers slices to its first 3
     * channels while the step graph's model output is shaped like the sample.
     */
    @Override
    public boolean stepsOnDevice() { return !config.thresholding() && !learnedEpsilon(); }

    /** diffusers locates the first step with index_for_timestep. */
    @Override
    public boolean locatesFirstStepByTimestep() { return true; }

    /**
     * This schedule's update as a {@link DpmSolverStepGraph}, for a run from step 0 (or the begin index, read now
     * with the schedule; the host step state is not read). Refuses,
     * before anything runs, what {@link #step} would refuse at some step of that run: a run diffusers would start
     * elsewhere (a repeated first timestep) and a third-order sde-dpmsolver step.
     *
     * @param eta not used: DPM-Solver takes none
     * @throws UnsupportedOperationException where {@link #stepsOnDevice} is false, naming the option
     */
    @Override
    public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
        if (config.thresholding()) throw new UnsupportedOperationException("DPMSolverMultistepScheduler with"
                + " thresholding = true has no step graph: dynamic thresholding takes a quantile per batch item; step"
                + " on the host (stepsOnDevice() is false)");
        if (learnedEpsilon()) throw new UnsupportedOperationException("DPMSolverMultistepScheduler with variance_type '"
                + config.varianceType() + "' and prediction_type epsilon has no step graph: diffusers keeps the first "
                + DpmSolverModelOutput.MEAN_CHANNELS + " channels of the model output, which the step graph takes"
                + " shaped like the sample; step on the host (stepsOnDevice() is false)");
        if (numInferenceSteps == 0) throw new IllegalStateException("stepGraph: call setTimesteps first");
        int first = checkedRunStart(beginIndex != null ? beginIndex : 0);
        int[] orders = new int[timesteps.length];
        for (int i = first; i < orders.length; i++) {
            orders[i] = checkSupported(i, Math.min(i - first, config.solverOrder()));
        }
        return DpmSolverStepGraph.declare(g, config, sigmas, first, orders, sampleShape);
    }

    /**
     * diffusers' {@code step(model_output, timesteps[stepIndex], sample, generator, variance_noise).prev_sample}.
     * Steps run in order from 0 (or the begin index); the first call fixes the index as diffusers does and each
     * call advances it.
     *
     * @param modelOutputShape the model output's shape: [batch, channels, …]; with variance_type learned(_range) and
     *                         ε-prediction diffusers keeps its first 3 channels, which must then match the sample
     * @param sampleShape      the sample's shape; dynamic thresholding needs [batch, channels, …] (≥ 3 dimensions,
     *                         as diffusers' _threshold_sample)
     * @param generator        the noise source of the sde-* algorithms ({@code randn(sampleShape)} per step); may be
     *                         null for the others or when {@code varianceNoise} is given
     * @param varianceNoise    explicit noise for the sde-* algorithms instead of the generator, or null
     */
    public float[] step(float[] modelOutput, int[] modelOutputShape, int stepIndex, float[] sample, int[] sampleShape,
                        TorchGenerator generator, float[] varianceNoise) {
        if (numInferenceSteps == 0) throw new IllegalStateException(
                "Number of inference steps is 'None', you need to run 'set_timesteps' after creating the scheduler");
        int index = runIndex(stepIndex);
        int order = checkSupported(index);
        checkLength(sample, sampleShape, "sample");
        checkLength(modelOutput, modelOutputShape, "model output");
        float[] noise = null;
        if (config.algorithmType().stochastic()) {
            if (varianceNoise != null) {
                if (varianceNoise.length != sample.length) throw new IllegalArgumentException("step: variance noise has "
                        + varianceNoise.length + " values but the sample has " + sample.length);
                noise = varianceNoise.clone();
            } else if (generator == null) {
                throw new IllegalArgumentException("step: " + config.algorithmType().configName()
                        + " draws noise every step: pass a TorchGenerator (or the variance noise)");
            }
        }
        float[] converted = DpmSolverModelOutput.convert(config, modelOutput, modelOutputShape, sample, sampleShape,
                sigmas[index]);
        System.arraycopy(modelOutputs, 1, modelOutputs, 0, modelOutputs.length - 1);
        modelOutputs[modelOutputs.length - 1] = converted;
        if (noise == null && config.algorithmType().stochastic()) noise = generator.randn(sampleShape);

        int last = modelOutputs.length - 1;
        float[] prev = DpmSolverUpdates.apply(DpmSolverUpdateScalars.at(config, sigmas, index, order), converted,
                order >= 2 ? modelOutputs[last - 1] : null, order >= 3 ? modelOutputs[last - 2] : null, sample, noise);
        if (lowerOrderNums < config.solverOrder()) lowerOrderNums++;
        this.stepIndex = index + 1;
        return prev;
    }

    /**
     * The order diffusers uses at schedule index {@code index} given the warm-up so far: 1 while there is no
     * history or for the last step (euler_at_final, lower_order_final under 15 steps, or a final σ of 0), 2 for the
     * second step or the second-to-last under lower_order_final, else up to solver_order (3 at most).
     */
    int updateOrder(int index) { return updateOrder(index, lowerOrderNums); }

    /** {@link #updateOrder(int)} after {@code lowerOrderNums} steps of this run (diffusers' lower_order_nums). */
    private int updateOrder(int index, int lowerOrderNums) {
        int n = timesteps.length;
        boolean lowerOrderFinal = index == n - 1 && (config.eulerAtFinal() || (config.lowerOrderFinal() && n < 15)
                || config.finalSigmasType() == FinalSigmasType.ZERO);
        boolean lowerOrderSecond = index == n - 2 && config.lowerOrderFinal() && n < 15;
        if (config.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal) return 1;
        if (config.solverOrder() == 2 || lowerOrderNums < 2 || lowerOrderSecond) return 2;
        return 3;
    }

    /** The step's order, refusing the one diffusers cannot take (it has no third-order sde-dpmsolver update). */
    private int checkSupported(int index) { return checkSupported(index, lowerOrderNums); }

    private int checkSupported(int index, int lowerOrderNums) {
        int order = updateOrder(index, lowerOrderNums);
        if (order == 3 && config.algorithmType() == DpmSolverAlgorithmType.SDE_DPMSOLVER) {
            throw new IllegalArgumentException("step " + index + " would be a third-order sde-dpmsolver update, which"
                    + " diffusers does not have (it fails there with an UnboundLocalError): use solver_order ≤ 2 or"
                    + " algorithm_type sde-dpmsolver++");
        }
        return order;
    }

    /**
     * The schedule index diffusers' step would use for the call at {@code stepIndex}, required to be that index:
     * after the first step the scheduler's own counter; before it the begin index, else the position of
     * {@code timesteps[stepIndex]} (its second position if repeated).
     */
    private int runIndex(int stepIndex) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index " + stepIndex
                + " is outside the schedule's 0.." + (timesteps.length - 1));
        if (this.stepIndex != null) {
            if (this.stepIndex != stepIndex) throw new IllegalArgumentException("step " + stepIndex + " out of order:"
                    + " the next step is " + this.stepIndex + " (a multistep solver keeps the previous model outputs;"
                    + " setTimesteps starts again)");
            return stepIndex;
        }
        return checkedRunStart(stepIndex);
    }

    /**
     * {@code stepIndex} if a run can start there as diffusers' would: the begin index where one is set, else where
     * {@code timesteps[stepIndex]} is found (its second position if repeated).
     */
    private int checkedRunStart(int stepIndex) {
        if (beginIndex != null) {
            if (beginIndex != stepIndex) throw new IllegalArgumentException("step " + stepIndex + ": the run begins at"
                    + " index " + beginIndex + " (setBeginIndex)");
            return stepIndex;
        }
        int timestep = timesteps[stepIndex];
        int diffusersIndex = indexForTimestep(timestep);
        if (diffusersIndex != stepIndex) throw new IllegalArgumentException(repeatedTimestepMessage(stepIndex, timestep, diffusersIndex));
        return stepIndex;
    }

    private String repeatedTimestepMessage(int stepIndex, int timestep, int diffusersIndex) {
        String cause = "";
        if (config.rescaleBetasZeroSnr() && (config.useKarrasSigmas() || config.useExponentialSigmas() || config.useBetaSigmas())) {
            String kind = config.useKarrasSigmas() ? "use_karras_sigmas" : config.useExponentialSigmas()
                    ? "use_exponential_sigmas" : "use_beta_sigmas";
            cause = " With rescale_betas_zero_snr and " + kind + " the largest sigmas (up to " + sigmas[0]
                    + ") all map to the last training timesteps.";
        }
        return "timestep " + timestep + " occurs at schedule indices " + positions(timestep) + ": diffusers'"
                + " DPMSolverMultistepScheduler would start this run at its second occurrence (index_for_timestep),"
                + " index " + diffusersIndex + " instead of " + stepIndex + ", skip σ = " + sigmas[stepIndex]
                + " and fail with an IndexError on the last step." + cause + " Use another step count or sigma"
                + " schedule, or set the begin index (setBeginIndex(" + stepIndex + ")) as diffusers' image-to-image"
                + " pipelines do.";
    }

    private DpmSolverNoiseLevel level(int index) {
        return DpmSolverNoiseLevel.of(sigmas[index], config.useFlowSigmas());
    }

    private boolean learnedEpsilon() {
        return config.learnedVariance() && config.predictionType() == DpmSolverPredictionType.EPSILON;
    }

    /**
     * diffusers' {@code add_noise}: α·original + σ·noise at the level of {@code timestep}'s schedule index (or the
     * current / begin index once a begin index is set).
     */
    public float[] addNoise(float[] originalSamples, float[] noise, int timestep) {
        if (originalSamples.length != noise.length) throw new IllegalArgumentException("addNoise: "
                + originalSamples.length + " samples vs " + noise.length + " noise values");
        int index = beginIndex == null ? indexForTimestep(timestep) : stepIndex != null ? stepIndex : beginIndex;
        DpmSolverNoiseLevel level = level(index);
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = level.alpha() * originalSamples[i] + level.sigma() * noise[i];
        return out;
    }

    private static void checkLength(float[] values, int[] shape, String what) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != values.length) throw new IllegalArgumentException("step: " + what + " shape " + Arrays.toString(shape)
                + " does not match its " + values.length + " values");
    }
}
