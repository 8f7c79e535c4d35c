package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * A compiled graph on one backend, run as often as needed. Constants stay resident between runs;
 * inputs are copied in at the start of {@link #execute}; only {@link #read} moves data to the host.
 * <p>Loops (a denoising loop) avoid host round trips with bindings: {@link #bind} uploads an input once and
 * keeps it resident on the backend for every later run; {@link #copy} makes an output of the last run the
 * bound value of an input (loop-carried state, copied on the backend); {@link #execute()} runs with the
 * current bindings.
 */
public interface ExecutionPlan extends AutoCloseable {
    ImmutableTaskGraph graph();

    /**
     * Runs all tasks. {@code inputs} gives INPUT values for this run only (shape and dtype must match; F32 host
     * tensors are converted if needed); every input not given must have been {@link #bind bound} before.
     */
    void execute(Map<Value, Tensor> inputs);

    /** Runs all tasks with the current bindings ({@link #bind}, {@link #copy}) for every input. */
    default void execute() { execute(Map.of()); }

    /**
     * Uploads {@code host} (shape must match; its dtype the input's, or F32, then converted on the backend) as the
     * value of INPUT {@code input} for every later run, until bound again. The host tensor is not retained.
     */
    void bind(Value input, Tensor host);

    default void bind(String inputName, Tensor host) { bind(graph().input(inputName), host); }

    /**
     * Binds INPUT {@code input} to the current value of {@code output} (a graph output of the last run, same shape;
     * converted if the dtypes differ), without a trip through the host: loop-carried state between runs.
     */
    void copy(Value output, Value input);

    default void copy(String outputName, String inputName) { copy(graph().output(outputName), graph().input(inputName)); }

    /** Convenience: inputs by name. */
    default void executeByName(Map<String, Tensor> inputs) {
        Map<Value, Tensor> byValue = new java.util.HashMap<>();
        inputs.forEach((k, t) -> byValue.put(graph().input(k), t));
        execute(byValue);
    }

    /** Copies an output (or any value kept alive as an output) of the last run to a new host tensor (F32). */
    Tensor read(Value output);

    default Tensor read(String outputName) { return read(graph().output(outputName)); }

    /**
     * As {@link #execute(Map)}, but may return before the backend has finished the run (no host synchronisation
     * where the backend is asynchronous): results are seen through {@link #read}, {@link #readAsync} or a later
     * {@link #execute}; an error of the run may surface at such a later call. The host tensors given may be reused
     * as soon as it returns. Synchronous backends simply execute.
     */
    default void submit(Map<Value, Tensor> inputs) { execute(inputs); }

    /**
     * Captures {@code output} of the last run (or submitted run) for a copy to the host later: the value is kept
     * apart from later runs (on asynchronous backends a device copy is made only when a later run would overwrite
     * it), and {@link PendingRead#into} waits for it. A loop submits run i+1 and then copies run i out, so the host
     * copy overlaps the backend's work. Synchronous backends read at once.
     */
    default PendingRead readAsync(Value output) { return PendingRead.of(read(output)); }

    default PendingRead readAsync(String outputName) { return readAsync(graph().output(outputName)); }

    /**
     * A standing copy of this plan's {@code output} into {@code input} of {@code target}, a plan of this backend or of
     * another ({@link PlanLink}: e.g. one half of the guidance batch sent to the other device every step). Backends
     * that can copy device to device override this; the default goes through the host.
     */
    default PlanLink linkTo(Value output, ExecutionPlan target, Value input) {
        return PlanLink.throughHost(this, output, target, input);
    }

    default PlanLink linkTo(String outputName, ExecutionPlan target, String inputName) {
        return linkTo(graph().output(outputName), target, target.graph().input(inputName));
    }

    /** Bytes of intermediate buffers as planned (peak of simultaneously live intermediates, after reuse). */
    long plannedPeakBytes();

    @Override
    void close();
}
