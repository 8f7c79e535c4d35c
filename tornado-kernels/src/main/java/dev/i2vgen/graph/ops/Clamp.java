package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** min(max(x, min), max), element-wise. */
public record Clamp(float min, float max) implements Op {
    public String name() { return "clamp"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        return in.get(0).shape();
    }
}
