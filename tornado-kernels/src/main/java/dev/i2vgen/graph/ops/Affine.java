package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** x · scale + shift, element-wise. */
public record Affine(float scale, float shift) implements Op {
    public String name() { return "affine"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        return in.get(0).shape();
    }
}
