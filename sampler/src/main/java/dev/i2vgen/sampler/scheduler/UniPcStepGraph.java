package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.LinearCombination;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link UniPcMultistepScheduler}'s step as tasks of a denoising-step graph. Every part of diffusers' step is linear
 * in the sample x, the model output m, the last sample and the converted outputs of earlier steps, so a step is
 * three linear combinations whose coefficients change per step (graph inputs, from {@link #inputs}):
 * <ol>
 *   <li>D = a·x + b·m, the converted output (x0 when predict_x0, else ε), output {@value #CONVERTED};</li>
 *   <li>x_c = UniC of the last prediction, from last_sample, the earlier outputs D_{i−1}, D_{i−2}, … and D; on the
 *       first step and after a step listed in disable_corrector, x itself (weight 1 on x, 0 elsewhere); output
 *       {@value #CORRECTED};</li>
 *   <li>x_next = UniP from x_c with D and the earlier outputs.</li>
 * </ol>
 * The state stays on the device: the last solver_order converted outputs in a {@link HistorySlots} ring, and
 * last_sample, which {@link #afterStep} copies from x_c. The orders follow from the step index, as the host's
 * warm-up counter does: the run starts at the scheduler's begin index (0 unless set), and steps run in order.
 *
 * <p>The weights are computed in double from the port's float32 scalars (α, σ, e^ĥ − 1, B(ĥ), the r_k and ρ of
 * {@link UniPcUpdate}, ρ from its float32 linear solve), so where diffusers rounds each tensor operation of the
 * update, the graph rounds once per linear combination; in float32 the two stay within about 1e-6 of the largest
 * |x_next| (2.3e-6 at worst over UniPcStepGraphTest's grid, with 25 steps of order 3 and no lowering at the end).
 * A combination of more than {@value LinearCombination#MAX_TERMS} terms (solver_order ≥ 6) is chained over several
 * tasks.
 */
final class UniPcStepGraph implements StepGraph {
    static final String CONVERT = "unipc.convert", CORRECT = "unipc.correct", PREDICT = "unipc.predict",
            HISTORY = "unipc.history", LAST_SAMPLE = "unipc.last_sample", CONVERTED = "unipc.converted",
            CORRECTED = "unipc.corrected";

    private final UniPcMultistepConfig config;
    /** The schedule's float32 sigmas with the final one, as at {@link #declare} (a later setTimesteps does not move them). */
    private final float[] sigmas;
    private final int steps, firstStep;
    private final int[] shape;
    private final HistorySlots history;
    private final Value lastSample;
    private final ChainedCombination convert, correct, predict;

    private UniPcStepGraph(UniPcMultistepConfig config, float[] sigmas, int steps, int firstStep, int[] shape,
                           HistorySlots history, Value lastSample, ChainedCombination convert,
                           ChainedCombination correct, ChainedCombination predict) {
        this.config = config;
        this.sigmas = sigmas;
        this.steps = steps;
        this.firstStep = firstStep;
        this.shape = shape;
        this.history = history;
        this.lastSample = lastSample;
        this.convert = convert;
        this.correct = correct;
        this.predict = predict;
    }

    /**
     * Declares the step's inputs in {@code g} for the scheduler's current schedule (after setTimesteps, and
     * setBeginIndex where the run starts later).
     */
    static UniPcStepGraph declare(TaskGraph g, UniPcMultistepScheduler scheduler, int... sampleShape) {
        UniPcMultistepConfig c = scheduler.config();
        if (scheduler.numInferenceSteps() == 0) throw new IllegalStateException("UniPCMultistepScheduler.stepGraph:"
                + " call setTimesteps first (the graph is built for one schedule)");
        if (sampleShape.length == 0 || Arrays.stream(sampleShape).anyMatch(d -> d <= 0)) throw new IllegalArgumentException(
                "sampleShape must have at least one dimension, all positive, got " + Arrays.toString(sampleShape));
        if (!c.predictX0() && c.predictionType() == UniPcPredictionType.FLOW_PREDICTION) {
            // diffusers raises this at the first step; the graph cannot be built at all
            throw new IllegalArgumentException("prediction_type given as flow_prediction must be one of `epsilon`,"
                    + " `sample`, or `v_prediction` for the UniPCMultistepScheduler with predict_x0 = false.");
        }
        int order = c.solverOrder();
        HistorySlots history = HistorySlots.declare(g, HISTORY, order, sampleShape);
        Value lastSample = g.input(LAST_SAMPLE, g.activation(), sampleShape);
        return new UniPcStepGraph(c, scheduler.sigmas(), scheduler.numInferenceSteps(),
                scheduler.beginIndex().orElse(0), sampleShape.clone(), history, lastSample,
                ChainedCombination.declare(g, CONVERT, 2),
                ChainedCombination.declare(g, CORRECT, 3 + order),
                ChainedCombination.declare(g, PREDICT, 2 + order));
    }

    /** The identity: UniPC does not scale the model input. */
    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value scaleModelInputApart(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        Value converted = g.output(CONVERTED, convert.apply(g, x, m));
        Value[] slots = history.values();
        Value corrected = g.output(CORRECTED, correct.apply(g, concat(new Value[]{x, lastSample, converted}, slots)));
        return predict.apply(g, concat(new Value[]{corrected, converted}, slots));
    }

    /** Step {@code stepIndex}'s weights; UniPC draws no noise, so {@code generator} is not used. */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        if (stepIndex < firstStep || stepIndex >= steps) throw new IllegalArgumentException("stepIndex " + stepIndex
                + " is outside the run's steps " + firstStep + ".." + (steps - 1));
        Map<String, Tensor> in = new LinkedHashMap<>();
        convert.put(in, conversionWeights(stepIndex));
        correct.put(in, correctorWeights(stepIndex));
        predict.put(in, predictorWeights(stepIndex));
        return in;
    }

    /** Zeros for the history and last_sample: they carry weight 0 until a step has written them. */
    @Override
    public Map<String, Tensor> initialState() {
        Map<String, Tensor> zeros = new LinkedHashMap<>(history.initialState());
        zeros.put(LAST_SAMPLE, Tensor.allocate(DType.F32, shape));
        return zeros;
    }

    /** diffusers' history shift (D into the ring) and {@code last_sample = sample} (x_c). */
    @Override
    public void afterStep(ExecutionPlan plan, int stepIndex) {
        history.store(plan, CONVERTED, stepIndex);
        plan.copy(CORRECTED, LAST_SAMPLE);
    }

    /** (a, b) of D = a·x + b·m, diffusers' convert_model_output at sigma {@code i}. */
    private float[] conversionWeights(int i) {
        float sigma = sigmas[i];
        UniPcAlphaSigma as = UniPcAlphaSigma.of(sigma, config.useFlowSigmas());
        double alpha = as.alpha(), sigmaT = as.sigma();
        if (config.predictX0()) {
            return switch (config.predictionType()) {
                case EPSILON -> floats(1 / alpha, -sigmaT / alpha);
                case SAMPLE -> floats(0, 1);
                case V_PREDICTION -> floats(alpha, -sigmaT);
                // the schedule sigma itself, as the host port and diffusers use it
                case FLOW_PREDICTION -> floats(1, -(double) sigma);
            };
        }
        return switch (config.predictionType()) {
            case EPSILON -> floats(0, 1);
            case SAMPLE -> floats(1 / sigmaT, -alpha / sigmaT);
            case V_PREDICTION -> floats(sigmaT, alpha);
            case FLOW_PREDICTION -> throw new IllegalStateException("flow_prediction needs predict_x0 (declare refuses it)");
        };
    }

    /**
     * Weights of (x, last_sample, D, slots…) for x_c. UniC of the update from sigma i − 1 to i, at the order of
     * that step's prediction: x_c = r·last − s_0·D_{i−1} − B·(Σ_k ρ_k·(D_{i−1−k} − D_{i−1})/r_k + ρ_T·(D − D_{i−1})),
     * with r, s_0 and B = α_t·B(ĥ) (σ_t on ε) the float32 scalars diffusers forms.
     */
    private float[] correctorWeights(int i) {
        int order = config.solverOrder();
        if (!corrects(i)) {
            float[] identity = new float[3 + order];
            identity[0] = 1;
            return identity;
        }
        int thisOrder = predictorOrder(i - 1);
        UniPcUpdate u = update(i, i - 1, thisOrder);
        float[] rhos = UniPcMultistepScheduler.solve(u::correctorRhos, i, "corrector", thisOrder);
        double scale = higherOrderScale(u), rhoNew = rhos[thisOrder - 1];
        double[] byAge = new double[thisOrder];
        byAge[0] = -m0Scale(u) + scale * rhoNew;
        for (int k = 1; k < thisOrder; k++) {
            double w = scale * rhos[k - 1] / u.rks()[k - 1];
            byAge[k] = -w;
            byAge[0] += w;
        }
        return concat(floats(0, sampleRatio(u), -scale * rhoNew), history.bySlot(i, floats(byAge)));
    }

    /**
     * Weights of (x_c, D, slots…) for x_next. UniP from sigma i to i + 1:
     * x_next = r·x_c − s_0·D − B·Σ_k ρ_k·(D_{i−k} − D)/r_k.
     */
    private float[] predictorWeights(int i) {
        int order = predictorOrder(i);
        UniPcUpdate u = update(i + 1, i, order);
        float[] rhos = UniPcMultistepScheduler.solve(u::predictorRhos, i, "predictor", order);
        double scale = higherOrderScale(u), onSample = sampleRatio(u), onLatest = -m0Scale(u);
        double[] byAge = new double[order - 1];
        for (int k = 1; k < order; k++) {
            double w = scale * rhos[k - 1] / u.rks()[k - 1];
            byAge[k - 1] = -w;
            onLatest += w;
        }
        // diffusers subtracts B·0 at order 1: NaN where B is infinite (bh1 onto σ = 0), as the host port
        if (order == 1) onSample -= scale * 0.0;
        return concat(floats(onSample, onLatest), history.bySlot(i, floats(byAge)));
    }

    /** diffusers' use_corrector: not on the run's first step (no last_sample yet), nor after a disabled step. */
    private boolean corrects(int i) {
        return i > firstStep && !config.correctorDisabledAfter(i - 1);
    }

    /** The order of step i's prediction: the host's rule, with the steps this run has taken before i. */
    private int predictorOrder(int i) {
        return UniPcMultistepScheduler.predictorOrder(config, steps, i, i - firstStep);
    }

    private UniPcUpdate update(int t, int s0, int order) {
        return UniPcUpdate.of(sigmas, t, s0, order, config.useFlowSigmas(), config.predictX0(), config.solverType());
    }

    /** σ_t/σ_s0 on x0, α_t/α_s0 on ε: the sample's weight in the first-order update (a float32 0-d division). */
    private static double sampleRatio(UniPcUpdate u) {
        return u.predictX0() ? u.sigmaT() / u.sigmaS0() : u.alphaT() / u.alphaS0();
    }

    /** α_t·(e^ĥ − 1) on x0, σ_t·(e^ĥ − 1) on ε: the latest output's weight in the first-order update (float32). */
    private static double m0Scale(UniPcUpdate u) {
        return (u.predictX0() ? u.alphaT() : u.sigmaT()) * u.hPhi1();
    }

    /** α_t·B(ĥ) on x0, σ_t·B(ĥ) on ε: the scale of the higher-order terms (float32). */
    private static double higherOrderScale(UniPcUpdate u) {
        return (u.predictX0() ? u.alphaT() : u.sigmaT()) * u.bH();
    }

    private static float[] floats(double... values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) out[i] = (float) values[i];
        return out;
    }

    private static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static Value[] concat(Value[] a, Value[] b) {
        Value[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * Σ c_i·t_i over any number of terms: one linear_combination task where the terms fit, else a chain in which each
     * later task adds up to {@value LinearCombination#MAX_TERMS} − 1 more terms to the sum so far (weight 1 on it).
     * Its coefficient inputs are {@code name}, then {@code name.1}, {@code name.2}, ….
     */
    private static final class ChainedCombination {
        private final String name;
        private final Value[] coefficients;
        private final int terms;

        private ChainedCombination(String name, Value[] coefficients, int terms) {
            this.name = name;
            this.coefficients = coefficients;
            this.terms = terms;
        }

        static ChainedCombination declare(TaskGraph g, String name, int terms) {
            int chunks = 1 + Math.ceilDiv(Math.max(0, terms - LinearCombination.MAX_TERMS), LinearCombination.MAX_TERMS - 1);
            Value[] coefficients = new Value[chunks];
            int left = terms;
            for (int j = 0; j < chunks; j++) {
                int own = Math.min(left, j == 0 ? LinearCombination.MAX_TERMS : LinearCombination.MAX_TERMS - 1);
                coefficients[j] = g.input(inputName(name, j), DType.F32, j == 0 ? own : own + 1);
                left -= own;
            }
            return new ChainedCombination(name, coefficients, terms);
        }

        Value apply(TaskGraph g, Value... values) {
            if (values.length != terms) throw new IllegalArgumentException(name + ": " + values.length
                    + " terms, expected " + terms);
            Value sum = null;
            int next = 0;
            for (Value c : coefficients) {
                int size = Math.toIntExact(c.numel());
                int own = sum == null ? size : size - 1;
                Value[] chunk = new Value[size];
                int at = 0;
                if (sum != null) chunk[at++] = sum;
                for (int k = 0; k < own; k++) chunk[at++] = values[next++];
                sum = g.linearCombination(c, chunk);
            }
            return sum;
        }

        /** Puts the weights of all terms, split as the tasks take them (1 on each carried sum). */
        void put(Map<String, Tensor> in, float[] weights) {
            if (weights.length != terms) throw new IllegalArgumentException(name + ": " + weights.length
                    + " weights, expected " + terms);
            int next = 0;
            for (int j = 0; j < coefficients.length; j++) {
                float[] chunk = new float[Math.toIntExact(coefficients[j].numel())];
                int at = 0;
                if (j > 0) chunk[at++] = 1f;
                while (at < chunk.length) chunk[at++] = weights[next++];
                in.put(inputName(name, j), Tensor.fromFloats(chunk, chunk.length));
            }
        }

        private static String inputName(String name, int chunk) {
            return chunk == 0 ? name : name + "." + chunk;
        }
    }
}
