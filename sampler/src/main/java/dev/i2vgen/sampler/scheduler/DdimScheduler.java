package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.sampler.random.TorchGenerator;

import java.util.Arrays;

/**
 * diffusers' DDIMScheduler on float arrays, reproducing its float32 arithmetic operation by operation
 * (each tensor operation rounds to float32; scalars are float32 0-d tensors, like the scheduler's).
 * Usage: {@code setTimesteps(n)}, then for each {@code t} of {@code timesteps()} call {@code step}.
 * For a GPU graph, {@link DdimStep#coefficients} gives the same update as the 7 numbers of the graph op.
 */
public final class DdimScheduler {
    private final DdimConfig config;
    private final float[] betas;
    private final float[] alphasCumprod;
    private final float finalAlphaCumprod;
    private int numInferenceSteps; // 0 until setTimesteps
    private int[] timesteps;

    public DdimScheduler(DdimConfig config) {
        this.config = config;
        this.betas = NoiseSchedule.betas(config);
        this.alphasCumprod = NoiseSchedule.alphasCumprod(betas);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1.0f : alphasCumprod[0];
        // before setTimesteps diffusers lists every training step, descending
        this.timesteps = new int[config.numTrainTimesteps()];
        for (int i = 0; i < timesteps.length; i++) timesteps[i] = timesteps.length - 1 - i;
    }

    public DdimConfig config() { return config; }

    public float[] betas() { return betas.clone(); }

    public float[] alphasCumprod() { return alphasCumprod.clone(); }

    public float alphaCumprod(int timestep) { return alphasCumprod[checkTimestep(timestep)]; }

    /** ᾱ used after the last step: 1 with set_alpha_to_one, else ᾱ_0. */
    public float finalAlphaCumprod() { return finalAlphaCumprod; }

    /** The initial latents are plain standard normal noise for DDIM. */
    public float initNoiseSigma() { return 1.0f; }

    public int numInferenceSteps() { return numInferenceSteps; }

    public int[] timesteps() { return timesteps.clone(); }

    /** Chooses the {@code steps} timesteps of the sampling run, following the config's timestep_spacing. */
    public DdimScheduler setTimesteps(int steps) {
        int trainSteps = config.numTrainTimesteps();
        if (steps > trainSteps) throw new IllegalArgumentException("`num_inference_steps`: " + steps
                + " cannot be larger than `self.config.train_timesteps`: " + trainSteps
                + " as the unet model trained with this scheduler can only handle maximal " + trainSteps + " timesteps.");
        if (steps < 1) throw new IllegalArgumentException("`num_inference_steps` must be at least 1, got " + steps);
        this.timesteps = switch (config.timestepSpacing()) {
            case LEADING -> leading(steps, trainSteps, config.stepsOffset());
            case TRAILING -> trailing(steps, trainSteps);
            case LINSPACE -> linspace(steps, trainSteps);
        };
        this.numInferenceSteps = steps;
        return this;
    }

    private static int[] leading(int steps, int trainSteps, int offset) {
        int ratio = trainSteps / steps;
        int[] t = new int[steps];
        for (int k = 0; k < steps; k++) t[k] = (steps - 1 - k) * ratio + offset;
        return t;
    }

