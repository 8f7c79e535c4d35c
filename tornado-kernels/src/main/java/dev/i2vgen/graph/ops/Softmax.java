package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Softmax over the last axis (max-subtracted, fp32). */
public record Softmax() implements Op {
    public String name() { return "softmax"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        return in.get(0).shape();
    }
}
