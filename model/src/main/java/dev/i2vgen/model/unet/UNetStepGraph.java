package dev.i2vgen.model.unet;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;

/** A frozen graph for one UNet call at fixed shapes, ready to be compiled by any backend. */
public record UNetStepGraph(ImmutableTaskGraph graph, UNetShape shape, boolean recordsModules) {

    /** Elements of all weights the graph uses (generated helper constants such as pooling matrices excluded). */
    public long parameterCount(java.util.function.Predicate<String> isWeight) {
        return graph.values().stream()
                .filter(v -> v.kind() == Value.Kind.CONSTANT && isWeight.test(v.name()))
                .mapToLong(Value::numel).sum();
    }

    /** Names of the module outputs recorded in this graph (without the {@code unet0.} prefix). */
    public java.util.List<String> recordedModules() {
        return graph.outputs().keySet().stream()
                .filter(n -> n.startsWith(I2VGenXLUNet.MODULE_PREFIX))
                .map(n -> n.substring(I2VGenXLUNet.MODULE_PREFIX.length()))
                .sorted().toList();
    }
}
