package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * diffusers' LCMScheduler (Latent Consistency Models) on float arrays, with every config option: each step denoises
 * to c_skip·x_t + c_out·x0 and, except after the last step, re-noises that estimate to the next timestep,
 * √ᾱ_next·denoised + √(1 − ᾱ_next)·noise. The inference timesteps are evenly spaced indices into the distillation
 * schedule k·i − 1 (k = T // original_inference_steps). Float32 tensor arithmetic as diffusers, operation by operation,
 * with the timestep a 0-d int64 tensor as in diffusers' pipelines (so c_skip and c_out are float32).
 *
 * <p>Through {@link Scheduler} the sample is one batch item; {@link #stepAtTimestep} takes diffusers' timestep with its
 * step-index bookkeeping and the sample's shape (its first dimension is the batch of dynamic thresholding). Noise
 * ({@code randn(sample.length)}) is drawn on every step but the one at index num_inference_steps − 1.
 * {@link #stepGraph} puts the same update on the device ({@link X0UpdateStepGraph}) except for dynamic thresholding.
 */
public final class LcmScheduler implements Scheduler {
    private static final System.Logger LOG = System.getLogger(LcmScheduler.class.getName());
    /** σ_data of the consistency boundary condition, fixed in diffusers. */
    static final float SIGMA_DATA = 0.5f;

    private final LcmConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;

    private int[] timesteps;
    private Integer numInferenceSteps;
    private boolean customTimesteps;
    private Integer stepIndex;
    private Integer beginIndex;

    public LcmScheduler(LcmConfig config) {
        this.config = config;
        this.betas = NoiseSchedule.betas(config.numTrainTimesteps(), config.betaStart(), config.betaEnd(),
                config.betaSchedule(), config.trainedBetas(), config.rescaleBetasZeroSnr());
        this.alphasCumprod = NoiseSchedule.alphasCumprod(betas);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1.0f : alphasCumprod[0];
        this.timesteps = new int[config.numTrainTimesteps()];
        for (int i = 0; i < timesteps.length; i++) timesteps[i] = timesteps.length - 1 - i;
    }

    @Override
    public String className() { return "LCMScheduler"; }

    public LcmConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    /** ᾱ for a negative next timestep: 1 with set_alpha_to_one, else ᾱ_0. */
    public float finalAlphaCumprod() { return finalAlphaCumprod; }

    /** The integer timesteps as float32 values (the model's timestep input). */
    @Override
    public float[] timesteps() { return TrainingSchedule.asFloats(timesteps); }

    public int[] timestepValues() { return timesteps.clone(); }

    /**
     * Empty until set_timesteps; with custom timesteps their count before strength cut the schedule (as diffusers,
     * which then adds noise on every remaining step).
     */
    public OptionalInt numInferenceSteps() {
        return numInferenceSteps == null ? OptionalInt.empty() : OptionalInt.of(numInferenceSteps);
    }

    public boolean customTimesteps() { return customTimesteps; }

    public int order() { return 1; }

    public OptionalInt stepIndex() { return stepIndex == null ? OptionalInt.empty() : OptionalInt.of(stepIndex); }

    public OptionalInt beginIndex() { return beginIndex == null ? OptionalInt.empty() : OptionalInt.of(beginIndex); }

    /** diffusers' set_begin_index: the first step call starts here instead of at its timestep's index. */
    public LcmScheduler setBeginIndex(int beginIndex) {
        checkStepIndex(beginIndex);
        this.beginIndex = beginIndex;
        return this;
    }

    /** LCM starts from standard normal noise. */
    @Override
    public float initNoiseSigma() { return 1.0f; }

    /** diffusers' {@code set_timesteps(num_inference_steps)}. */
    @Override
    public LcmScheduler setTimesteps(int numInferenceSteps) {
        return setTimesteps(numInferenceSteps, null, null, 1.0);
    }

    /** diffusers' {@code set_timesteps(timesteps=...)}. */
    public LcmScheduler setCustomTimesteps(int... timesteps) {
        return setTimesteps(null, null, timesteps, 1.0);
    }

    /**
     * diffusers' {@code set_timesteps(num_inference_steps, original_inference_steps=, timesteps=, strength=)} with its
     * errors (and its warnings, logged). Resets the step and begin indices.
     *
     * @param originalInferenceSteps the distillation schedule's length, or null for the config's
     * @param strength               the fraction of the distillation schedule used (image-to-image), 1 for all of it
     */
    public LcmScheduler setTimesteps(Integer numInferenceSteps, Integer originalInferenceSteps, int[] customTimesteps,
                                     double strength) {
        int trainSteps = config.numTrainTimesteps();
        if (numInferenceSteps == null && customTimesteps == null) throw new IllegalArgumentException(
                "Must pass exactly one of `num_inference_steps` or `custom_timesteps`.");
        if (numInferenceSteps != null && customTimesteps != null) throw new IllegalArgumentException(
                "Can only pass one of `num_inference_steps` or `custom_timesteps`.");
        int originalSteps = originalInferenceSteps != null ? originalInferenceSteps : config.originalInferenceSteps();
        if (originalSteps > trainSteps) throw new IllegalArgumentException("`original_steps`: " + originalSteps
                + " cannot be larger than `self.config.train_timesteps`: " + trainSteps + " as the unet model trained with"
                + " this scheduler can only handle maximal " + trainSteps + " timesteps.");
        if (originalSteps < 1) throw new IllegalArgumentException("original_inference_steps must be ≥ 1, got " + originalSteps);

        // the distillation schedule k·i − 1, i = 1 … ⌊original_steps·strength⌋ (ascending)
        int k = trainSteps / originalSteps;
        int originCount = Math.max((int) (originalSteps * strength), 0);
        int[] origin = new int[originCount];
        for (int i = 0; i < originCount; i++) origin[i] = (i + 1) * k - 1;

        int[] chosen;
        if (customTimesteps != null) {
            DdpmScheduler.checkCustomTimesteps(customTimesteps, trainSteps);
            warnAboutCustomTimesteps(customTimesteps, origin, originalSteps, strength);
            int count = customTimesteps.length;
            this.numInferenceSteps = count;
            this.customTimesteps = true;
            // strength keeps the last ⌊count·strength⌋ timesteps, as StableDiffusionImg2ImgPipeline.get_timesteps
            int initTimestep = Math.min((int) (count * strength), count);
            int start = Math.max(count - initTimestep, 0);
            chosen = Arrays.copyOfRange(customTimesteps, start, count);
        } else {
            int n = numInferenceSteps;
            if (n > trainSteps) throw new IllegalArgumentException("`num_inference_steps`: " + n + " cannot be larger"
                    + " than `self.config.train_timesteps`: " + trainSteps + " as the unet model trained with this"
                    + " scheduler can only handle maximal " + trainSteps + " timesteps.");
            if (n < 1) throw new IllegalArgumentException("num_inference_steps must be ≥ 1, got " + n);
            if (originCount / n < 1) throw new IllegalArgumentException("The combination of `original_steps x strength`: "
                    + originalSteps + " x " + pythonFloat(strength) + " is smaller than `num_inference_steps`: " + n
                    + ". Make sure to either reduce `num_inference_steps` to a value smaller than "
                    + (int) (originalSteps * strength) + " or increase `strength` to a value higher than "
                    + pythonFloat((double) n / originalSteps) + ".");
            this.numInferenceSteps = n;
            this.customTimesteps = false;
            if (n > originalSteps) throw new IllegalArgumentException("`num_inference_steps`: " + n + " cannot be larger"
                    + " than `original_inference_steps`: " + originalSteps + " because the final timestep schedule will be"
                    + " a subset of the `original_inference_steps`-sized initial timestep schedule.");
            // floor(np.linspace(0, count, n, endpoint=False)) into the descending distillation schedule
            double spacing = (double) originCount / n;
            chosen = new int[n];
            for (int i = 0; i < n; i++) chosen[i] = origin[originCount - 1 - (int) Math.floor(i * spacing)];
        }
        this.timesteps = chosen;
        this.stepIndex = null;
        this.beginIndex = null;
        return this;
    }

    private void warnAboutCustomTimesteps(int[] custom, int[] origin, int originalSteps, double strength) {
        int trainSteps = config.numTrainTimesteps();
        if (strength == 1.0 && custom[0] != trainSteps - 1) LOG.log(System.Logger.Level.WARNING, "The first timestep on"
                + " the custom timestep schedule is " + custom[0] + ", not `self.config.num_train_timesteps - 1`: "
                + (trainSteps - 1) + ". You may get unexpected results when using this timestep schedule.");
        List<Integer> offSchedule = new ArrayList<>();
        for (int i = 1; i < custom.length; i++) if (Arrays.binarySearch(origin, custom[i]) < 0) offSchedule.add(custom[i]);
        if (!offSchedule.isEmpty()) LOG.log(System.Logger.Level.WARNING, "The custom timestep schedule contains the"
                + " following timesteps which are not on the original training/distillation timestep schedule: "
                + offSchedule + ". You may get unexpected results when using this timestep schedule.");
        if (custom.length > originalSteps) LOG.log(System.Logger.Level.WARNING, "The number of timesteps in the custom"
                + " timestep schedule is " + custom.length + ", which exceeds the the length of the timestep schedule"
                + " used for training: " + originalSteps + ". You may get some unexpected results when using this"
                + " timestep schedule.");
    }

    /** Python's repr of a float (diffusers' messages print them): shortest digits, "1e-05" style exponents. */
    static String pythonFloat(double v) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0) return 1 / v < 0 ? "-0.0" : "0.0";
        double magnitude = Math.abs(v);
        if (magnitude >= 1e-4 && magnitude < 1e16) {
            String plain = new BigDecimal(Double.toString(v)).stripTrailingZeros().toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String[] parts = Double.toString(v).split("E");
        String mantissa = parts[0].endsWith(".0") ? parts[0].substring(0, parts[0].length() - 2) : parts[0];
        int exponent = Integer.parseInt(parts[1]);
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }

    /** diffusers' {@code index_for_timestep}: the second match of a repeated timestep, else the only one. */
    public int indexForTimestep(int timestep) {
        return EulerDiscreteScheduler.indexForTimestep(timesteps(), timestep);
    }

    /** diffusers' {@code previous_timestep} (copied from DDPM; LCM's step uses the next schedule entry instead). */
    public int previousTimestep(int timestep) {
        return DdpmScheduler.previousTimestep(timesteps, customTimesteps || numInferenceSteps != null, timestep);
    }

    /**
     * diffusers' {@code get_scalings_for_boundary_condition_discrete(t)} in float32 (t a 0-d int64 tensor):
     * s = t·timestep_scaling; c_skip = σ_data²/(s² + σ_data²), evaluated as torch does a Python scalar divided by a
     * tensor (reciprocal, then product); c_out = s/√(s² + σ_data²).
     */
    public LcmBoundaryScalings boundaryScalings(int timestep) {
        float sigmaDataSquared = SIGMA_DATA * SIGMA_DATA;
        float scaled = (float) timestep * (float) config.timestepScaling();
        float denominator = scaled * scaled + sigmaDataSquared;
        float cSkip = (1.0f / denominator) * sigmaDataSquared;
        float cOut = scaled / (float) Math.sqrt(denominator);
        return new LcmBoundaryScalings(cSkip, cOut);
    }

    /** LCM does not scale the model input: a copy of the sample (the index is checked). */
    @Override
    public float[] scaleModelInput(float[] sample, int stepIndex) {
        checkStepIndex(stepIndex);
        return sample.clone();
    }

    /** {@code step(model_output, timesteps[stepIndex], sample, generator).prev_sample}, the sample one batch item. */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        return stepWithDenoised(modelOutput, stepIndex, sample, generator).prevSample();
    }

    /**
     * The step at schedule index {@code stepIndex} (as {@link #stepWithDenoised}) for a sample of this shape: dynamic
     * thresholding per batch item; η is not an LCM parameter. Sets the step index.
     */
    @Override
    public float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta,
                        TorchGenerator generator) {
        requireTimesteps();
        return stepAt(checkStepIndex(stepIndex), timesteps[stepIndex], modelOutput, sample, sampleShape, generator)
                .prevSample();
    }

    /** False for dynamic thresholding (a quantile per batch item): that steps on the host. */
    @Override
    public boolean stepsOnDevice() { return !config.thresholding(); }

    /** diffusers locates the first step with index_for_timestep. */
    @Override
    public boolean locatesFirstStepByTimestep() { return true; }

    /**
     * The update of the current schedule as graph tasks ({@link X0UpdateStepGraph}, inputs "lcm.…"), steps by schedule
     * index as {@link #step(float[], int, float[], TorchGenerator)}; η is not an LCM parameter. After x0, the
     * consistency estimate denoised = c_out·x0 + c_skip·x (the boundary-condition scalings at t) re-noised to the next
     * timestep, √ᾱ_next·denoised + √(1 − ᾱ_next)·noise, is one linear combination
     * (√ᾱ_next·c_out)·x0 + (√ᾱ_next·c_skip)·x + √(1 − ᾱ_next)·noise of the float32 scalars taken in double; the step
     * that does not re-noise returns denoised itself.
     *
     * @throws IllegalStateException    before set_timesteps
     * @throws IllegalArgumentException where the shape is not [batch, channels, …]
     */
    @Override
    public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
        if (config.thresholding()) throw new UnsupportedOperationException("LCMScheduler with thresholding=true has no"
                + " step graph: dynamic thresholding takes a quantile per batch item; step on the host (stepsOnDevice() is false)");
        requireTimesteps();
        List<X0UpdateStepGraph.Step> steps = new ArrayList<>();
        for (int i = 0; i < timesteps.length; i++) {
            int t = timesteps[i];
            boolean renoises = renoises(i);
            LcmBoundaryScalings c = boundaryScalings(t);
            float aNext = alphaCumprodNext(i, t);
            // diffusers' float32 √ᾱ_next and √(1 − ᾱ_next); the step that does not re-noise keeps denoised as it is
            double sqrtAlphaNext = renoises ? (float) Math.sqrt(aNext) : 1.0;
            float sqrtBetaNext = renoises ? (float) Math.sqrt(1.0f - aNext) : 0f;
            steps.add(new X0UpdateStepGraph.Step(t, DdpmScheduler.alphaAt(alphasCumprod, t),
                    (float) (sqrtAlphaNext * c.cOut()), (float) (sqrtAlphaNext * c.cSkip()), renoises, sqrtBetaNext));
        }
        return new X0UpdateStepGraph(g, "lcm", className(), config.predictionType(), config.clipSample(),
                config.clipSampleRange(), steps, sampleShape);
    }

    /** {@link #step(float[], int, float[], TorchGenerator)} with diffusers' denoised estimate; sets the step index. */
    public LcmOutput stepWithDenoised(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
        requireTimesteps();
        return stepAt(checkStepIndex(stepIndex), timesteps[stepIndex], modelOutput, sample, new int[]{1, sample.length},
                generator);
    }

    /**
     * diffusers' {@code LCMScheduler.step(model_output, timestep, sample, generator)}: the step index comes from the
     * timestep (or the begin index) on the first call and advances by one per call.
     *
     * @param sampleShape the sample's shape (its first dimension is the batch of dynamic thresholding)
     * @param generator   source of the noise; may be null only for the step at index num_inference_steps − 1
     */
    public LcmOutput stepAtTimestep(float[] modelOutput, int timestep, float[] sample, int[] sampleShape,
                                    TorchGenerator generator) {
        requireTimesteps();
        if (stepIndex == null) stepIndex = beginIndex != null ? beginIndex : indexForTimestep(timestep);
        return stepAt(checkStepIndex(stepIndex), timestep, modelOutput, sample, sampleShape, generator);
    }

    /** One step at schedule index {@code index} from {@code timestep} (diffusers reads both), in float32; advances the index. */
    private LcmOutput stepAt(int index, int timestep, float[] modelOutput, float[] sample, int[] sampleShape,
                             TorchGenerator generator) {
        int n = sample.length;
        DdpmScheduler.checkShape(sampleShape, n);
        if (modelOutput.length != n) throw new IllegalArgumentException("step: model output has " + modelOutput.length
                + " values but the sample has " + n);
        float aT = DdpmScheduler.alphaAt(alphasCumprod, timestep);
        float aPrev = alphaCumprodNext(index, timestep);
        float bT = 1.0f - aT;
        float bPrev = 1.0f - aPrev;
        LcmBoundaryScalings c = boundaryScalings(timestep);

        float[] x0 = DdpmScheduler.predictOriginalSample(config.predictionType(), modelOutput, sample, aT, bT);
        DdpmScheduler.clipOrThreshold(x0, sampleShape[0], config.thresholding(), config.dynamicThresholdingRatio(),
                config.sampleMaxValue(), config.clipSample(), config.clipSampleRange());
        float[] denoised = new float[n];
        for (int i = 0; i < n; i++) denoised[i] = c.cOut() * x0[i] + c.cSkip() * sample[i];

        float[] prev;
        if (renoises(index)) {
            if (generator == null) throw new IllegalArgumentException("LCMScheduler.step at index " + index
                    + " re-noises its estimate: pass a TorchGenerator");
            float[] noise = generator.randn(n);
            float sqrtAlphaPrev = (float) Math.sqrt(aPrev), sqrtBetaPrev = (float) Math.sqrt(bPrev);
            prev = new float[n];
            for (int i = 0; i < n; i++) prev[i] = sqrtAlphaPrev * denoised[i] + sqrtBetaPrev * noise[i];
        } else {
            prev = denoised.clone();
        }
        this.stepIndex = index + 1;
        return new LcmOutput(prev, denoised);
    }

    /**
     * ᾱ of the timestep that the step at schedule index {@code index} from {@code timestep} moves to: the next of the
     * schedule (the last step "moves" to its own timestep), final_alpha_cumprod where that is negative.
     */
    float alphaCumprodNext(int index, int timestep) {
        int next = index + 1 < timesteps.length ? timesteps[index + 1] : timestep;
        return next >= 0 ? DdpmScheduler.alphaAt(alphasCumprod, next) : finalAlphaCumprod;
    }

    /**
     * Whether the step at schedule index {@code index} re-noises its estimate: all but the one at
     * num_inference_steps − 1, as diffusers (custom timesteps cut by strength re-noise on every step).
     */
    boolean renoises(int index) {
        requireTimesteps();
        return index != numInferenceSteps - 1;
    }

    /** Forward diffusion q(x_t | x0): √ᾱ_t·x0 + √(1 − ᾱ_t)·ε (diffusers' add_noise). */
    public float[] addNoise(float[] originalSamples, float[] noise, int timestep) {
        return DdpmScheduler.addNoise(alphasCumprod, originalSamples, noise, timestep);
    }

    /** The v-prediction target √ᾱ_t·ε − √(1 − ᾱ_t)·x0 (diffusers' get_velocity). */
    public float[] velocity(float[] sample, float[] noise, int timestep) {
        return DdpmScheduler.velocity(alphasCumprod, sample, noise, timestep);
    }

    private void requireTimesteps() {
        if (numInferenceSteps == null) throw new IllegalStateException("Number of inference steps is 'None', you need"
                + " to run 'set_timesteps' after creating the scheduler");
    }

    private int checkStepIndex(int stepIndex) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index " + stepIndex
                + " is outside 0.." + (timesteps.length - 1));
        return stepIndex;
    }

    @Override
    public String toString() { return "LcmScheduler" + config.toJson(); }
}
