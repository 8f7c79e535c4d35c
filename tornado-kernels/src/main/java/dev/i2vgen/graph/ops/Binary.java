package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Element-wise a ∘ b with NumPy broadcasting. */
public record Binary(Kind kind) implements Op {
    public enum Kind { ADD, SUB, MUL, DIV }

    public String name() { return kind.name().toLowerCase(java.util.Locale.ROOT); }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 2);
        return Shapes.broadcast(name(), in.get(0).shape(), in.get(1).shape());
    }
}
