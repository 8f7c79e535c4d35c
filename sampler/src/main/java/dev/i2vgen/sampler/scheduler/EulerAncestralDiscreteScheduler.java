package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.OptionalInt;

/**
 * diffusers' EulerAncestralDiscreteScheduler on float arrays, with every config option: an Euler step to
 * σ_down followed by fresh noise of scale σ_up, where σ_up² + σ_down² = σ_next² and
 * σ_up = σ_next·√(σ² − σ_next²)/σ. Like diffusers it computes the training schedule and every step as torch float32
 * operations (rounded after each one) and set_timesteps in numpy float64, storing float32 sigmas and timesteps.
 *
 * <p>Usage through {@link Scheduler}: {@code setTimesteps(n)}; per step {@code i}: the model gets
 * {@code scaleModelInput(x, i)} at {@code timesteps()[i]}, then {@code x = step(model, i, x, generator)}. Every step
 * draws {@code randn(sample.length)} from the generator, the last one included (diffusers draws it and multiplies
 * it by σ_up = 0). {@link #stepAtTimestep} and {@link #scaleModelInputAtTimestep} take diffusers' timestep
 * arguments instead, with its step-index bookkeeping.
 */
public final class EulerAncestralDiscreteScheduler implements Scheduler {
    private static final System.Logger LOG = System.getLogger(EulerAncestralDiscreteScheduler.class.getName());

    private final EulerAncestralDiscreteConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    /** √((1 − ᾱ)/ᾱ) per training timestep, ascending in t (torch float32, as diffusers recomputes it). */
    private final float[] trainSigmas;

    private float[] sigmas;
    private float[] timesteps;
    private int numInferenceSteps; // 0 until setTimesteps
    private Integer stepIndex;
    private Integer beginIndex;
    private boolean scaleInputCalled;

