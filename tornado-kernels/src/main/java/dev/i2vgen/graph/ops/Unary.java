package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Element-wise function of one input. */
public record Unary(Kind kind) implements Op {
    public enum Kind {
        /** x·σ(x). */ SILU,
        /** exact erf GELU: 0.5·x·(1 + erf(x/√2)). */ GELU,
        /** tanh approximation of GELU. */ GELU_TANH,
        /** x·σ(1.702·x). */ QUICK_GELU,
        EXP, SIGMOID, TANH
    }

    public String name() { return kind.name().toLowerCase(java.util.Locale.ROOT); }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        return in.get(0).shape();
    }
}
