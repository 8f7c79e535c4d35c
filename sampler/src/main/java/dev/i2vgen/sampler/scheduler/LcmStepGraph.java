package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LCMScheduler's step as tasks of a denoising-step graph ({@link LcmScheduler#stepGraph}), without dynamic
 * thresholding: x0 = a·x + b·m by prediction type (m itself for "sample"), clamped to ±clip_sample_range where
 * clip_sample is set, as DDPM ({@link DdpmStepGraph}); then the consistency estimate
 * denoised = c_out·x0 + c_skip·x (the boundary-condition scalings at t, with timestep_scaling) re-noised to the next
 * timestep, prev = √ᾱ_next·denoised + √(1 − ᾱ_next)·noise, as one linear combination
 * (√ᾱ_next·c_out)·x0 + (√ᾱ_next·c_skip)·x + √(1 − ᾱ_next)·noise; the last step returns denoised itself.
 * The coefficients are products of the host port's float32 scalars taken in double, so the result differs from
 * diffusers' separately rounded operations by a few float32 roundings.
 *
 * <p>Steps go by schedule index as {@link LcmScheduler#step(float[], int, float[], TorchGenerator)}: step i runs at
 * timesteps[i] and moves to timesteps[i + 1] (the schedule set_timesteps computed from original_inference_steps, or
 * custom timesteps). The coefficients of every step are computed when the graph is declared. Noise is drawn as
 * diffusers' step draws it, {@code randn} of the sample's size, on every step but the one at index
 * num_inference_steps − 1; that step binds zeros with a zero coefficient, and a schedule that never re-noises (one
 * step) takes no noise input at all. LCM does not scale the model input.
 */
public final class LcmStepGraph implements StepGraph {
    static final String X0_COEFFICIENTS = "lcm.x0_coefficients", STEP_COEFFICIENTS = "lcm.step_coefficients",
            NOISE = "lcm.noise";

    private final PredictionType prediction;
    private final boolean clip;
    private final float clipRange;
    private final int[] timesteps;
    private final boolean[] renoises;
    private final float[][] x0Coefficients, stepCoefficients;
    private final int[] sampleShape;
    private final Value x0Input, stepInput, noiseInput;

    private LcmStepGraph(LcmConfig config, int[] timesteps, boolean[] renoises, float[][] x0Coefficients,
                         float[][] stepCoefficients, int[] sampleShape, Value x0Input, Value stepInput, Value noiseInput) {
        this.prediction = config.predictionType();
        this.clip = config.clipSample();
        this.clipRange = (float) config.clipSampleRange();
        this.timesteps = timesteps;
        this.renoises = renoises;
        this.x0Coefficients = x0Coefficients;
        this.stepCoefficients = stepCoefficients;
        this.sampleShape = sampleShape;
        this.x0Input = x0Input;
        this.stepInput = stepInput;
        this.noiseInput = noiseInput;
    }

    /**
     * The step graph of {@code scheduler}'s current schedule (set_timesteps has run, no thresholding): declares its
     * inputs in {@code g}.
     *
     * @throws IllegalArgumentException where the shape is not [batch, channels, …]
     */
    static LcmStepGraph declare(LcmScheduler scheduler, TaskGraph g, int... sampleShape) {
        LcmConfig config = scheduler.config();
        DdpmScheduler.checkShape(sampleShape, DdpmStepGraph.numel(sampleShape));
        int[] timesteps = scheduler.timestepValues();
        float[] alphasCumprod = scheduler.alphasCumprod();
        int count = timesteps.length;
        boolean[] renoises = new boolean[count];
        boolean anyNoise = false;
        for (int i = 0; i < count; i++) {
            renoises[i] = scheduler.renoises(i);
            anyNoise |= renoises[i];
        }
        float[][] x0 = new float[count][], step = new float[count][];
        for (int i = 0; i < count; i++) {
            int t = timesteps[i];
            x0[i] = DdpmStepGraph.originalSampleCoefficients(config.predictionType(), DdpmScheduler.alphaAt(alphasCumprod, t));
            LcmBoundaryScalings c = scheduler.boundaryScalings(t);
            float aNext = scheduler.alphaCumprodNext(i, t);
            // diffusers' float32 √ᾱ_next and √(1 − ᾱ_next); the last step keeps denoised as it is
            double sqrtAlphaNext = renoises[i] ? (float) Math.sqrt(aNext) : 1.0;
            float sqrtBetaNext = renoises[i] ? (float) Math.sqrt(1.0f - aNext) : 0f;
            float cOut = (float) (sqrtAlphaNext * c.cOut()), cSkip = (float) (sqrtAlphaNext * c.cSkip());
            step[i] = anyNoise ? new float[]{cOut, cSkip, sqrtBetaNext} : new float[]{cOut, cSkip};
        }
        Value x0Input = config.predictionType() == PredictionType.SAMPLE ? null : g.input(X0_COEFFICIENTS, DType.F32, 2);
        Value stepInput = g.input(STEP_COEFFICIENTS, DType.F32, anyNoise ? 3 : 2);
        Value noiseInput = anyNoise ? g.input(NOISE, DType.F32, sampleShape) : null;
        return new LcmStepGraph(config, timesteps, renoises, x0, step, sampleShape.clone(), x0Input, stepInput, noiseInput);
    }

    /** LCM does not scale the model input: x itself. */
    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        Value x0 = DdpmStepGraph.originalSample(g, prediction, x0Input, x, m, clip, clipRange);
        return noiseInput != null ? g.linearCombination(stepInput, x0, x, noiseInput) : g.linearCombination(stepInput, x0, x);
    }

    /** @param generator the pipeline's generator; may be null for the last step (it draws no noise) */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        if (stepIndex < 0 || stepIndex >= timesteps.length) throw new IllegalArgumentException("stepIndex " + stepIndex
                + " is outside 0.." + (timesteps.length - 1) + " (the schedule the step graph was declared for)");
        Map<String, Tensor> in = new LinkedHashMap<>();
        if (x0Input != null) in.put(X0_COEFFICIENTS, Tensor.fromFloats(x0Coefficients[stepIndex], 2));
        float[] k = stepCoefficients[stepIndex];
        in.put(STEP_COEFFICIENTS, Tensor.fromFloats(k, k.length));
        if (noiseInput != null) in.put(NOISE, DdpmStepGraph.noise(renoises[stepIndex], generator,
                "LCMScheduler's step at index " + stepIndex + " (t=" + timesteps[stepIndex] + ")", sampleShape));
        return in;
    }
}
