package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Euler's {@code scale_model_input} and {@code step} as tasks of a denoising-step graph, so the update stays on the
 * device; the numbers of each step are graph inputs ({@link #inputs}), one frozen graph serves every step.
 *
 * <p>In a float32 graph the update is diffusers' sequence of float32 tensor operations, in its order (x0 from the
 * prediction type, derivative = (x − x0)/σ̂, prev = x + derivative·dt, each rounded): with few steps the update
 * cancels most of the sample (σ from 700 straight to 0.002), where float32 rounding is a visible part of the result,
 * so a mathematically equal reformulation would not reproduce diffusers. In an fp16/bf16 graph the whole update is
 * one {@code linearCombination} a·x + b·m (+ c·noise) in float32 ({@link EulerStepCoefficients}), rounded once to the
 * latents' dtype, where diffusers upcasts the sample to float32 and casts the result back.
 */
public final class EulerStepGraph {
    static final String SCALE = "euler.input_divisor", INPUT_FACTOR = "euler.input_factor", SIGMA_HAT = "euler.sigma_hat", DT = "euler.dt", C_OUT = "euler.c_out",
            SIGMA_SQ_PLUS_ONE = "euler.sigma_sq_plus_one", CHURN_SCALE = "euler.churn_scale", S_NOISE = "euler.s_noise",
            COEFFICIENTS = "euler.coefficients", NOISE = "euler.noise";

    private final PredictionType prediction;
    private final boolean exactOrder, churn;
    private final Map<String, Value> inputs = new LinkedHashMap<>();

    private EulerStepGraph(PredictionType prediction, boolean exactOrder, boolean churn) {
        this.prediction = prediction;
        this.exactOrder = exactOrder;
        this.churn = churn;
    }

    /**
     * Declares the per-step inputs in {@code g}.
     * @param churn whether any step adds churn noise (s_churn &gt; 0 inside [s_tmin, s_tmax]): the graph then takes a
     *              standard normal noise tensor shaped like the latents, F32, as input {@link #NOISE}
     */
    public static EulerStepGraph declare(TaskGraph g, PredictionType prediction, boolean churn, int... latentShape) {
        EulerStepGraph s = new EulerStepGraph(prediction, g.activation() == DType.F32, churn);
        if (s.exactOrder) {
            s.scalar(g, SCALE);
            s.scalar(g, SIGMA_HAT);
            s.scalar(g, DT);
            if (prediction == PredictionType.V_PREDICTION) {
                s.scalar(g, C_OUT);
                s.scalar(g, SIGMA_SQ_PLUS_ONE);
            }
            if (churn) {
                s.scalar(g, CHURN_SCALE);
                s.scalar(g, S_NOISE);
            }
        } else {
            s.scalar(g, INPUT_FACTOR);
            s.inputs.put(COEFFICIENTS, g.input(COEFFICIENTS, DType.F32, churn ? 3 : 2));
        }
        if (churn) s.inputs.put(NOISE, g.input(NOISE, DType.F32, latentShape));
        return s;
    }

    private void scalar(TaskGraph g, String name) { inputs.put(name, g.input(name, DType.F32, 1)); }

    /** diffusers' {@code scale_model_input}: x / √(σ² + 1) (in fp16/bf16: x · (1/√(σ² + 1)) in float32). */
    public Value scaleModelInput(TaskGraph g, Value x) {
        return exactOrder ? g.div(x, inputs.get(SCALE)) : g.linearCombination(inputs.get(INPUT_FACTOR), x);
    }

    /** diffusers' {@code step(m, t, x).prev_sample}: x and m shaped alike. */
    public Value step(TaskGraph g, Value x, Value m) {
        if (!exactOrder) {
            Value k = inputs.get(COEFFICIENTS);
            return churn ? g.linearCombination(k, x, m, inputs.get(NOISE)) : g.linearCombination(k, x, m);
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
        return g.add(x, g.mul(derivative, inputs.get(DT)));
    }

    /** The graph inputs of step {@code stepIndex}, computed in float32 as diffusers computes its scalars. */
    public Map<String, Tensor> inputs(EulerDiscreteScheduler scheduler, int stepIndex, EulerChurn churnSettings) {
        EulerStepCoefficients k = scheduler.coefficients(stepIndex, churnSettings);
        Map<String, Tensor> in = new LinkedHashMap<>();
        if (exactOrder) {
            in.put(SCALE, scalar(scheduler.scaleModelInputDivisor(stepIndex)));
            float sigma = k.sigma(), sigmaHat = k.sigmaHat();
            in.put(SIGMA_HAT, scalar(sigmaHat));
            in.put(DT, scalar(k.sigmaNext() - sigmaHat));
            if (prediction == PredictionType.V_PREDICTION) {
                float sq1 = sigma * sigma + 1f;
                in.put(C_OUT, scalar(-sigma / (float) Math.sqrt(sq1)));
                in.put(SIGMA_SQ_PLUS_ONE, scalar(sq1));
            }
            if (churn) {
                in.put(CHURN_SCALE, scalar(k.needsNoise() ? (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma) : 0f));
                in.put(S_NOISE, scalar((float) churnSettings.sNoise()));
            }
        } else {
            in.put(INPUT_FACTOR, scalar(scheduler.scaleModelInputFactor(stepIndex)));
            in.put(COEFFICIENTS, churn ? Tensor.fromFloats(new float[]{k.a(), k.b(), k.c()}, 3) : Tensor.fromFloats(new float[]{k.a(), k.b()}, 2));
        }
        return in;
    }

    /** Whether this graph takes churn noise ({@link #NOISE}); the caller binds a fresh standard normal draw per step. */
    public boolean takesNoise() { return churn; }

    /** The noise input's name. */
    public static String noiseInput() { return NOISE; }

    private static Tensor scalar(float v) { return Tensor.fromFloats(new float[]{v}, 1); }
}
