package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Row lookup: inputs table[V, D] and ids[...] (integer values, any numeric dtype) → [..., D]. */
public record Embedding() implements Op {
    public String name() { return "embedding"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 2);
        Shapes.rank(name(), "table", in.get(0), 2);
        int[] ids = in.get(1).shape();
        int[] out = java.util.Arrays.copyOf(ids, ids.length + 1);
        out[ids.length] = in.get(0).dim(1);
        return out;
    }
}
