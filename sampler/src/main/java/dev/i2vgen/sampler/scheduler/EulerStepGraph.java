package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * The Euler family's {@code scale_model_input} and {@code step} (EulerDiscreteScheduler with churn,
 * EulerAncestralDiscreteScheduler) as tasks of a denoising-step graph; the numbers of each step are graph inputs
 * ({@link EulerStepNumbers}), one frozen graph serves every step.
 *
 * <p>In a float32 graph the update is diffusers' sequence of float32 tensor operations, in its order (churn noise,
 * x0 from the prediction type, derivative = (x − x0)/σ̂, prev = x + derivative·dt, ancestral noise, each rounded):
 * with few steps the update cancels most of the sample (σ from 700 straight to 0.002), where float32 rounding is a
 * visible part of the result, so a mathematically equal reformulation would not reproduce diffusers. In an fp16/bf16
 * graph the whole update is one {@code linearCombination} a·x + b·m (+ c·noise) in float32, rounded once to the
 * latents' dtype, where diffusers upcasts the sample to float32 and casts the result back.
 */
final class EulerStepGraph implements StepGraph {
    static final String SCALE = "euler.input_divisor", INPUT_FACTOR = "euler.input_factor", SIGMA_HAT = "euler.sigma_hat",
            DT = "euler.dt", C_OUT = "euler.c_out", SIGMA_SQ_PLUS_ONE = "euler.sigma_sq_plus_one",
            CHURN_SCALE = "euler.churn_scale", S_NOISE = "euler.s_noise", SIGMA_UP = "euler.sigma_up",
            COEFFICIENTS = "euler.coefficients", NOISE = "euler.noise";

    private final PredictionType prediction;
    private final boolean exactOrder, churn, ancestral;
    private final int[] shape;
    private final IntFunction<EulerStepNumbers> numbers;
    private final Map<String, Value> inputs = new LinkedHashMap<>();

    /**
     * Declares the per-step inputs in {@code g}.
     * @param churn     whether any step adds churn noise before the update (s_churn &gt; 0 inside [s_tmin, s_tmax])
     * @param ancestral whether every step adds σ_up-scaled noise after the update
     * @param numbers   the numbers of step i
     */
    EulerStepGraph(TaskGraph g, PredictionType prediction, boolean churn, boolean ancestral, int[] shape,
                   IntFunction<EulerStepNumbers> numbers) {
        this.prediction = prediction;
        this.exactOrder = g.activation() == DType.F32;
        this.churn = churn;
        this.ancestral = ancestral;
        this.shape = shape.clone();
        this.numbers = numbers;
        if (exactOrder) {
            scalar(g, SCALE);
            scalar(g, SIGMA_HAT);
            scalar(g, DT);
            if (prediction == PredictionType.V_PREDICTION) {
                scalar(g, C_OUT);
                scalar(g, SIGMA_SQ_PLUS_ONE);
            }
            if (churn) {
                scalar(g, CHURN_SCALE);
                scalar(g, S_NOISE);
            }
            if (ancestral) scalar(g, SIGMA_UP);
        } else {
            scalar(g, INPUT_FACTOR);
            inputs.put(COEFFICIENTS, g.input(COEFFICIENTS, DType.F32, takesNoise() ? 3 : 2));
        }
        if (takesNoise()) inputs.put(NOISE, g.input(NOISE, DType.F32, shape));
    }

    /** EulerDiscreteScheduler's update with these churn settings (pipelines use {@link EulerChurn#NONE}, diffusers' default). */
    static EulerStepGraph discrete(TaskGraph g, EulerDiscreteScheduler s, EulerChurn churnSettings, int... shape) {
        int steps = s.timesteps().length;
        boolean churn = false;
        for (int i = 0; i < steps; i++) churn |= s.coefficients(i, churnSettings).needsNoise();
        return new EulerStepGraph(g, s.config().predictionType(), churn, false, shape,
                i -> EulerStepNumbers.discrete(s, i, churnSettings));
    }

    /** EulerAncestralDiscreteScheduler's update. */
    static EulerStepGraph ancestral(TaskGraph g, EulerAncestralDiscreteScheduler s, int... shape) {
        PredictionType p = s.config().predictionType();
        if (p == PredictionType.SAMPLE) EulerStepNumbers.ancestral(s, p, 0);   // diffusers' NotImplementedError, at build time
        return new EulerStepGraph(g, p, false, true, shape, i -> EulerStepNumbers.ancestral(s, p, i));
    }

