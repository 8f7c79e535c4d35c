package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DDPMScheduler's step as tasks of a denoising-step graph ({@link DdpmScheduler#stepGraph}), for the fixed variance
 * types without dynamic thresholding: x0 = a·x + b·m by prediction type (m itself for "sample"), clamped to
 * ±clip_sample_range where clip_sample is set, then prev = c0·x0 + c1·x + σ·noise, the posterior mean plus the
 * step's noise. Each is one float32 linear combination; its coefficients are the host port's float32 scalars (a and b
 * from diffusers' float32 √ᾱ_t and √(1 − ᾱ_t), combined in double), so the result differs from diffusers' separately
 * rounded operations by a few float32 roundings.
 *
 * <p>The coefficients of every step are computed when the graph is declared, from the schedule set then. Noise is
 * drawn as diffusers' step draws it, {@code randn} of the sample's size, on the steps with t &gt; 0 only; the other
 * steps bind zeros with σ = 0, and a schedule without such a step takes no noise input at all. DDPM does not scale
 * the model input.
 */
public final class DdpmStepGraph implements StepGraph {
    static final String X0_COEFFICIENTS = "ddpm.x0_coefficients", STEP_COEFFICIENTS = "ddpm.step_coefficients",
            NOISE = "ddpm.noise";

    private final PredictionType prediction;
    private final boolean clip;
    private final float clipRange;
    private final int[] timesteps;
    private final float[][] x0Coefficients, stepCoefficients;
    private final int[] sampleShape;
    private final Value x0Input, stepInput, noiseInput;

    private DdpmStepGraph(DdpmConfig config, int[] timesteps, float[][] x0Coefficients, float[][] stepCoefficients,
                          int[] sampleShape, Value x0Input, Value stepInput, Value noiseInput) {
        this.prediction = config.predictionType();
        this.clip = config.clipSample();
        this.clipRange = (float) config.clipSampleRange();
        this.timesteps = timesteps;
        this.x0Coefficients = x0Coefficients;
        this.stepCoefficients = stepCoefficients;
        this.sampleShape = sampleShape;
        this.x0Input = x0Input;
        this.stepInput = stepInput;
        this.noiseInput = noiseInput;
    }

    /**
     * The step graph of {@code scheduler}'s current schedule (a configuration that {@link DdpmScheduler#stepsOnDevice
     * steps on the device}): declares its inputs in {@code g}.
     *
     * @throws IllegalArgumentException where the shape is not [batch, channels, …]
     */
    static DdpmStepGraph declare(DdpmScheduler scheduler, TaskGraph g, int... sampleShape) {
        DdpmConfig config = scheduler.config();
        DdpmScheduler.checkShape(sampleShape, numel(sampleShape));
        int[] timesteps = scheduler.timestepValues();
        float[] alphasCumprod = scheduler.alphasCumprod();
        float[][] x0 = new float[timesteps.length][], step = new float[timesteps.length][];
        boolean anyNoise = false;
        for (int t : timesteps) anyNoise |= DdpmScheduler.drawsNoise(t);
        for (int i = 0; i < timesteps.length; i++) {
            int t = timesteps[i];
            x0[i] = originalSampleCoefficients(config.predictionType(), DdpmScheduler.alphaAt(alphasCumprod, t));
            float[] mean = scheduler.posteriorMeanCoefficients(t);
            step[i] = anyNoise
                    ? new float[]{mean[0], mean[1], DdpmScheduler.drawsNoise(t) ? scheduler.fixedNoiseStd(t) : 0f}
                    : mean;
        }
        Value x0Input = config.predictionType() == PredictionType.SAMPLE ? null : g.input(X0_COEFFICIENTS, DType.F32, 2);
        Value stepInput = g.input(STEP_COEFFICIENTS, DType.F32, anyNoise ? 3 : 2);
        Value noiseInput = anyNoise ? g.input(NOISE, DType.F32, sampleShape) : null;
        return new DdpmStepGraph(config, timesteps, x0, step, sampleShape.clone(), x0Input, stepInput, noiseInput);
    }

    /** DDPM does not scale the model input: x itself. */
    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        Value x0 = originalSample(g, prediction, x0Input, x, m, clip, clipRange);
        return noiseInput != null ? g.linearCombination(stepInput, x0, x, noiseInput) : g.linearCombination(stepInput, x0, x);
    }

    /** @param generator the pipeline's generator; may be null where this step's t ≤ 0 (it draws no noise) */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("stepIndex " + stepIndex
                + " is outside 0.." + (timesteps.length - 1) + " (the schedule the step graph was declared for)");
        Map<String, Tensor> in = new LinkedHashMap<>();
        if (x0Input != null) in.put(X0_COEFFICIENTS, Tensor.fromFloats(x0Coefficients[stepIndex], 2));
        float[] k = stepCoefficients[stepIndex];
        in.put(STEP_COEFFICIENTS, Tensor.fromFloats(k, k.length));
        if (noiseInput != null) in.put(NOISE, noise(DdpmScheduler.drawsNoise(timesteps[stepIndex]), generator,
                "DDPMScheduler's step at t=" + timesteps[stepIndex], sampleShape));
        return in;
    }

    // ---- shared with LcmStepGraph, whose x0 diffusers copies from DDPM ----

    /**
     * The coefficients {a, b} of x0 = a·x + b·m for a prediction type at ᾱ_t, from diffusers' float32 √ᾱ_t and
     * √(1 − ᾱ_t) combined in double; null for "sample" (x0 is m).
     */
    static float[] originalSampleCoefficients(PredictionType type, float alphaProd) {
        float sqrtAlpha = (float) Math.sqrt(alphaProd), sqrtBeta = (float) Math.sqrt(1.0f - alphaProd);
        return switch (type) {
            case EPSILON -> new float[]{(float) (1.0 / sqrtAlpha), (float) (-(double) sqrtBeta / sqrtAlpha)};
            case V_PREDICTION -> new float[]{sqrtAlpha, -sqrtBeta};
            case SAMPLE -> null;
        };
    }

    /** x0 as graph tasks: {@code coefficients}·(x, m), or m for "sample"; clamped to ±{@code range} if {@code clip}. */
    static Value originalSample(TaskGraph g, PredictionType type, Value coefficients, Value x, Value m, boolean clip,
                                float range) {
        Value x0 = type == PredictionType.SAMPLE ? m : g.linearCombination(coefficients, x, m);
        return clip ? g.clamp(x0, -range, range) : x0;
    }

    /**
     * A step's noise input: {@code randn} of the sample's size from {@code generator} where the step draws noise (as
     * diffusers' step does, in its order), else zeros that its zero coefficient keeps out of the result.
     */
    static Tensor noise(boolean draws, TorchGenerator generator, String step, int[] sampleShape) {
        int n = numel(sampleShape);
        if (!draws) return Tensor.fromFloats(new float[n], sampleShape);
        if (generator == null) throw new IllegalArgumentException(step + " draws noise: pass a TorchGenerator");
        return Tensor.fromFloats(generator.randn(n), sampleShape);
    }

    static int numel(int[] shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }
}
