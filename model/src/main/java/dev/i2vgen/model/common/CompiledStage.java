package dev.i2vgen.model.common;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PendingRead;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model stage's graph compiled on a backend, run with host tensors by name. The convenience
 * runners of the model classes go through this; a stage that runs many times (a decode chunk, a
 * UNet step) keeps one and calls {@link #run} repeatedly, so weights are uploaded once.
 */
public final class CompiledStage implements AutoCloseable {
    private final ExecutionPlan plan;

    private CompiledStage(ExecutionPlan plan) { this.plan = plan; }

    public static CompiledStage compile(Backend backend, TaskGraph graph) {
        return new CompiledStage(backend.compile(graph.freeze()));
    }

    /** A plan compiled elsewhere (built ahead, on another thread); closing the stage closes the plan. */
    public static CompiledStage of(ExecutionPlan plan) { return new CompiledStage(plan); }

    public ImmutableTaskGraph graph() { return plan.graph(); }

    public ExecutionPlan plan() { return plan; }

    /**
     * Binds every input by name (shapes must match exactly; host tensors of another dtype are
     * converted), runs the graph and returns every output as an F32 host tensor.
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        plan.execute(bindInputs(inputs));
        ImmutableTaskGraph g = plan.graph();
        Map<String, Tensor> out = new LinkedHashMap<>();
        g.outputs().keySet().stream().sorted().forEach(name -> out.put(name, plan.read(name)));
        return out;
    }

    /**
     * As {@link #run} without reading: the run may still be in progress when this returns (asynchronous backends);
     * take its outputs with {@link #readAsync}. A loop of submit, readAsync, then the previous read's
     * {@link PendingRead#into} keeps the backend busy while the host copies results out.
     */
    public void submit(Map<String, Tensor> inputs) { plan.submit(bindInputs(inputs)); }

    /** Captures an output of the last run for a later copy to the host ({@link ExecutionPlan#readAsync}). */
    public PendingRead readAsync(String output) { return plan.readAsync(output); }

    private Map<Value, Tensor> bindInputs(Map<String, Tensor> inputs) {
        ImmutableTaskGraph g = plan.graph();
        if (!inputs.keySet().equals(g.inputs().keySet())) {
            throw new IllegalArgumentException("graph " + g.name() + ": inputs " + g.inputs().keySet()
                    + " expected, got " + inputs.keySet());
        }
        Map<Value, Tensor> bound = new HashMap<>();
        inputs.forEach((name, t) -> {
            Value v = g.input(name);
            if (!Arrays.equals(v.shape(), t.shape())) {
                throw new IllegalArgumentException("graph " + g.name() + ": input '" + name + "' must have shape "
                        + Arrays.toString(v.shape()) + ", got " + Arrays.toString(t.shape()));
            }
            bound.put(v, t.dtype() == v.dtype() && t.isContiguous() ? t : t.to(v.dtype()));
        });
        return bound;
    }

    @Override
    public void close() { plan.close(); }
}
