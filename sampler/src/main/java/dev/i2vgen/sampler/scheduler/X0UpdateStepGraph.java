package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The step graph of the schedulers whose update goes through the predicted original sample and is linear after it:
 * DDPM ({@link DdpmScheduler#stepGraph}) and LCM ({@link LcmScheduler#stepGraph}), whose x0, clipping and noise
 * diffusers copies from DDPM. They differ only in the weights of the update and in where noise is drawn, which they
 * give per step as {@link Step}s; the graph, its inputs and the noise drawing are here, once. Per step:
 * <ol>
 *   <li>x0 = a·x + b·m by prediction type (m itself for "sample"), a and b from diffusers' float32 √ᾱ_t and
 *       √(1 − ᾱ_t) combined in double; clamped to ±clip_sample_range where clip_sample is set;</li>
 *   <li>prev = c_x0·x0 + c_x·x + σ·noise, with the scheduler's weights.</li>
 * </ol>
 * Each is one float32 linear combination, so the result differs from diffusers' separately rounded operations by a
 * few float32 roundings.
 *
 * <p>The weights of every step are fixed when the graph is declared, from the schedule set then. Noise is drawn as
 * diffusers' step draws it, {@code randn} of the sample's size, on the steps that {@link Step#drawsNoise}; the other
 * steps bind zeros with σ = 0, and a schedule without such a step takes no noise input at all. The inputs are
 * {@code PREFIX.x0_coefficients} (absent for "sample"), {@code PREFIX.step_coefficients} and {@code PREFIX.noise}.
 * Neither scheduler scales the model input.
 */
final class X0UpdateStepGraph implements StepGraph {

    /**
     * One step's numbers, computed by the scheduler from its float32 scalars.
     *
     * @param timestep          t, named in errors
     * @param alphaCumprod      ᾱ_t, from which x0 is predicted
     * @param x0Coefficient     c_x0, the weight of x0 in the update
     * @param sampleCoefficient c_x, the weight of the sample x
     * @param drawsNoise        whether diffusers' step draws noise here
     * @param noiseCoefficient  σ, the weight of the noise where it is drawn (not read otherwise)
     */
    record Step(int timestep, float alphaCumprod, float x0Coefficient, float sampleCoefficient, boolean drawsNoise,
                float noiseCoefficient) {}

    private final String schedulerName, x0Name, stepName, noiseName;
    private final PredictionType prediction;
    private final boolean clip;
    private final float clipRange;
    private final List<Step> steps;
    private final int[] sampleShape;
    private final Value x0Input, stepInput, noiseInput;

    /**
     * Declares the inputs of the schedule {@code steps} (in order, from index 0) in {@code g}.
     *
     * @param prefix        the inputs' name prefix ("ddpm", "lcm")
     * @param schedulerName diffusers' class name, for errors
     * @throws IllegalArgumentException where the shape is not [batch, channels, …]
     */
    X0UpdateStepGraph(TaskGraph g, String prefix, String schedulerName, PredictionType prediction, boolean clip,
                      double clipSampleRange, List<Step> steps, int... sampleShape) {
        DdpmScheduler.checkShape(sampleShape, Math.toIntExact(Tensor.numel(sampleShape)));
        this.schedulerName = schedulerName;
        this.x0Name = prefix + ".x0_coefficients";
        this.stepName = prefix + ".step_coefficients";
        this.noiseName = prefix + ".noise";
        this.prediction = prediction;
        this.clip = clip;
        this.clipRange = (float) clipSampleRange;
        this.steps = List.copyOf(steps);
        this.sampleShape = sampleShape.clone();
        boolean anyNoise = steps.stream().anyMatch(Step::drawsNoise);
        this.x0Input = prediction == PredictionType.SAMPLE ? null : g.input(x0Name, DType.F32, 2);
        this.stepInput = g.input(stepName, DType.F32, anyNoise ? 3 : 2);
        this.noiseInput = anyNoise ? g.input(noiseName, DType.F32, sampleShape) : null;
    }

    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value scaleModelInputApart(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        Value x0 = prediction == PredictionType.SAMPLE ? m : g.linearCombination(x0Input, x, m);
        if (clip) x0 = g.clamp(x0, -clipRange, clipRange);
        return noiseInput != null ? g.linearCombination(stepInput, x0, x, noiseInput) : g.linearCombination(stepInput, x0, x);
    }

    /** @param generator the pipeline's generator; may be null where this step draws no noise */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        if (stepIndex < 0 || stepIndex >= steps.size()) throw new IllegalArgumentException("stepIndex " + stepIndex
                + " is outside 0.." + (steps.size() - 1) + " (the schedule the step graph was declared for)");
        Step s = steps.get(stepIndex);
        Map<String, Tensor> in = new LinkedHashMap<>();
        if (x0Input != null) in.put(x0Name, Tensor.fromFloats(x0Coefficients(prediction, s.alphaCumprod()), 2));
        if (noiseInput != null) {
            float sigma = s.drawsNoise() ? s.noiseCoefficient() : 0f;
            in.put(stepName, Tensor.fromFloats(new float[]{s.x0Coefficient(), s.sampleCoefficient(), sigma}, 3));
            in.put(noiseName, noise(stepIndex, s, generator));
        } else {
            in.put(stepName, Tensor.fromFloats(new float[]{s.x0Coefficient(), s.sampleCoefficient()}, 2));
        }
        return in;
    }

    /**
     * The coefficients {a, b} of x0 = a·x + b·m for a prediction type other than "sample" at ᾱ_t, from diffusers'
     * float32 √ᾱ_t and √(1 − ᾱ_t) combined in double.
     */
    private static float[] x0Coefficients(PredictionType type, float alphaProd) {
        float sqrtAlpha = (float) Math.sqrt(alphaProd), sqrtBeta = (float) Math.sqrt(1.0f - alphaProd);
        return switch (type) {
            case EPSILON -> new float[]{(float) (1.0 / sqrtAlpha), (float) (-(double) sqrtBeta / sqrtAlpha)};
            case V_PREDICTION -> new float[]{sqrtAlpha, -sqrtBeta};
            case SAMPLE -> throw new IllegalStateException("x0 is the model output itself for prediction_type 'sample'");
        };
    }

    /** {@code randn} of the sample's size from {@code generator} where the step draws noise, else zeros (σ = 0). */
    private Tensor noise(int stepIndex, Step s, TorchGenerator generator) {
        if (!s.drawsNoise()) return Tensor.allocate(DType.F32, sampleShape);
        if (generator == null) throw new IllegalArgumentException(schedulerName + "'s step at index " + stepIndex
                + " (t=" + s.timestep() + ") draws noise: pass a TorchGenerator");
        return generator.randnTensor(sampleShape);
    }
}
