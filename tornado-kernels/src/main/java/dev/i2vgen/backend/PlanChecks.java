package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * The argument checks every {@link ExecutionPlan} makes before touching its buffers, in one place so that the
 * backends reject the same misuse with the same message: values of another graph, host tensors of the wrong
 * shape or dtype, reads of intermediates whose buffers were reused, copies before the first run.
 */
public final class PlanChecks {
    private final ImmutableTaskGraph graph;
    private final Set<Integer> readable = new HashSet<>();   // value ids whose buffers hold their value after a run

    public PlanChecks(ImmutableTaskGraph graph) {
        this.graph = graph;
        for (Value v : graph.outputs().values()) readable.add(v.id());
        for (Value v : graph.values()) if (v.kind() != Value.Kind.INTERMEDIATE) readable.add(v.id());
    }

    /** {@code given} must be one of this graph's inputs. */
    public void checkInput(Value given) {
        if (given.kind() != Value.Kind.INPUT || graph.inputs().get(given.name()) != given) {
            throw new IllegalArgumentException("graph " + graph.name() + ": " + given + " is not an input of this graph");
        }
    }

    /** A host tensor for input {@code in}: same shape, and the input's dtype or F32. */
    public void checkHostTensor(Value in, Tensor t) {
        if (!Arrays.equals(t.shape(), in.shape())) {
            throw new IllegalArgumentException("graph " + graph.name() + ": input '" + in.name() + "' expects shape "
                    + Arrays.toString(in.shape()) + ", got " + Arrays.toString(t.shape()));
        }
        checkHostDtype(in, t);
    }

    /** A host tensor for input {@code in} holds the input's dtype or F32 (converted on the way in). */
    public void checkHostDtype(Value in, Tensor t) {
        if (t.dtype() != in.dtype() && t.dtype() != DType.F32) {
            throw new IllegalArgumentException("graph " + graph.name() + ": input '" + in.name() + "' expects dtype "
                    + in.dtype() + " (or F32), got " + t.dtype());
        }
    }

    /** An input left out of a run must have been bound (or copied into) before. */
    /**
     * A run's inputs where the plan takes host tensors as they are: each given value is an input of the graph with a
     * matching host tensor, and every input is given or bound ({@code bound}: by value id).
     */
    public void checkRunInputs(java.util.Map<Value, Tensor> inputs, java.util.function.IntPredicate bound) {
        for (Value given : inputs.keySet()) checkInput(given);
        for (Value in : graph.inputs().values()) {
            Tensor t = inputs.get(in);
            checkGivenOrBound(in, t, bound.test(in.id()));
            if (t != null) checkHostTensor(in, t);
        }
    }

    public void checkGivenOrBound(Value in, Tensor given, boolean bound) {
        if (given == null && !bound) {
            throw new IllegalArgumentException("graph " + graph.name() + ": input '" + in.name() + "' was neither given nor bound");
        }
    }

    /** {@code output} belongs to this graph and its buffer still holds it after a run (not reused by a later task). */
    public void checkReadable(Value output) {
        if (output.id() >= graph.values().size() || graph.values().get(output.id()) != output) {
            throw new IllegalArgumentException("graph " + graph.name() + ": " + output + " does not belong to this graph");
        }
        if (!readable.contains(output.id())) {
            throw new IllegalArgumentException("graph " + graph.name() + ": " + output
                    + " is not a graph output; its buffer is reused after its last use. Mark it with TaskGraph.output(...)");
        }
    }

    /** copy(output, input): only after a run has produced {@code output}, and only between equal shapes. */
    public void checkCopy(Value output, Value input, boolean ran) {
        if (!ran) throw new IllegalStateException("graph " + graph.name() + ": copy(" + output + ", " + input + ") before the first run");
        if (!Arrays.equals(output.shape(), input.shape())) {
            throw new IllegalArgumentException("graph " + graph.name() + ": cannot copy " + output + " into input '" + input.name()
                    + "': shape " + Arrays.toString(output.shape()) + " differs from " + Arrays.toString(input.shape()));
        }
    }

    /** A closed plan has released its buffers. */
    public void checkOpen(boolean closed) {
        if (closed) throw new IllegalStateException("execution plan of " + graph.name() + " is closed");
    }
}
