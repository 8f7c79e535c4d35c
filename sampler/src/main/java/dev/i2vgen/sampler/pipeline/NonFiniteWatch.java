package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.function.IntToDoubleFunction;

/**
 * Watches a run's numbers for NaN/Inf, so a run that went bad stops with a {@link NonFiniteValuesException} instead of
 * decoding a black video. A denoising loop on the backend is watched without a read per step: its step graph holds
 * a {@link TaskGraph#nonFiniteFlag} of the new latents (the first bad step, kept), each run gets the step index, the
 * flag is carried to the next run on the backend ({@link ExecutionPlan#copy}), and its 4 bytes are read only where
 * the loop reads from the backend anyway: with the listener's tensors and after the loop. Host tensors (conditioning,
 * host-stepped latents, decoded frames) are checked where they are.
 */
final class NonFiniteWatch {
    static final String PREVIOUS = "nonfinite.previous", STEP = "nonfinite.step", FLAG = "nonfinite.flag";

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final ExecutionPlan plan;
    private final String stage;
    private final String subject;
    private final int steps;
    private final IntToDoubleFunction timestepOf;
    private final List<String> hints;

    /** Adds the flag of {@code latents}, the step's new latents, to a step graph (inputs {@link #PREVIOUS}, {@link #STEP}; output {@link #FLAG}). */
    static void addTo(TaskGraph g, Value latents) {
        g.output(FLAG, g.nonFiniteFlag(latents, g.input(PREVIOUS, DType.F32, 1), g.input(STEP, DType.F32, 1)));
    }

    /**
     * Starts watching a plan of a graph built with {@link #addTo}: no step flagged yet.
     *
     * @param steps      the steps of the schedule, for the message
     * @param timestepOf the timestep of schedule step i, for the message
     */
    NonFiniteWatch(ExecutionPlan plan, String stage, String subject, int steps, IntToDoubleFunction timestepOf, List<String> hints) {
        this.plan = plan;
        this.stage = stage;
        this.subject = subject;
        this.steps = steps;
        this.timestepOf = timestepOf;
        this.hints = hints;
        plan.bind(PREVIOUS, Tensor.fromFloats(new float[]{0f}, 1));
    }

    /** Adds schedule step {@code i}'s index to the inputs of its run. */
    void step(Map<Value, Tensor> inputs, int i) {
        inputs.put(plan.graph().input(STEP), Tensor.fromFloats(new float[]{i}, 1));
    }

    /** After a run: its flag becomes the next run's previous flag, on the backend. */
    void carry() { plan.copy(FLAG, PREVIOUS); }

    /** Reads the flag (call only where the loop reads from the backend anyway) and throws if a step went bad. */
    void check() {
        float flag = plan.read(FLAG).getFlat(0);
        if (flag == 0) return;
        int index = (int) flag - 1;
        throw new NonFiniteValuesException(stage, subject, index + 1, steps, timestepOf.applyAsDouble(index), hints);
    }

    /** Throws if the host tensor {@code t} holds a NaN or ±Inf. */
    static void requireFinite(Tensor t, String stage, String subject, List<String> hints) {
        if (!allFinite(t)) throw new NonFiniteValuesException(stage, subject, hints);
    }

    static boolean allFinite(Tensor t) {
        if (t.dtype() == DType.F32 && t.isContiguous()) {   // decoded frames: tens of millions of values, read in place
            MemorySegment s = t.contiguousSegment();
            for (long i = 0, n = t.numel(); i < n; i++) if (!Float.isFinite(s.getAtIndex(F32, i))) return false;
            return true;
        }
        for (long i = 0, n = t.numel(); i < n; i++) if (!Float.isFinite(t.getFlat(i))) return false;
        return true;
    }

    static boolean allFinite(float[] values) {
        for (float v : values) if (!Float.isFinite(v)) return false;
        return true;
    }
}
