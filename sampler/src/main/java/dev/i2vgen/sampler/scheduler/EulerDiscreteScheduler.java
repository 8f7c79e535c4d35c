package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.OptionalInt;

/**
 * diffusers' EulerDiscreteScheduler on float arrays, with every config option. It keeps diffusers' dtypes: the
 * training schedule and every step are torch float32 operations, rounded after each one; set_timesteps computes
 * in numpy (float64, or float32 where diffusers' arrays are) and stores float32 sigmas and timesteps.
 *
 * <p>Usage: {@code setTimesteps(n)}; then per step {@code i}: give the model {@code scaleModelInput(x)} (or multiply by
 * {@link #scaleModelInputFactor(int)}) at timestep {@code timesteps()[i]}, and call {@link #step}. For a device,
 * {@link #coefficients(int, EulerChurn)} gives the same update as {@code a·x + b·model + c·noise}. A sampling loop
 * written against {@link Scheduler} takes {@link #asScheduler()}.
 */
public final class EulerDiscreteScheduler {
    private final EulerDiscreteConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    /** √((1 − ᾱ)/ᾱ) per training timestep (ascending in t) and its float32 log, as set_timesteps recomputes them. */
    private final float[] trainSigmas;
    private final float[] logTrainSigmas;

    private float[] sigmas;
    private float[] timesteps;
    private int numInferenceSteps; // 0 until setTimesteps
    private Integer stepIndex;
    private Integer beginIndex;

    public EulerDiscreteScheduler(EulerDiscreteConfig config) {
        this.config = config;
        TrainingSchedule training = TrainingSchedule.of(config.numTrainTimesteps(), config.betaStart(),
                config.betaEnd(), config.betaSchedule(), config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.betas = training.betas();
        this.alphasCumprod = training.alphasCumprod();
        int n = alphasCumprod.length;
        this.trainSigmas = training.sigmas();
        this.logTrainSigmas = training.logSigmas();
        // before setTimesteps: every training step, σ descending, then 0
        this.sigmas = new float[n + 1];
        for (int i = 0; i < n; i++) sigmas[i] = trainSigmas[n - 1 - i];
        this.timesteps = continuousTimesteps() ? edmNoiseLevels(sigmas, n) : new float[n];
        if (!continuousTimesteps()) for (int i = 0; i < n; i++) timesteps[i] = n - 1 - i;
    }

    public EulerDiscreteConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    /** ᾱ per training timestep (the last one 2⁻²⁴ with rescale_betas_zero_snr). */
    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** The schedule's sigmas, float32, with the final sigma appended (one more than the timesteps, usually). */
    public float[] sigmas() { return sigmas.clone(); }

    /** What the model receives per step: training timesteps (discrete) or ¼·ln σ (continuous with v_prediction). */
    public float[] timesteps() { return timesteps.clone(); }

    /** 0 until {@link #setTimesteps} has run. */
    public int numInferenceSteps() { return numInferenceSteps; }

    /** Euler is a first-order method: one model evaluation per step. */
    public int order() { return 1; }

    /** The index of the next step's σ; empty until the first {@code scaleModelInput}/{@code step}. */
    public OptionalInt stepIndex() { return stepIndex == null ? OptionalInt.empty() : OptionalInt.of(stepIndex); }

    public OptionalInt beginIndex() { return beginIndex == null ? OptionalInt.empty() : OptionalInt.of(beginIndex); }

    /** Start the next run at schedule index {@code beginIndex} (diffusers' set_begin_index, e.g. for image-to-image). */
    public EulerDiscreteScheduler setBeginIndex(int beginIndex) {
        if (beginIndex < 0 || beginIndex >= sigmas.length - 1) throw new IllegalArgumentException("begin_index "
                + beginIndex + " is outside 0.." + (sigmas.length - 2));
        this.beginIndex = beginIndex;
        return this;
    }

    /**
     * Standard deviation of the initial noise: the largest sigma for linspace/trailing spacing, √(σmax² + 1) for
     * leading (float32, as diffusers' tensor arithmetic).
     */
    public float initNoiseSigma() {
        float max = Float.NEGATIVE_INFINITY;
        for (float s : sigmas) max = Float.isNaN(s) || Float.isNaN(max) ? Float.NaN : Math.max(max, s);
        if (config.timestepSpacing() != TimestepSpacing.LEADING) return max;
        return (float) Math.sqrt(max * max + 1.0f);
    }

    /** {@code set_timesteps(num_inference_steps)}. */
    public EulerDiscreteScheduler setTimesteps(int numInferenceSteps) {
        return setTimesteps(numInferenceSteps, null, null);
    }

    /** {@code set_timesteps(sigmas=...)}: these sigmas, the final one included; timesteps follow from them. */
    public EulerDiscreteScheduler setCustomSigmas(double... sigmas) {
        return setTimesteps(null, null, sigmas);
    }

    /** {@code set_timesteps(timesteps=...)}: these timesteps, sigmas interpolated at them. */
    public EulerDiscreteScheduler setCustomTimesteps(double... timesteps) {
        return setTimesteps(null, timesteps, null);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps, timesteps=, sigmas=)}: exactly one of the three, with
     * diffusers' errors. Resets the step and begin indices.
     */
    public EulerDiscreteScheduler setTimesteps(Integer numInferenceSteps, double[] customTimesteps, double[] customSigmas) {
        checkSetTimestepsArguments(numInferenceSteps, customTimesteps, customSigmas);
        int n = numInferenceSteps != null ? numInferenceSteps
                : customTimesteps != null ? customTimesteps.length : customSigmas.length - 1;
        if (numInferenceSteps != null && n < 1) throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + n);
        if (customSigmas != null && customSigmas.length < 1) throw new IllegalArgumentException("sigmas must not be empty");

