package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * diffusers' DDPMScheduler on float arrays, with every config option: ancestral sampling of Ho et al. (2020),
 * x_{t−1} = c0·x0 + c1·x_t + (noise scaled by the variance type), where c0 = √ᾱ_prev·β_t/(1 − ᾱ_t) and
 * c1 = √α_t·(1 − ᾱ_prev)/(1 − ᾱ_t) are the posterior-mean coefficients of eq. 7. It reproduces diffusers' float32
 * tensor arithmetic operation by operation (scalars are float32 0-d tensors, like the scheduler's).
 *
 * <p>Through {@link Scheduler} the sample is one batch item ({@code [1, n]}): the model output of a learned variance
 * type then holds the n predicted values, then the n variance values. {@link #stepAtTimestep} takes diffusers'
 * timestep and the sample's shape (its first dimension is the batch of dynamic thresholding, its second the channels
 * a learned variance is split from). Noise ({@code randn(sample.length)}) is drawn on every step with t &gt; 0.
 * {@link #stepGraph} puts the same update on the device ({@link X0UpdateStepGraph}) except for dynamic thresholding
 * and the learned variance types.
 */
public final class DdpmScheduler implements Scheduler {
    private final DdpmConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;

    private int[] timesteps;
    private Integer numInferenceSteps;
    private boolean customTimesteps;

    public DdpmScheduler(DdpmConfig config) {
        this.config = config;
        this.betas = config.betaSchedule().betas(config.numTrainTimesteps(), config.betaStart(), config.betaEnd(),
                config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.alphasCumprod = NoiseSchedule.alphasCumprod(betas);
        // before setTimesteps: every training step, descending; previousTimestep is then t − 1
        this.timesteps = new int[config.numTrainTimesteps()];
        for (int i = 0; i < timesteps.length; i++) timesteps[i] = timesteps.length - 1 - i;
    }

    @Override
    public String className() { return "DDPMScheduler"; }

    public DdpmConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** The integer timesteps as float32 values (the model's timestep input). */
    @Override
    public float[] timesteps() { return TrainingSchedule.asFloats(timesteps); }

    /** The integer timesteps, in sampling order. */
    public int[] timestepValues() { return timesteps.clone(); }

    /** Empty until {@code setTimesteps(n)}; custom timesteps leave it as it was, as in diffusers. */
    public OptionalInt numInferenceSteps() {
        return numInferenceSteps == null ? OptionalInt.empty() : OptionalInt.of(numInferenceSteps);
    }

    public boolean customTimesteps() { return customTimesteps; }

    public int order() { return 1; }

    /** DDPM starts from standard normal noise. */
    @Override
    public float initNoiseSigma() { return 1.0f; }

    /** diffusers' {@code set_timesteps(num_inference_steps)}. */
    @Override
    public DdpmScheduler setTimesteps(int numInferenceSteps) {
        return setTimesteps(numInferenceSteps, null);
    }

    /** diffusers' {@code set_timesteps(timesteps=...)}: strictly descending, below num_train_timesteps. */
    public DdpmScheduler setCustomTimesteps(int... timesteps) {
        return setTimesteps(null, timesteps);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps, timesteps=)}: one of the two, with diffusers' errors
     * (an empty list, where diffusers fails on its first element, is refused too).
     */
    public DdpmScheduler setTimesteps(Integer numInferenceSteps, int[] customTimesteps) {
        int trainSteps = config.numTrainTimesteps();
        if (numInferenceSteps != null && customTimesteps != null) throw new IllegalArgumentException(
                "Can only pass one of `num_inference_steps` or `custom_timesteps`.");
        if (customTimesteps != null) {
            checkCustomTimesteps(customTimesteps, trainSteps);
            this.timesteps = customTimesteps.clone();
            this.customTimesteps = true;
            return this;
        }
        if (numInferenceSteps == null) throw new IllegalArgumentException("DDPMScheduler.set_timesteps: pass"
                + " num_inference_steps or custom timesteps");
        int n = numInferenceSteps;
        if (n > trainSteps) throw new IllegalArgumentException("`num_inference_steps`: " + n + " cannot be larger than"
                + " `self.config.train_timesteps`: " + trainSteps + " as the unet model trained with this scheduler can"
                + " only handle maximal " + trainSteps + " timesteps.");
        if (n < 1) throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + n);
        this.numInferenceSteps = n;
        this.customTimesteps = false;
        this.timesteps = spacedTimesteps(config.timestepSpacing(), trainSteps, config.stepsOffset(), n);
        return this;
    }

    /** diffusers' checks of custom timesteps (DDPM and LCM share them), plus torch's index range. */
    static void checkCustomTimesteps(int[] timesteps, int trainSteps) {
        if (timesteps.length == 0) throw new IllegalArgumentException("custom timesteps must not be empty");
        for (int i = 1; i < timesteps.length; i++) {
            if (timesteps[i] >= timesteps[i - 1]) throw new IllegalArgumentException(
                    "`custom_timesteps` must be in descending order.");
        }
        if (timesteps[0] >= trainSteps) throw new IllegalArgumentException(
                "`timesteps` must start before `self.config.train_timesteps`: " + trainSteps + ".");
        if (timesteps[timesteps.length - 1] < -trainSteps) throw new IllegalArgumentException("custom timesteps must"
                + " be ≥ " + (-trainSteps) + " (negative ones index ᾱ from the end, as in torch), got "
                + Arrays.toString(timesteps));
    }

    /** The n integer timesteps of a spacing (numpy float64, rounded half to even), descending. */
    static int[] spacedTimesteps(TimestepSpacing spacing, int trainSteps, int stepsOffset, int n) {
        return switch (spacing) {
            case LINSPACE -> {
                double[] up = NumpyMath.linspace(0, trainSteps - 1, n);
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (int) Math.rint(up[n - 1 - i]);
                yield t;
            }
            case LEADING -> {
                int ratio = trainSteps / n;
                int[] t = new int[n];
                for (int i = 0; i < n; i++) t[i] = (n - 1 - i) * ratio + stepsOffset;
                yield t;
            }
            case TRAILING -> {
                double[] down = NumpyMath.arange(trainSteps, 0, -((double) trainSteps / n));
                int[] t = new int[down.length];
                for (int i = 0; i < t.length; i++) t[i] = (int) Math.rint(down[i]) - 1;
                yield t;
            }
        };
    }

    /**
     * diffusers' {@code previous_timestep}: the next entry of the schedule (−1 after the last), or t − 1 before
     * set_timesteps.
     */
    public int previousTimestep(int timestep) {
        return previousTimestep(timesteps, customTimesteps || numInferenceSteps != null, timestep);
    }

    /** {@link #previousTimestep(int)} in a schedule ({@code scheduled}: set_timesteps has run); LCM shares it. */
    static int previousTimestep(int[] timesteps, boolean scheduled, int timestep) {
        if (!scheduled) return timestep - 1;
        for (int i = 0; i < timesteps.length; i++) {
            if (timesteps[i] == timestep) return i + 1 < timesteps.length ? timesteps[i + 1] : -1;
        }
        throw new IllegalArgumentException("timestep " + timestep + " is not in the schedule " + Arrays.toString(timesteps));
    }

    private float alphaCumprodPrev(int timestep) {
        int prev = previousTimestep(timestep);
        return prev >= 0 ? alphasCumprod[prev] : 1.0f;
    }

    /** β_t = 1 − ᾱ_t/ᾱ_prev of the step from {@code timestep}, float32. */
    public float currentBeta(int timestep) {
        return 1.0f - alphaAt(alphasCumprod, timestep) / alphaCumprodPrev(timestep);
    }

    /**
     * The posterior variance β̃_t = (1 − ᾱ_prev)/(1 − ᾱ_t)·β_t, clamped at 10⁻²⁰ (float32) as diffusers' _get_variance.
     */
    public float posteriorVariance(int timestep) {
        float aT = alphaAt(alphasCumprod, timestep);
        float aPrev = alphaCumprodPrev(timestep);
        float variance = (1.0f - aPrev) / (1.0f - aT) * currentBeta(timestep);
        return Float.isNaN(variance) ? variance : Math.max(variance, (float) 1e-20);
    }

    /** DDPM does not scale the model input: a copy of the sample (the index is checked). */
    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) {
        checkStepIndex(stepIndex);
        return sample.clone();
    }

    /** {@code step(model_output, timesteps[stepIndex], sample, generator).prev_sample}, the sample one batch item. */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        return stepWithPrediction(modelOutput, stepIndex, sample, generator).prevSample();
    }

    /**
     * {@link #stepAtTimestep} at {@code timesteps[stepIndex]}: dynamic thresholding per batch item, a learned variance
     * split from the model output's channels; η is not a DDPM parameter.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta,
                        TorchGenerator generator) {
        return stepAtTimestep(modelOutput, timesteps[checkStepIndex(stepIndex)], sample, sampleShape, generator).prevSample();
    }

    /**
     * False for dynamic thresholding (a quantile per batch item) and for the learned variance types (the model output
     * has twice the sample's channels, and the noise scale varies per element): those step on the host.
     */
    @Override
    public boolean stepsOnDevice() { return !config.thresholding() && !config.varianceType().learned(); }

    /**
     * The update of the current schedule as graph tasks ({@link X0UpdateStepGraph}, inputs "ddpm.…"); η is not a DDPM
     * parameter. The update after x0 is the posterior mean plus the step's noise, prev = c0·x0 + c1·x + σ·noise, with
     * the float32 c0, c1 of {@link #posteriorMeanCoefficients} and σ of the fixed variance type, noise on t &gt; 0 only.
     *
     * @throws IllegalArgumentException where the shape is not [batch, channels, …]
     */
    @Override
    public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
        if (config.thresholding()) throw new UnsupportedOperationException("DDPMScheduler with thresholding=true has no"
                + " step graph: dynamic thresholding takes a quantile per batch item; step on the host (stepsOnDevice() is false)");
        if (config.varianceType().learned()) throw new UnsupportedOperationException("DDPMScheduler with variance_type='"
                + config.varianceType().configName() + "' has no step graph: the variance is split from the model output's"
                + " channels, which a model output shaped like the sample lacks; step on the host (stepsOnDevice() is false)");
        List<X0UpdateStepGraph.Step> steps = new ArrayList<>();
        for (int t : timesteps) {
            float[] mean = posteriorMeanCoefficients(t);
            boolean draws = drawsNoise(t);
            steps.add(new X0UpdateStepGraph.Step(t, alphaAt(alphasCumprod, t), mean[0], mean[1], draws,
                    draws ? fixedNoiseStd(t) : 0f));
        }
        return new X0UpdateStepGraph(g, "ddpm", className(), config.predictionType(), config.clipSample(),
                config.clipSampleRange(), steps, sampleShape);
    }

    /** {@link #step(float[], int, float[], TorchGenerator)} with diffusers' pred_original_sample. */
    public DdpmOutput stepWithPrediction(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        return stepAtTimestep(modelOutput, timesteps[checkStepIndex(stepIndex)], sample, new int[]{1, sample.length}, generator);
    }

    /**
     * diffusers' {@code DDPMScheduler.step(model_output, timestep, sample, generator)} with every option.
     *
     * @param modelOutput the model's prediction; for a learned variance type it may have twice the sample's channels
     *                    (dimension 1 of {@code sampleShape}), the second half being the variance
     * @param sampleShape the sample's shape, at least [batch, channels] (diffusers reads both)
     * @param generator   source of the step noise; may be null only where t = 0 (no noise)
     */
    public DdpmOutput stepAtTimestep(float[] modelOutput, int timestep, float[] sample, int[] sampleShape,
                                     TorchGenerator generator) {
        int n = sample.length;
        checkShape(sampleShape, n);
        float aT = alphaAt(alphasCumprod, timestep);
        float[] prediction = modelOutput;
        float[] predictedVariance = null;
        if (config.varianceType().learned() && modelOutput.length == 2 * n) {
            // torch.split along dim 1: per batch item, the first half of the channels, then the second
            int batch = sampleShape[0], item = n / batch;
            prediction = new float[n];
            predictedVariance = new float[n];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(modelOutput, 2 * b * item, prediction, b * item, item);
                System.arraycopy(modelOutput, 2 * b * item + item, predictedVariance, b * item, item);
            }
        } else if (modelOutput.length != n) {
            throw new IllegalArgumentException("step: model output has " + modelOutput.length + " values but the sample"
                    + " has " + n + (config.varianceType().learned() ? " (or twice that with a predicted variance)" : ""));
        }

        // 1.–3. x0 from the model output, kept in range
        float[] x0 = predictOriginalSample(config.predictionType(), prediction, sample, aT, 1.0f - aT);
        clipOrThreshold(x0, sampleShape[0], config.thresholding(), config.dynamicThresholdingRatio(),
                config.sampleMaxValue(), config.clipSample(), config.clipSampleRange());

        // 4.–5. the posterior mean (Ho et al. eq. 7)
        float[] mean = posteriorMeanCoefficients(timestep);
        float x0Coefficient = mean[0], sampleCoefficient = mean[1];
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) prev[i] = x0Coefficient * x0[i] + sampleCoefficient * sample[i];

        // 6. noise
        if (drawsNoise(timestep)) {
            if (generator == null) throw new IllegalArgumentException("DDPMScheduler.step at t=" + timestep
                    + " draws noise: pass a TorchGenerator");
            float[] noise = generator.randn(n);
            float[] scaledNoise = scaledNoise(timestep, predictedVariance, noise);
            for (int i = 0; i < n; i++) prev[i] = prev[i] + scaledNoise[i];
        }
        return new DdpmOutput(prev, x0);
    }

    /**
     * The posterior-mean coefficients of the step from {@code timestep}, float32 as diffusers' step:
     * {x0's √ᾱ_prev·β_t/(1 − ᾱ_t), the sample's √α_t·(1 − ᾱ_prev)/(1 − ᾱ_t)}.
     */
    float[] posteriorMeanCoefficients(int timestep) {
        float aT = alphaAt(alphasCumprod, timestep);
        float aPrev = alphaCumprodPrev(timestep);
        float bT = 1.0f - aT;
        float bPrev = 1.0f - aPrev;
        float currentAlpha = aT / aPrev;
        float currentBeta = 1.0f - currentAlpha;
        return new float[]{((float) Math.sqrt(aPrev) * currentBeta) / bT, (float) Math.sqrt(currentAlpha) * bPrev / bT};
    }

    /** Whether the step from {@code timestep} adds noise (diffusers: only for t &gt; 0). */
    static boolean drawsNoise(int timestep) { return timestep > 0; }

    /**
     * The standard deviation of the step's noise for a fixed variance type, float32 as diffusers' _get_variance and
     * step compute it (NaN for fixed_large_log wherever β_t &lt; 1, as there).
     */
    float fixedNoiseStd(int timestep) {
        DdpmVarianceType type = config.varianceType();
        return switch (type) {
            case FIXED_SMALL -> (float) Math.sqrt(posteriorVariance(timestep));
            case FIXED_SMALL_LOG -> (float) Math.exp(0.5f * NumpyMath.logFloat32(posteriorVariance(timestep)));
            case FIXED_LARGE -> (float) Math.sqrt(currentBeta(timestep));
            // diffusers' "variance" here is log β < 0, and step() takes its square root
            case FIXED_LARGE_LOG -> (float) Math.sqrt(NumpyMath.logFloat32(currentBeta(timestep)));
            case LEARNED, LEARNED_RANGE -> throw new IllegalStateException("variance_type '" + type.configName()
                    + "' takes its variance from the model output");
        };
    }

    /** The noise times the step's standard deviation, by variance type (diffusers' _get_variance and step). */
    private float[] scaledNoise(int timestep, float[] predictedVariance, float[] noise) {
        DdpmVarianceType type = config.varianceType();
        if (type.learned() && predictedVariance == null) throw new IllegalArgumentException("DDPMScheduler (variance_type"
                + " '" + type.configName() + "'): the step at t=" + timestep + " needs the model's predicted variance: give"
                + " a model output with twice the sample's channels");
        float[] out = new float[noise.length];
        if (type.learned()) {
            float variance = posteriorVariance(timestep), currentBeta = currentBeta(timestep);
            float minLog = NumpyMath.logFloat32(variance), maxLog = NumpyMath.logFloat32(currentBeta);
            for (int i = 0; i < out.length; i++) {
                float std;
                if (type == DdpmVarianceType.LEARNED) {
                    std = (float) Math.sqrt(predictedVariance[i]);
                } else {
                    float fraction = (predictedVariance[i] + 1.0f) / 2.0f;
                    float logVariance = fraction * maxLog + (1.0f - fraction) * minLog;
                    std = (float) Math.exp(0.5f * logVariance);
                }
                out[i] = std * noise[i];
            }
            return out;
        }
        float std = fixedNoiseStd(timestep);
        for (int i = 0; i < out.length; i++) out[i] = std * noise[i];
        return out;
    }

    /** Forward diffusion q(x_t | x0): √ᾱ_t·x0 + √(1 − ᾱ_t)·ε (diffusers' add_noise). */
    public float[] addNoise(float[] originalSamples, float[] noise, int timestep) {
        return addNoise(alphasCumprod, originalSamples, noise, timestep);
    }

    /** The v-prediction target √ᾱ_t·ε − √(1 − ᾱ_t)·x0 (diffusers' get_velocity). */
    public float[] velocity(float[] sample, float[] noise, int timestep) {
        return velocity(alphasCumprod, sample, noise, timestep);
    }

    // ---- shared with LCMScheduler, whose step and forward process diffusers copies from DDPM ----

    /** x0 from the model output (float32: √ of the 0-d ᾱ_t and 1 − ᾱ_t, then element-wise). */
    static float[] predictOriginalSample(PredictionType type, float[] modelOutput, float[] sample, float alphaProd,
                                         float betaProd) {
        int n = sample.length;
        float sqrtAlpha = (float) Math.sqrt(alphaProd), sqrtBeta = (float) Math.sqrt(betaProd);
        float[] x0 = new float[n];
        switch (type) {
            case EPSILON -> {
                for (int i = 0; i < n; i++) x0[i] = (sample[i] - sqrtBeta * modelOutput[i]) / sqrtAlpha;
            }
            case SAMPLE -> System.arraycopy(modelOutput, 0, x0, 0, n);
            case V_PREDICTION -> {
                for (int i = 0; i < n; i++) x0[i] = sqrtAlpha * sample[i] - sqrtBeta * modelOutput[i];
            }
        }
        return x0;
    }

    /** Dynamic thresholding per batch item, else clamping to ±range if asked (diffusers' order), in place. */
    static void clipOrThreshold(float[] x0, int batch, boolean thresholding, double ratio, double maxValue,
                                boolean clip, double range) {
        if (thresholding) {
            DynamicThresholding.apply(x0, batch, ratio, maxValue);
        } else if (clip) {
            float r = (float) range;
            for (int i = 0; i < x0.length; i++) x0[i] = Math.min(Math.max(x0[i], -r), r);
        }
    }

    static float[] addNoise(float[] alphasCumprod, float[] originalSamples, float[] noise, int timestep) {
        checkSameLength(originalSamples, noise, "addNoise");
        float a = alphaAt(alphasCumprod, timestep);
        float sqrtAlpha = (float) Math.sqrt(a), sqrtOneMinusAlpha = (float) Math.sqrt(1.0f - a);
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = sqrtAlpha * originalSamples[i] + sqrtOneMinusAlpha * noise[i];
        return out;
    }

    static float[] velocity(float[] alphasCumprod, float[] sample, float[] noise, int timestep) {
        checkSameLength(sample, noise, "velocity");
        float a = alphaAt(alphasCumprod, timestep);
        float sqrtAlpha = (float) Math.sqrt(a), sqrtOneMinusAlpha = (float) Math.sqrt(1.0f - a);
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = sqrtAlpha * noise[i] - sqrtOneMinusAlpha * sample[i];
        return out;
    }

    /** diffusers reads dimensions 0 and 1 of the sample: it needs at least [batch, channels]. */
    static void checkShape(int[] shape, int length) {
        long numel = 1;
        for (int d : shape) numel *= d;
        if (shape.length < 2 || numel != length || shape[0] < 1) throw new IllegalArgumentException("step: sample shape "
                + Arrays.toString(shape) + " must be [batch, channels, …] with " + length + " values");
    }

    private static void checkSameLength(float[] a, float[] b, String what) {
        if (a.length != b.length) throw new IllegalArgumentException(what + ": " + a.length + " samples vs " + b.length
                + " noise values");
    }

    /**
     * ᾱ at a timestep as diffusers reads it, indexing a torch tensor: a negative timestep counts from the end (the
     * trailing spacing can end at −1 when numpy's arange overshoots; custom timesteps may be negative).
     */
    static float alphaAt(float[] alphasCumprod, int timestep) {
        int n = alphasCumprod.length;
        if (timestep < -n || timestep >= n) throw new IllegalArgumentException("timestep " + timestep
                + " is outside " + (-n) + ".." + (n - 1) + " (negative ones index from the end, as in torch)");
        return alphasCumprod[timestep < 0 ? timestep + n : timestep];
    }

    private int checkStepIndex(int stepIndex) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index " + stepIndex
                + " is outside 0.." + (timesteps.length - 1));
        return stepIndex;
    }

    @Override
    public String toString() { return "DdpmScheduler" + config.toJson(); }
}