    private void scalar(TaskGraph g, String name) { inputs.put(name, g.input(name, DType.F32, 1)); }

    private boolean takesNoise() { return churn || ancestral; }

    /** diffusers' {@code scale_model_input}: x / √(σ² + 1) (in fp16/bf16: x · (1/√(σ² + 1)) in float32). */
    @Override
    public Value scaleModelInput(TaskGraph g, Value x) {
        return exactOrder ? g.div(x, inputs.get(SCALE)) : g.linearCombination(inputs.get(INPUT_FACTOR), x);
    }

    /** The same scaling in a model graph of its own, which declares the scaling's input there. */
    @Override
    public Value scaleModelInputApart(TaskGraph g, Value x) {
        return exactOrder ? g.div(x, g.input(SCALE, DType.F32, 1)) : g.linearCombination(g.input(INPUT_FACTOR, DType.F32, 1), x);
    }

    /** diffusers' {@code step(m, t, x).prev_sample}: x and m shaped alike. */
    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        if (!exactOrder) {
            Value k = inputs.get(COEFFICIENTS);
            return takesNoise() ? g.linearCombination(k, x, m, inputs.get(NOISE)) : g.linearCombination(k, x, m);
        }
        Value sigmaHat = inputs.get(SIGMA_HAT);
        if (churn) {   // sample + (noise·s_noise)·√(σ̂² − σ²): zero scale where this step does not churn
            Value eps = g.mul(inputs.get(NOISE), inputs.get(S_NOISE));
            x = g.add(x, g.mul(eps, inputs.get(CHURN_SCALE)));
        }
        Value x0 = switch (prediction) {
            case SAMPLE -> m;
            case EPSILON -> g.sub(x, g.mul(m, sigmaHat));
            case V_PREDICTION -> g.add(g.mul(m, inputs.get(C_OUT)), g.div(x, inputs.get(SIGMA_SQ_PLUS_ONE)));
        };
        Value derivative = g.div(g.sub(x, x0), sigmaHat);
        Value prev = g.add(x, g.mul(derivative, inputs.get(DT)));
        return ancestral ? g.add(prev, g.mul(inputs.get(NOISE), inputs.get(SIGMA_UP))) : prev;
    }

    /** The graph inputs of step {@code stepIndex}; noise drawn where diffusers' step draws it (zeros elsewhere). */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        EulerStepNumbers k = numbers.apply(stepIndex);
        Map<String, Tensor> in = new LinkedHashMap<>();
        if (exactOrder) {
            in.put(SCALE, scalar(k.inputDivisor()));
            in.put(SIGMA_HAT, scalar(k.sigmaHat()));
            in.put(DT, scalar(k.dt()));
            if (prediction == PredictionType.V_PREDICTION) {
                float sq1 = k.sigma() * k.sigma() + 1f;
                in.put(C_OUT, scalar(-k.sigma() / (float) Math.sqrt(sq1)));
                in.put(SIGMA_SQ_PLUS_ONE, scalar(sq1));
            }
            if (churn) {
                in.put(CHURN_SCALE, scalar(k.churnScale()));
                in.put(S_NOISE, scalar(k.sNoise()));
            }
            if (ancestral) in.put(SIGMA_UP, scalar(k.sigmaUp()));
        } else {
            in.put(INPUT_FACTOR, scalar(1.0f / k.inputDivisor()));
            in.put(COEFFICIENTS, takesNoise() ? Tensor.fromFloats(new float[]{k.a(), k.b(), k.c()}, 3)
                    : Tensor.fromFloats(new float[]{k.a(), k.b()}, 2));
        }
        if (takesNoise()) {
            if (k.drawsNoise()) {
                if (generator == null) throw new IllegalArgumentException("step " + stepIndex + " draws noise: pass a generator");
                in.put(NOISE, generator.randnTensor(shape));   // randn of the model output's shape, as diffusers' step
            } else {
                in.put(NOISE, Tensor.allocate(DType.F32, shape));   // zeros
            }
        }
        return in;
    }

    private static Tensor scalar(float v) { return Tensor.fromFloats(new float[]{v}, 1); }
}
