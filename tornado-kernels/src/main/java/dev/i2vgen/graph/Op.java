package dev.i2vgen.graph;

import dev.i2vgen.tensor.DType;

import java.util.List;

/**
 * What a task computes. Ops are small immutable records (package {@code dev.i2vgen.graph.ops}) that
 * carry their scalar parameters and check/infer shapes; backends map each op class to a kernel.
 */
public interface Op {
    /** Short name used in errors, logs and profiles, e.g. "conv2d". */
    String name();

    /** Checks the inputs and returns the output shape; throws IllegalArgumentException naming the problem. */
    int[] outputShape(List<Value> inputs);

    /** Output dtype; by default the graph's activation dtype. */
    default DType outputDType(List<Value> inputs, DType activation) { return activation; }
}