    public EulerAncestralDiscreteScheduler(EulerAncestralDiscreteConfig config) {
        this.config = config;
        TrainingSchedule training = TrainingSchedule.of(config.numTrainTimesteps(), config.betaStart(),
                config.betaEnd(), config.betaSchedule(), config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.betas = training.betas();
        this.alphasCumprod = training.alphasCumprod();
        int n = alphasCumprod.length;
        this.trainSigmas = training.sigmas();
        // before setTimesteps: every training step, σ descending, then 0
        this.sigmas = new float[n + 1];
        this.timesteps = new float[n];
        for (int i = 0; i < n; i++) {
            sigmas[i] = trainSigmas[n - 1 - i];
            timesteps[i] = n - 1 - i;
        }
    }

    @Override
    public String className() { return "EulerAncestralDiscreteScheduler"; }

    public EulerAncestralDiscreteConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    /** ᾱ per training timestep (the last one 2⁻²⁴ with rescale_betas_zero_snr). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** The schedule's sigmas, float32, with the final 0 appended (one more than the timesteps). */
    public float[] sigmas() { return sigmas.clone(); }

    /** The timesteps the model receives, float32 (fractional for linspace spacing, as diffusers keeps them). */
    @Override
    public float[] timesteps() { return timesteps.clone(); }

    /** 0 until {@link #setTimesteps} has run. */
    public int numInferenceSteps() { return numInferenceSteps; }

    /** One model evaluation per step. */
    public int order() { return 1; }

    /** The index of the next step's σ; empty until the first scale/step call. */
    public OptionalInt stepIndex() { return stepIndex == null ? OptionalInt.empty() : OptionalInt.of(stepIndex); }

    public OptionalInt beginIndex() { return beginIndex == null ? OptionalInt.empty() : OptionalInt.of(beginIndex); }

    /** Start the next run at schedule index {@code beginIndex} (diffusers' set_begin_index, e.g. for image-to-image). */
    public EulerAncestralDiscreteScheduler setBeginIndex(int beginIndex) {
        checkStepIndex(beginIndex);
        this.beginIndex = beginIndex;
        return this;
    }

    /** The largest sigma for linspace/trailing spacing, √(σmax² + 1) for leading (float32 tensor arithmetic). */
    @Override
    public float initNoiseSigma() {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : sigmas) max = Float.isNaN(s) || Float.isNaN(max) ? Float.NaN : Math.max(max, s);
        if (config.timestepSpacing() != TimestepSpacing.LEADING) return max;
        return (float) Math.sqrt(max * max + 1.0f);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps)}: the config's spacing (float32 timesteps), σ interpolated
     * linearly at them in float64, then 0 appended. Resets the step and begin indices.
     */
    @Override
    public EulerAncestralDiscreteScheduler setTimesteps(int numInferenceSteps) {
        if (numInferenceSteps < 1) throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + numInferenceSteps);
        float[] chosen = EulerDiscreteScheduler.spacedTimesteps(config.timestepSpacing(), config.numTrainTimesteps(),
                config.stepsOffset(), numInferenceSteps);
        double[] stepSigmas = NumpyMath.interpAtIndices(chosen, trainSigmas);
        float[] newSigmas = new float[stepSigmas.length + 1];
        for (int i = 0; i < stepSigmas.length; i++) newSigmas[i] = (float) stepSigmas[i];
        this.numInferenceSteps = numInferenceSteps;
        this.timesteps = chosen;
        this.sigmas = newSigmas;
        this.stepIndex = null;
        this.beginIndex = null;
        return this;
    }

    /** diffusers' {@code index_for_timestep}: the second match of a repeated timestep, else the only one. */
    public int indexForTimestep(float timestep) {
        return EulerDiscreteScheduler.indexForTimestep(timesteps, timestep);
    }

    /** diffusers' {@code _init_step_index}, run when no step index is set yet. */
    private int currentStepIndex(float timestep) {
        if (stepIndex == null) stepIndex = beginIndex != null ? beginIndex : indexForTimestep(timestep);
        return stepIndex;
    }

    /** √(σ² + 1) of step {@code stepIndex}, float32: the model input is divided by it. */
    public float scaleModelInputDivisor(int stepIndex) {
        float sigma = sigmas[checkStepIndex(stepIndex)];
        return (float) Math.sqrt(sigma * sigma + 1.0f);
    }

    /** The sample divided by √(σ² + 1) of step {@code stepIndex}; sets the step index to it. */
    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) {
        float[] scaled = divide(sample, scaleModelInputDivisor(stepIndex));
        this.stepIndex = stepIndex;
        this.scaleInputCalled = true;
        return scaled;
    }

    /** diffusers' {@code scale_model_input(sample, timestep)}: initialises the step index from the timestep if unset. */
    public float[] scaleModelInputAtTimestep(float[] sample, float timestep) {
        float[] scaled = divide(sample, scaleModelInputDivisor(currentStepIndex(timestep)));
        this.scaleInputCalled = true;
        return scaled;
    }

    private static float[] divide(float[] sample, float divisor) {
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] / divisor;
        return out;
    }

    /** The noise scale σ_up of the step at {@code stepIndex}, float32 as diffusers computes it. */
    public float sigmaUp(int stepIndex) {
        checkStepIndex(stepIndex);
        float from = sigmas[stepIndex], to = sigmas[stepIndex + 1];
        float fromSquared = from * from, toSquared = to * to;
        return (float) Math.sqrt(toSquared * (fromSquared - toSquared) / fromSquared);
    }

    /** The deterministic target σ_down = √(σ_next² − σ_up²) of the step at {@code stepIndex}, float32. */
    public float sigmaDown(int stepIndex) {
        float up = sigmaUp(stepIndex);
        float to = sigmas[stepIndex + 1];
        return (float) Math.sqrt(to * to - up * up);
    }

    /** {@code step(model_output, timesteps[stepIndex], sample, generator).prev_sample}; then the step index is stepIndex + 1. */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        return stepWithPrediction(modelOutput, stepIndex, sample, generator).prevSample();
    }

    /** {@link #step(float[], int, float[], TorchGenerator)} with diffusers' pred_original_sample. */
    public EulerStepResult stepWithPrediction(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        return stepAt(checkStepIndex(stepIndex), modelOutput, sample, generator);
    }

    /**
     * diffusers' {@code step(model_output, timestep, sample, generator)}: the step index comes from the timestep
     * (or the begin index) on the first call and advances by one per call.
     */
    public EulerStepResult stepAtTimestep(float[] modelOutput, float timestep, float[] sample, TorchGenerator generator) {
        if (!scaleInputCalled) LOG.log(System.Logger.Level.WARNING, "The `scale_model_input` function should be called"
                + " before `step` to ensure correct denoising.");
        return stepAt(checkStepIndex(currentStepIndex(timestep)), modelOutput, sample, generator);
    }

    /** One ancestral step in float32, operation by operation as diffusers; advances the step index. */
    private EulerStepResult stepAt(int index, float[] modelOutput, float[] sample, TorchGenerator generator) {
        int n = sample.length;
        if (modelOutput.length != n) throw new IllegalArgumentException("step: model output has " + modelOutput.length
                + " values but the sample has " + n);
        float sigma = sigmas[index];
        float[] x0 = new float[n];
        switch (config.predictionType()) {
            case EPSILON -> {
                for (int i = 0; i < n; i++) x0[i] = sample[i] - sigma * modelOutput[i];
            }
            case V_PREDICTION -> {
                float sigmaSquaredPlusOne = sigma * sigma + 1.0f;
                float cOut = -sigma / (float) Math.sqrt(sigmaSquaredPlusOne);
                for (int i = 0; i < n; i++) x0[i] = modelOutput[i] * cOut + sample[i] / sigmaSquaredPlusOne;
            }
            case SAMPLE -> throw new UnsupportedOperationException("EulerAncestralDiscreteScheduler"
                    + " (prediction_type 'sample'): prediction_type not implemented yet: sample");
        }
        if (generator == null) throw new IllegalArgumentException("EulerAncestralDiscreteScheduler.step draws noise"
                + " on every step: pass a TorchGenerator");
        float sigmaUp = sigmaUp(index);
        float dt = sigmaDown(index) - sigma;
        float[] noise = generator.randn(n);
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) {
            float derivative = (sample[i] - x0[i]) / sigma;
            prev[i] = (sample[i] + derivative * dt) + noise[i] * sigmaUp;
        }
        this.stepIndex = index + 1;
        return new EulerStepResult(prev, x0);
    }

    /** diffusers locates the first step with index_for_timestep. */
    @Override
    public boolean locatesFirstStepByTimestep() { return true; }

    /** The update on the device ({@link EulerStepGraph}): σ_up-scaled noise drawn on every step, as diffusers. */
    @Override
    public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
        return EulerStepGraph.ancestral(g, this, sampleShape);
    }

    /**
     * diffusers' {@code add_noise}: original + noise·σ at the timestep's index (the step or begin index once
     * set_begin_index has been called, as in diffusers).
     */
    public float[] addNoise(float[] originalSamples, float[] noise, float timestep) {
        if (originalSamples.length != noise.length) throw new IllegalArgumentException("addNoise: "
                + originalSamples.length + " samples vs " + noise.length + " noise values");
        int index = beginIndex == null ? indexForTimestep(timestep) : stepIndex != null ? stepIndex : beginIndex;
        float sigma = sigmas[index];
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = originalSamples[i] + noise[i] * sigma;
        return out;
    }

    /** A step index has a σ and a following σ. */
    private int checkStepIndex(int index) {
        if (index < 0 || index + 1 >= sigmas.length) throw new IllegalArgumentException("step index " + index
                + " is outside 0.." + (sigmas.length - 2) + " (" + (sigmas.length - 1) + " timesteps)");
        return index;
    }

    @Override
    public String toString() { return "EulerAncestralDiscreteScheduler" + config.toJson(); }
}
