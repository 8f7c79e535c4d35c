package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * A compiled graph on one backend, run as often as needed. Constants stay resident between runs;
 * inputs are copied in at the start of {@link #execute}; only {@link #read} moves data to the host.
 */
public interface ExecutionPlan extends AutoCloseable {
    ImmutableTaskGraph graph();

    /** Binds every INPUT value (shape and dtype must match; F32 host tensors are converted if needed) and runs all tasks. */
    void execute(Map<Value, Tensor> inputs);

    /** Convenience: inputs by name. */
    default void executeByName(Map<String, Tensor> inputs) {
        Map<Value, Tensor> byValue = new java.util.HashMap<>();
        inputs.forEach((k, t) -> byValue.put(graph().input(k), t));
        execute(byValue);
    }

    /** Copies an output (or any value kept alive as an output) of the last run to a new host tensor (F32). */
    Tensor read(Value output);

    default Tensor read(String outputName) { return read(graph().output(outputName)); }

    /** Bytes of intermediate buffers as planned (peak of simultaneously live intermediates, after reuse). */
    long plannedPeakBytes();

    @Override
    void close();
}
