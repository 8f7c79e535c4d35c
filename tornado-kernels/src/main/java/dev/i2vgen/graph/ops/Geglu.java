package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** GEGLU gate: x[..., 2D] → x[..., :D] · gelu_erf(x[..., D:]) (diffusers' GEGLU after its projection). */
public record Geglu() implements Op {
    public String name() { return "geglu"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        int[] s = in.get(0).shape();
        Shapes.check(s[s.length - 1] % 2 == 0, name(), "last dim must be even, got " + Shapes.s(in.get(0)));
        s[s.length - 1] /= 2;
        return s;
    }
}
