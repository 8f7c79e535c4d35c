package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A multistep solver's history on the device: {@code size} buffers shaped like the sample (graph inputs), used as a
 * ring so that no step moves more than one buffer: the value a step produces is copied into slot {@code i mod size}
 * after step i, where it stays until it is the oldest. The step's linear combination then weighs the slots by the
 * age of what they hold ({@link #bySlot}), so the coefficients do the reordering on the host, for free.
 */
final class HistorySlots {
    private final String prefix;
    private final Value[] slots;
    private final int[] shape;

    private HistorySlots(String prefix, Value[] slots, int[] shape) {
        this.prefix = prefix;
        this.slots = slots;
        this.shape = shape;
    }

    /** Declares {@code size} history inputs {@code prefix.0 …} in the graph's activation dtype. */
    static HistorySlots declare(TaskGraph g, String prefix, int size, int... shape) {
        Value[] slots = new Value[size];
        for (int j = 0; j < size; j++) slots[j] = g.input(prefix + "." + j, g.activation(), shape);
        return new HistorySlots(prefix, slots, shape.clone());
    }

    int size() { return slots.length; }

    /** The slot inputs, in slot order (the order {@link #bySlot} returns coefficients in). */
    Value[] values() { return slots.clone(); }

    /** Zeros for every slot: a zero coefficient times a fresh slot must stay 0, never NaN. */
    Map<String, Tensor> initialState() {
        Map<String, Tensor> zeros = new LinkedHashMap<>();
        int n = 1;
        for (int d : shape) n *= d;
        for (int j = 0; j < slots.length; j++) zeros.put(slotName(j), Tensor.fromFloats(new float[n], shape));
        return zeros;
    }

    /**
     * Per-slot coefficients at step {@code stepIndex} from coefficients by age: {@code byAge[a − 1]} weighs the value
     * produced by step {@code stepIndex − a}. Ages beyond the steps run so far must have weight 0.
     */
    float[] bySlot(int stepIndex, float... byAge) {
        if (byAge.length > slots.length) throw new IllegalArgumentException(byAge.length + " ages for " + slots.length + " slots");
        float[] out = new float[slots.length];
        for (int a = 1; a <= byAge.length; a++) {
            if (byAge[a - 1] == 0f) continue;
            if (stepIndex - a < 0) throw new IllegalStateException("step " + stepIndex + " weighs the value of step "
                    + (stepIndex - a) + ", before the first");
            out[Math.floorMod(stepIndex - a, slots.length)] = byAge[a - 1];
        }
        return out;
    }

    /** After step {@code stepIndex}: its value (graph output {@code outputName}) into the ring. */
    void store(ExecutionPlan plan, String outputName, int stepIndex) {
        if (slots.length > 0) plan.copy(outputName, slotName(Math.floorMod(stepIndex, slots.length)));
    }

    private String slotName(int j) { return prefix + "." + j; }
}
