package dev.i2vgen.graph;

import dev.i2vgen.tensor.DType;

import java.util.List;
import java.util.Map;

/**
 * A frozen task graph: what a backend compiles. Tasks are in a valid execution order (the order they
 * were recorded); a backend may fuse neighbours, plan buffers and replay the whole graph.
 */
public record ImmutableTaskGraph(String name, DType activation, List<Value> values, List<Task> tasks,
                                 Map<String, Value> inputs, Map<String, Value> outputs) {

    public Value input(String name) {
        Value v = inputs.get(name);
        if (v == null) throw new IllegalArgumentException("graph " + this.name + " has no input '" + name + "' (inputs: " + inputs.keySet() + ")");
        return v;
    }

    public Value output(String name) {
        Value v = outputs.get(name);
        if (v == null) throw new IllegalArgumentException("graph " + this.name + " has no output '" + name + "' (outputs: " + outputs.keySet() + ")");
        return v;
    }

    /** Total bytes of the CONSTANT values (weights). */
    public long constantBytes() {
        return values.stream().filter(v -> v.kind() == Value.Kind.CONSTANT).mapToLong(Value::byteSize).sum();
    }
}
