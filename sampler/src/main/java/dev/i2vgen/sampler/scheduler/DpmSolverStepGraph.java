package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * DPMSolverMultistepScheduler's step as tasks of a denoising-step graph (made by
 * {@link DpmSolverMultistepScheduler#stepGraph}), with the solver's history on the device. Two linear combinations:
 * <pre>
 *   D  = p·x + q·m                                  convert_model_output (x0 or ε, by algorithm and prediction type)
 *   x' = a·x + c0·D + c1·D_{−1} + c2·D_{−2} (+ s·noise)
 * </pre>
 * where D_{−k} is the converted output of k steps before, kept in a {@link HistorySlots} ring (one slot per age the
 * schedule's highest order reads), and the noise is the sde variants' standard normal draw of every step. The
 * second- and third-order updates are expanded into the weights c0..c2 ({@link DpmSolverUpdateScalars#outputWeights})
 * in double from diffusers' float32 scalars; each step's order follows from its index (warm-up, lower_order_final,
 * euler_at_final, final_sigmas_type), fixed when the graph is built.
 */
public final class DpmSolverStepGraph implements StepGraph {
    static final String CONVERT = "dpm.convert", UPDATE = "dpm.update", NOISE = "dpm.noise", HISTORY = "dpm.history",
            CONVERTED = "dpm.converted";

    private final DpmSolverMultistepConfig config;
    private final float[] sigmas;
    private final int firstStep;
    private final int[] orders;
    private final int[] sampleShape;
    private final HistorySlots history;
    private final Value convert, update, noise;

    private DpmSolverStepGraph(DpmSolverMultistepConfig config, float[] sigmas, int firstStep, int[] orders,
                               int[] sampleShape, HistorySlots history, Value convert, Value update, Value noise) {
        this.config = config;
        this.sigmas = sigmas;
        this.firstStep = firstStep;
        this.orders = orders;
        this.sampleShape = sampleShape;
        this.history = history;
        this.convert = convert;
        this.update = update;
        this.noise = noise;
    }

    /**
     * Declares the step's inputs in {@code g}.
     *
     * @param sigmas    the schedule's sigmas, final one included
     * @param firstStep the step index the run starts at (0, or the begin index)
     * @param orders    each step's solver order (entries before {@code firstStep} unused), checked by the scheduler
     */
    static DpmSolverStepGraph declare(TaskGraph g, DpmSolverMultistepConfig config, float[] sigmas, int firstStep,
                                      int[] orders, int... sampleShape) {
        if (sampleShape.length == 0) throw new IllegalArgumentException("stepGraph: sampleShape must not be empty");
        int highestOrder = 1;
        for (int i = firstStep; i < orders.length; i++) highestOrder = Math.max(highestOrder, orders[i]);
        HistorySlots history = HistorySlots.declare(g, HISTORY, highestOrder - 1, sampleShape);
        boolean stochastic = config.algorithmType().stochastic();
        Value convert = g.input(CONVERT, DType.F32, 2);
        Value update = g.input(UPDATE, DType.F32, 2 + history.size() + (stochastic ? 1 : 0));
        Value noise = stochastic ? g.input(NOISE, DType.F32, sampleShape) : null;
        return new DpmSolverStepGraph(config, sigmas.clone(), firstStep, orders.clone(), sampleShape.clone(), history,
                convert, update, noise);
    }

    /** DPM-Solver does not scale the model input. */
    @Override
    public Value scaleModelInput(TaskGraph g, Value x) { return x; }

    @Override
    public Value scaleModelInputApart(TaskGraph g, Value x) { return x; }

    @Override
    public Value step(TaskGraph g, Value x, Value m) {
        Value converted = g.linearCombination(convert, x, m);
        if (history.size() > 0) g.output(CONVERTED, converted);
        Value[] slots = history.values();
        Value[] terms = new Value[2 + slots.length + (noise != null ? 1 : 0)];
        terms[0] = x;
        terms[1] = converted;
        System.arraycopy(slots, 0, terms, 2, slots.length);
        if (noise != null) terms[terms.length - 1] = noise;
        return g.linearCombination(update, terms);
    }

    /**
     * The conversion weights, the update weights (x, D, the history slots by what they hold, the noise) and, for the
     * sde variants, a fresh {@code randn(sampleShape)} from {@code generator}, drawn every step as diffusers does.
     */
    @Override
    public Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator) {
        int order = order(stepIndex);
        if (noise != null && generator == null) throw new IllegalArgumentException("inputs: "
                + config.algorithmType().configName() + " draws noise every step: pass a TorchGenerator");
        DpmSolverUpdateScalars k = DpmSolverUpdateScalars.at(config, sigmas, stepIndex, order);
        double[] weights = k.outputWeights();
        float[] byAge = new float[weights.length - 1];
        for (int age = 1; age < weights.length; age++) byAge[age - 1] = (float) weights[age];
        float[] slotWeights = history.bySlot(stepIndex, byAge);

        float[] coefficients = new float[2 + slotWeights.length + (noise != null ? 1 : 0)];
        coefficients[0] = k.a();
        coefficients[1] = (float) weights[0];
        System.arraycopy(slotWeights, 0, coefficients, 2, slotWeights.length);
        if (noise != null) coefficients[coefficients.length - 1] = k.noiseScale();

        double[] form = DpmSolverModelOutput.linearForm(config, sigmas[stepIndex]);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put(CONVERT, Tensor.fromFloats(new float[]{(float) form[0], (float) form[1]}, 2));
        in.put(UPDATE, Tensor.fromFloats(coefficients, coefficients.length));
        if (noise != null) in.put(NOISE, generator.randnTensor(sampleShape));
        return in;
    }

    /** The history slots, zeroed. */
    @Override
    public Map<String, Tensor> initialState() { return history.initialState(); }

    /** The step's converted output into the history ring. */
    @Override
    public void afterStep(ExecutionPlan plan, int stepIndex) { history.store(plan, CONVERTED, stepIndex); }

    /** The solver order of step {@code stepIndex}, as the scheduler's host step would take it. */
    public int order(int stepIndex) {
        if (stepIndex < firstStep || stepIndex >= orders.length) throw new IllegalArgumentException("step index "
                + stepIndex + " is outside this run's " + firstStep + ".." + (orders.length - 1));
        return orders[stepIndex];
    }
}
