package dev.i2vgen.graph;

import java.util.List;

/** One kernel invocation of a graph: an op, its input values (null for absent optional inputs) and its output. */
public record Task(int index, Op op, List<Value> inputs, Value output, String label) {
    /** The input at {@code i}, or null when the optional input was not given. */
    public Value input(int i) { return i < inputs.size() ? inputs.get(i) : null; }
}