    /** numpy: round(arange(T, 0, −T/n)) − 1, with arange's length and fill arithmetic. */
    private static int[] trailing(int steps, int trainSteps) {
        double delta = -((double) trainSteps / steps);
        int length = (int) Math.ceil((0.0 - trainSteps) / delta);
        double start = trainSteps;
        // numpy fills start + i·d with d = (start + delta) − start
        double d = (start + delta) - start;
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            double v = i == 0 ? start : i == 1 ? start + delta : start + i * d;
            t[i] = (int) Math.rint(v) - 1;
        }
        return t;
    }

    /** numpy: round(linspace(0, T−1, n)) descending; linspace computes i·step and pins the endpoint. */
    private static int[] linspace(int steps, int trainSteps) {
        double stop = trainSteps - 1;
        double[] v = new double[steps];
        if (steps == 1) {
            v[0] = 0;
        } else {
            double step = stop / (steps - 1);
            for (int i = 0; i < steps; i++) v[i] = i * step;
            v[steps - 1] = stop;
        }
        int[] t = new int[steps];
        for (int i = 0; i < steps; i++) t[i] = (int) Math.rint(v[steps - 1 - i]);
        return t;
    }

    /** The timestep the step from {@code timestep} lands on (negative after the last one). */
    public int prevTimestep(int timestep) {
        requireTimesteps();
        return timestep - config.numTrainTimesteps() / numInferenceSteps;
    }

    /** ᾱ at {@code prevTimestep}: the final value for negative ones. */
    float alphaCumprodPrev(int prevTimestep) {
        return prevTimestep >= 0 ? alphasCumprod[prevTimestep] : finalAlphaCumprod;
    }

    /** σ²/η² of the step from {@code timestep}: (1−ᾱ_prev)/(1−ᾱ_t)·(1 − ᾱ_t/ᾱ_prev), float32. */
    public float variance(int timestep) {
        int prev = prevTimestep(timestep);
        float aT = alphasCumprod[checkTimestep(timestep)];
        float aPrev = alphaCumprodPrev(prev);
        return ((1.0f - aPrev) / (1.0f - aT)) * (1.0f - aT / aPrev);
    }

    /** The step's noise scale σ = η·√variance, float32 (η is rounded to float as torch does for a Python scalar). */
    public float stdDev(int timestep, float eta) {
        return eta * (float) Math.sqrt(variance(timestep));
    }

    /** One DDIM step; returns x_{t−1}. Noise for η &gt; 0 comes from {@code generator}. */
    public float[] step(float[] modelOutput, int timestep, float[] sample, float eta, TorchGenerator generator) {
        return stepWithPrediction(modelOutput, timestep, sample, eta, generator).prevSample();
    }

    /** One DDIM step; returns x_{t−1} and the predicted x0. */
    public DdimOutput stepWithPrediction(float[] modelOutput, int timestep, float[] sample, float eta, TorchGenerator generator) {
        if (config.thresholding()) throw new IllegalStateException("thresholding works per batch item: use the step"
                + " overload that takes the sample's shape");
        return step(modelOutput, timestep, sample, new int[]{sample.length}, eta, false, generator, null);
    }

    /**
     * diffusers' {@code DDIMScheduler.step} with every option.
     *
     * @param shape                 the sample's shape; its first dimension is the batch for dynamic thresholding
     * @param useClippedModelOutput recompute ε from the clipped x0 (diffusers' use_clipped_model_output)
     * @param generator             source of the η-noise ({@code randn(shape)}), or null when varianceNoise is given
     * @param varianceNoise         explicit η-noise instead of the generator, or null
     */
    public DdimOutput step(float[] modelOutput, int timestep, float[] sample, int[] shape, float eta,
                           boolean useClippedModelOutput, TorchGenerator generator, float[] varianceNoise) {
        requireTimesteps();
        int n = sample.length;
        if (modelOutput.length != n) throw new IllegalArgumentException("step: model output has " + modelOutput.length
                + " values but the sample has " + n);
        if (numel(shape) != n) throw new IllegalArgumentException("step: shape " + Arrays.toString(shape)
                + " does not match the sample's " + n + " values");
        checkTimestep(timestep);
        int prev = prevTimestep(timestep);
        float aT = alphasCumprod[timestep];
        float aPrev = alphaCumprodPrev(prev);
        float bT = 1.0f - aT;
        float sqrtAT = (float) Math.sqrt(aT);
        float sqrtBT = (float) Math.sqrt(bT);

        // 1. x0 and ε from the model output
        float[] x0 = new float[n];
        float[] eps = new float[n];
        switch (config.predictionType()) {
            case EPSILON -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = (sample[i] - sqrtBT * modelOutput[i]) / sqrtAT;
                    eps[i] = modelOutput[i];
                }
            }
            case SAMPLE -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = modelOutput[i];
                    eps[i] = (sample[i] - sqrtAT * x0[i]) / sqrtBT;
                }
            }
            case V_PREDICTION -> {
                for (int i = 0; i < n; i++) {
                    x0[i] = sqrtAT * sample[i] - sqrtBT * modelOutput[i];
                    eps[i] = sqrtAT * modelOutput[i] + sqrtBT * sample[i];
                }
            }
        }

        // 2. keep x0 in range
        if (config.thresholding()) {
            DynamicThresholding.apply(x0, shape.length == 0 ? 1 : shape[0], config.dynamicThresholdingRatio(), config.sampleMaxValue());
        } else if (config.clipSample()) {
            float r = (float) config.clipSampleRange();
            for (int i = 0; i < n; i++) x0[i] = Math.min(Math.max(x0[i], -r), r);
        }

        // 3. the step
        float std = stdDev(timestep, eta);
        if (useClippedModelOutput) {
            for (int i = 0; i < n; i++) eps[i] = (sample[i] - sqrtAT * x0[i]) / sqrtBT;
        }
        float direction = (float) Math.sqrt(1.0f - aPrev - std * std);
        float sqrtAPrev = (float) Math.sqrt(aPrev);
        float[] prevSample = new float[n];
        for (int i = 0; i < n; i++) prevSample[i] = sqrtAPrev * x0[i] + direction * eps[i];

        if (eta > 0) {
            if (varianceNoise != null && generator != null) throw new IllegalArgumentException("Cannot pass both generator"
                    + " and variance_noise. Please make sure that either `generator` or `variance_noise` stays `None`.");
            float[] noise = varianceNoise != null ? varianceNoise : requireGenerator(generator).randn(shape);
            if (noise.length != n) throw new IllegalArgumentException("step: variance noise has " + noise.length
                    + " values but the sample has " + n);
            for (int i = 0; i < n; i++) prevSample[i] = prevSample[i] + std * noise[i];
        }
        return new DdimOutput(prevSample, x0);
    }

    /**
     * This scheduler as a {@link Scheduler}, sharing its state: step indices address {@link #timesteps()}, the step
     * takes diffusers' η ({@link Scheduler#acceptsEta}). Not implemented by the class itself, whose {@code step}
     * takes a timestep where the interface takes a step index.
     */
    public Scheduler asScheduler() { return new SchedulerView(); }

    /** The DDIM scheduler behind {@code s} when it is a view from {@link #asScheduler()}. */
    public static java.util.Optional<DdimScheduler> behind(Scheduler s) {
        return s instanceof SchedulerView v ? java.util.Optional.of(v.owner()) : java.util.Optional.empty();
    }

    private final class SchedulerView implements Scheduler {
        private DdimScheduler owner() { return DdimScheduler.this; }

        @Override
        public String className() { return "DDIMScheduler"; }

        @Override
        public Scheduler setTimesteps(int numInferenceSteps) {
            DdimScheduler.this.setTimesteps(numInferenceSteps);
            return this;
        }

        @Override
        public float[] timesteps() { return TrainingSchedule.asFloats(timesteps); }

        @Override
        public float initNoiseSigma() { return DdimScheduler.this.initNoiseSigma(); }

        @Override
        public float[] scaleModelInput(float[] sample, int stepIndex) { return sample; }

        @Override
        public float[] step(float[] modelOutput, int stepIndex, float[] sample, TorchGenerator generator) {
            return step(modelOutput, stepIndex, sample, new int[]{sample.length}, 0.0, generator);
        }

        @Override
        public float[] step(float[] modelOutput, int stepIndex, float[] sample, int[] sampleShape, double eta, TorchGenerator generator) {
            return DdimScheduler.this.step(modelOutput, timestepAt(stepIndex), sample, sampleShape, (float) eta, false,
                    generator, null).prevSample();
        }

        @Override
        public boolean acceptsEta() { return true; }

        @Override
        public boolean stepsOnDevice() { return !config.thresholding(); }

        @Override
        public StepGraph stepGraph(TaskGraph g, double eta, int... sampleShape) {
            requireTimesteps();
            return new DdimStepGraph(g, DdimScheduler.this, eta, sampleShape);
        }

        private int timestepAt(int stepIndex) {
            requireTimesteps();
            if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("step index "
                    + stepIndex + " is outside 0.." + (timesteps.length - 1));
            return timesteps[stepIndex];
        }

        @Override
        public String toString() { return "Scheduler view of DDIMScheduler " + config; }
    }

    /** Forward diffusion: √ᾱ_t·x0 + √(1−ᾱ_t)·ε. */
    public float[] addNoise(float[] originalSamples, float[] noise, int timestep) {
        checkSameLength(originalSamples, noise, "addNoise");
        float a = alphasCumprod[checkTimestep(timestep)];
        float sa = (float) Math.sqrt(a), sb = (float) Math.sqrt(1.0f - a);
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = sa * originalSamples[i] + sb * noise[i];
        return out;
    }

    /** The v-prediction target: √ᾱ_t·ε − √(1−ᾱ_t)·x0. */
    public float[] velocity(float[] sample, float[] noise, int timestep) {
        checkSameLength(sample, noise, "velocity");
        float a = alphasCumprod[checkTimestep(timestep)];
        float sa = (float) Math.sqrt(a), sb = (float) Math.sqrt(1.0f - a);
        float[] out = new float[noise.length];
        for (int i = 0; i < out.length; i++) out[i] = sa * noise[i] - sb * sample[i];
        return out;
    }

    private static TorchGenerator requireGenerator(TorchGenerator g) {
        if (g == null) throw new IllegalArgumentException("step: eta > 0 needs a generator (or explicit variance noise)");
        return g;
    }

    private static void checkSameLength(float[] a, float[] b, String what) {
        if (a.length != b.length) throw new IllegalArgumentException(what + ": " + a.length + " samples vs " + b.length + " noise values");
    }

    private void requireTimesteps() {
        if (numInferenceSteps == 0) throw new IllegalStateException("Number of inference steps is 'None',"
                + " you need to run 'set_timesteps' after creating the scheduler");
    }

    private int checkTimestep(int timestep) {
        if (timestep < 0 || timestep >= alphasCumprod.length) throw new IllegalArgumentException("timestep " + timestep
                + " is outside 0.." + (alphasCumprod.length - 1));
        return timestep;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }
}