        float[] newSigmas;
        double[] newTimesteps;
        if (customSigmas != null) {
            newSigmas = new float[customSigmas.length];
            for (int i = 0; i < newSigmas.length; i++) newSigmas[i] = (float) customSigmas[i];
            newTimesteps = new double[newSigmas.length - 1];
            for (int i = 0; i < newTimesteps.length; i++) {
                newTimesteps[i] = SigmaSchedules.sigmaToT(newSigmas[i], true, logTrainSigmas);
            }
        } else {
            float[] chosen = customTimesteps != null ? toFloat32(customTimesteps)
                    : spacedTimesteps(config.timestepSpacing(), config.numTrainTimesteps(), config.stepsOffset(), n);
            double[] stepSigmas = switch (config.interpolationType()) {
                case LINEAR -> NumpyMath.interpAtIndices(chosen, trainSigmas);
                case LOG_LINEAR -> logLinearSigmas(n);
            };
            newTimesteps = toDouble(chosen);
            if (config.useKarrasSigmas() || config.useExponentialSigmas() || config.useBetaSigmas()) {
                stepSigmas = convertSigmas(stepSigmas, n);
                newTimesteps = new double[stepSigmas.length];
                for (int i = 0; i < stepSigmas.length; i++) {
                    newTimesteps[i] = SigmaSchedules.sigmaToT(stepSigmas[i], false, logTrainSigmas);
                }
            }
            double last = config.finalSigmasType() == FinalSigmasType.SIGMA_MIN ? trainSigmas[0] : 0.0;
            newSigmas = new float[stepSigmas.length + 1];
            for (int i = 0; i < stepSigmas.length; i++) newSigmas[i] = (float) stepSigmas[i];
            newSigmas[stepSigmas.length] = (float) last;
        }
        this.numInferenceSteps = n;
        this.sigmas = newSigmas;
        this.timesteps = continuousTimesteps() ? edmNoiseLevels(newSigmas, newSigmas.length - 1) : toFloat32(newTimesteps);
        this.stepIndex = null;
        this.beginIndex = null;
        return this;
    }

    private void checkSetTimestepsArguments(Integer steps, double[] customTimesteps, double[] customSigmas) {
        if (customTimesteps != null && customSigmas != null) throw new IllegalArgumentException(
                "Only one of `timesteps` or `sigmas` should be set.");
        if (steps == null && customTimesteps == null && customSigmas == null) throw new IllegalArgumentException(
                "Must pass exactly one of `num_inference_steps` or `timesteps` or `sigmas.");
        if (steps != null && (customTimesteps != null || customSigmas != null)) throw new IllegalArgumentException(
                "Can only pass one of `num_inference_steps` or `timesteps` or `sigmas`.");
        if (customTimesteps != null && config.useKarrasSigmas()) throw new IllegalArgumentException(
                "Cannot set `timesteps` with `config.use_karras_sigmas = True`.");
        if (customTimesteps != null && config.useExponentialSigmas()) throw new IllegalArgumentException(
                "Cannot set `timesteps` with `config.use_exponential_sigmas = True`.");
        if (customTimesteps != null && config.useBetaSigmas()) throw new IllegalArgumentException(
                "Cannot set `timesteps` with `config.use_beta_sigmas = True`.");
        if (customTimesteps != null && continuousTimesteps()) throw new IllegalArgumentException(
                "Cannot set `timesteps` with `config.timestep_type = 'continuous'` and `config.prediction_type = 'v_prediction'`.");
    }

    /**
     * The n training timesteps of a spacing, float32, as diffusers' Euler-family schedulers compute them (trailing may
     * give n+1: numpy's arange length). EulerAncestralDiscreteScheduler shares it.
     */
    static float[] spacedTimesteps(TimestepSpacing spacing, int trainSteps, int stepsOffset, int n) {
        switch (spacing) {
            case LINSPACE -> {
                double[] up = NumpyMath.linspace(0, trainSteps - 1, n);
                float[] t = new float[n];
                for (int i = 0; i < n; i++) t[i] = (float) up[n - 1 - i];
                return t;
            }
            case LEADING -> {
                int ratio = trainSteps / n;
                float[] t = new float[n];
                for (int i = 0; i < n; i++) t[i] = (float) ((long) (n - 1 - i) * ratio) + (float) stepsOffset;
                return t;
            }
            case TRAILING -> {
                double[] down = NumpyMath.arange(trainSteps, 0, -((double) trainSteps / n));
                float[] t = new float[down.length];
                for (int i = 0; i < t.length; i++) t[i] = (float) Math.rint(down[i]) - 1.0f;
                return t;
            }
            default -> throw new IllegalStateException("unhandled timestep spacing " + spacing);
        }
    }

    /** exp(torch.linspace(ln σ_max, ln σ_min, n + 1)) in float32 (n + 1 sigmas: diffusers' log_linear). */
    private double[] logLinearSigmas(int n) {
        float[] logs = NoiseSchedule.torchLinspace(logTrainSigmas[logTrainSigmas.length - 1], logTrainSigmas[0], n + 1);
        double[] out = new double[logs.length];
        for (int i = 0; i < logs.length; i++) out[i] = (float) Math.exp(logs[i]);
        return out;
    }

    /** Karras / exponential / beta sigmas over [sigma_min, sigma_max] (the config's, else the interpolated ends). */
    private double[] convertSigmas(double[] interpolated, int n) {
        double min = config.sigmaMin() != null ? config.sigmaMin() : interpolated[interpolated.length - 1];
        double max = config.sigmaMax() != null ? config.sigmaMax() : interpolated[0];
        if (config.useKarrasSigmas()) return SigmaSchedules.karras(min, max, n);
        if (config.useExponentialSigmas()) return SigmaSchedules.exponential(min, max, n);
        return SigmaSchedules.beta(min, max, n);
    }

    private boolean continuousTimesteps() {
        return config.timestepType() == TimestepType.CONTINUOUS && config.predictionType() == PredictionType.V_PREDICTION;
    }

    /** EDM's c_noise = 0.25·ln σ of the first {@code count} sigmas (torch float32 log). */
    private static float[] edmNoiseLevels(float[] sigmas, int count) {
        float[] t = new float[count];
        for (int i = 0; i < count; i++) t[i] = 0.25f * NumpyMath.logFloat32(sigmas[i]);
        return t;
    }

    /**
     * diffusers' {@code index_for_timestep}: where {@code timestep} is in the schedule; the second match if it occurs
     * more than once (so that a run starting mid-schedule does not skip a sigma).
     */
    public int indexForTimestep(float timestep) {
        return indexForTimestep(timesteps, timestep);
    }

    /** {@link #indexForTimestep(float)} in any schedule (the Euler-ancestral and LCM ports share diffusers' rule). */
    static int indexForTimestep(float[] timesteps, float timestep) {
        int first = -1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == timestep) {
                if (first >= 0) return i;
                first = i;
            }
        }
        if (first < 0) throw new IllegalArgumentException("timestep " + timestep + " is not in the schedule");
        return first;
    }

    /** diffusers' {@code _init_step_index}: the begin index if set, else where the timestep is. */
    private int currentStepIndex(float timestep) {
        if (stepIndex == null) stepIndex = beginIndex != null ? beginIndex : indexForTimestep(timestep);
        return stepIndex;
    }

    /** The step index, initialised as if diffusers had been called with the first timestep. */
    private int currentStepIndex() {
        if (stepIndex == null && beginIndex == null && timesteps.length == 0) throw new IllegalStateException(
                "the schedule has no steps");
        return currentStepIndex(stepIndex != null || beginIndex != null ? Float.NaN : timesteps[0]);
    }

    /** √(σ² + 1) of step {@code stepIndex}, float32: diffusers divides the model input by it. */
    public float scaleModelInputDivisor(int stepIndex) {
        float sigma = sigmas[checkStepIndex(stepIndex, 0)];
        return (float) Math.sqrt(sigma * sigma + 1.0f);
    }

    /** 1/√(σ² + 1) in float32 (EDM's c_in), for a device multiply; {@link #scaleModelInput} divides exactly. */
    public float scaleModelInputFactor(int stepIndex) {
        return 1.0f / scaleModelInputDivisor(stepIndex);
    }

    /** diffusers' {@code scale_model_input(sample, timestep)}: sample / √(σ² + 1) at the current step. */
    public float[] scaleModelInput(float[] sample, float timestep) {
        return divide(sample, scaleModelInputDivisor(currentStepIndex(timestep)));
    }

    /** {@link #scaleModelInput(float[], float)} at the current step (the first timestep's, when none has run). */
    public float[] scaleModelInput(float[] sample) {
        return divide(sample, scaleModelInputDivisor(currentStepIndex()));
    }

    private static float[] divide(float[] sample, float divisor) {
        float[] out = new float[sample.length];
        for (int i = 0; i < out.length; i++) out[i] = sample[i] / divisor;
        return out;
    }

    /** A deterministic step (no churn) at the current step index. */
    public EulerStepResult step(float[] modelOutput, float[] sample) {
        return step(modelOutput, sample, EulerChurn.NONE, null);
    }

    /** {@link #step(float[], float, float[], EulerChurn, TorchGenerator)} at the current step index. */
    public EulerStepResult step(float[] modelOutput, float[] sample, EulerChurn churn, TorchGenerator generator) {
        return step(modelOutput, sample, currentStepIndex(), churn, generator);
    }

    /**
     * diffusers' {@code step(model_output, timestep, sample, s_churn, s_tmin, s_tmax, s_noise, generator)}: one Euler
     * step in float32, operation by operation; advances the step index (initialised from {@code timestep} on the
     * first call). Churn noise is {@code generator.randn(sample.length)}, drawn only when γ &gt; 0.
     */
    public EulerStepResult step(float[] modelOutput, float timestep, float[] sample, EulerChurn churn, TorchGenerator generator) {
        return step(modelOutput, sample, currentStepIndex(timestep), churn, generator);
    }

    private EulerStepResult step(float[] modelOutput, float[] sample, int index, EulerChurn churn, TorchGenerator generator) {
        checkStepIndex(index, 1);
        int n = sample.length;
        if (modelOutput.length != n) throw new IllegalArgumentException("step: model output has " + modelOutput.length
                + " values but the sample has " + n);
        float sigma = sigmas[index];
        double gamma = churn.gamma(sigma, sigmas.length);
        float sigmaHat = sigma * (float) (gamma + 1);
        float[] s = sample.clone();
        if (gamma > 0) {
            if (generator == null) throw new IllegalArgumentException("step: churn (γ = " + gamma + " at step " + index
                    + ") draws noise: pass a TorchGenerator");
            float[] noise = generator.randn(n);
            float sNoise = (float) churn.sNoise();
            float noiseScale = (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
            for (int i = 0; i < n; i++) s[i] = s[i] + (noise[i] * sNoise) * noiseScale;
        }
        float[] x0 = new float[n];
        switch (config.predictionType()) {
            case SAMPLE -> System.arraycopy(modelOutput, 0, x0, 0, n);
            case EPSILON -> {
                for (int i = 0; i < n; i++) x0[i] = s[i] - sigmaHat * modelOutput[i];
            }
            case V_PREDICTION -> {
                float sigmaSquaredPlusOne = sigma * sigma + 1.0f;
                float cOut = -sigma / (float) Math.sqrt(sigmaSquaredPlusOne);
                for (int i = 0; i < n; i++) x0[i] = modelOutput[i] * cOut + s[i] / sigmaSquaredPlusOne;
            }
        }
        float dt = sigmas[index + 1] - sigmaHat;
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) {
            float derivative = (s[i] - x0[i]) / sigmaHat;
            prev[i] = s[i] + derivative * dt;
        }
        this.stepIndex = index + 1;
        return new EulerStepResult(prev, x0);
    }

    /** The step at {@code stepIndex} as {@code a·sample + b·modelOutput + c·noise}; see {@link EulerStepCoefficients}. */
    public EulerStepCoefficients coefficients(int stepIndex, double sChurn, double sTmin, double sTmax, double sNoise) {
        return coefficients(stepIndex, new EulerChurn(sChurn, sTmin, sTmax, sNoise));
    }

    /** The step at {@code stepIndex} as {@code a·sample + b·modelOutput + c·noise}; does not move the step index. */
    public EulerStepCoefficients coefficients(int stepIndex, EulerChurn churn) {
        checkStepIndex(stepIndex, 1);
        float sigma = sigmas[stepIndex];
        float sigmaNext = sigmas[stepIndex + 1];
        double gamma = churn.gamma(sigma, sigmas.length);
        float sigmaHat = sigma * (float) (gamma + 1);
        double noiseScale = gamma > 0
                ? (double) (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma) * (float) churn.sNoise() : 0.0;
        double dt = sigmaNext - sigmaHat; // the float32 dt of the host step
        double dtOverSigmaHat = dt / sigmaHat;
        double a, b;
        switch (config.predictionType()) {
            case EPSILON -> {
                a = 1;
                b = dt;
            }
            case SAMPLE -> {
                a = 1 + dtOverSigmaHat;
                b = -dtOverSigmaHat;
            }
            case V_PREDICTION -> {
                double sigmaSquaredPlusOne = sigma * sigma + 1.0f;
                double cOut = -sigma / (float) Math.sqrt((float) sigmaSquaredPlusOne);
                a = 1 + (1 - 1 / sigmaSquaredPlusOne) * dtOverSigmaHat;
                b = -cOut * dtOverSigmaHat;
            }
            default -> throw new IllegalStateException("unhandled prediction type " + config.predictionType());
        }
        return new EulerStepCoefficients(stepIndex, sigma, sigmaHat, sigmaNext, (float) a, (float) b,
                (float) (a * noiseScale), gamma > 0);
    }

    /** diffusers' {@code add_noise}: original + noise·σ at the timestep's index (or the current/begin index). */
    public float[] addNoise(float[] originalSamples, float[] noise, float timestep) {
        if (originalSamples.length != noise.length) throw new IllegalArgumentException("addNoise: "
                + originalSamples.length + " samples vs " + noise.length + " noise values");
        int index = beginIndex == null ? indexForTimestep(timestep) : stepIndex != null ? stepIndex : beginIndex;
        float sigma = sigmas[index];
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = originalSamples[i] + noise[i] * sigma;
        return out;
    }

    /**
     * This scheduler as a {@link Scheduler}: a view that shares its state, stepping without churn
     * ({@link EulerChurn#NONE}) by step index. The class does not implement the interface itself because the
     * interface's {@code scaleModelInput(float[], int stepIndex)} would capture calls such as
     * {@code scaleModelInput(x, 999)} that pass an integral timestep to {@link #scaleModelInput(float[], float)}.
     */
    public Scheduler asScheduler() {
        return new SchedulerView();
    }

    /** The {@link Scheduler} view: indices address {@link #timesteps()}, and each call sets the step index as diffusers' loop would. */
    private final class SchedulerView implements Scheduler {
        @Override
        public String className() { return "EulerDiscreteScheduler"; }

        @Override
        public Scheduler setTimesteps(int numInferenceSteps) {
            EulerDiscreteScheduler.this.setTimesteps(numInferenceSteps);
            return this;
        }

        @Override
        public float[] timesteps() { return EulerDiscreteScheduler.this.timesteps(); }

        @Override
        public float initNoiseSigma() { return EulerDiscreteScheduler.this.initNoiseSigma(); }

        @Override
        public float[] scaleModelInput(float[] sample, int stepIndex) {
            float[] scaled = divide(sample, scaleModelInputDivisor(checkStepIndex(stepIndex, 1)));
            EulerDiscreteScheduler.this.stepIndex = stepIndex;
            return scaled;
        }

        @Override
        public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
            return EulerDiscreteScheduler.this.step(modelOutput, sample, stepIndex, EulerChurn.NONE, generator).prevSample();
        }

        /** diffusers locates the first step with index_for_timestep. */
        @Override
        public boolean locatesFirstStepByTimestep() { return true; }

        /** The update without churn (pipelines pass no s_churn), diffusers' float32 operations in an F32 graph. */
        @Override
        public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
            return EulerStepGraph.discrete(g, EulerDiscreteScheduler.this, EulerChurn.NONE, sampleShape);
        }

        @Override
        public String toString() { return "Scheduler view of EulerDiscreteScheduler" + config.toJson(); }
    }

    private int checkStepIndex(int index, int following) {
        if (index < 0 || index + following >= sigmas.length) throw new IllegalArgumentException("step index " + index
                + " is outside 0.." + (sigmas.length - 1 - following) + " (" + sigmas.length + " sigmas)");
        return index;
    }

    private static float[] toFloat32(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) values[i];
        return out;
    }

    private static double[] toDouble(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < out.length; i++) out[i] = values[i];
        return out;
    }
}
