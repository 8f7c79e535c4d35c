package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Concatenation of all inputs along {@code axis}; other dims must agree. */
public record Concat(int axis) implements Op {
    public String name() { return "concat"; }

    public int[] outputShape(List<Value> in) {
        Shapes.check(!in.isEmpty(), name(), "no inputs");
        int[] out = in.get(0).shape();
        int ax = axis < 0 ? axis + out.length : axis;
        Shapes.check(ax >= 0 && ax < out.length, name(), "axis " + axis + " out of range for " + Shapes.s(in.get(0)));
        out[ax] = 0;
        for (Value v : in) {
            int[] s = v.shape();
            Shapes.check(s.length == out.length, name(), "rank differs: " + Shapes.s(v));
            for (int i = 0; i < s.length; i++) {
                if (i != ax) Shapes.check(s[i] == out[i], name(), "dim " + i + " differs: " + Shapes.s(in.get(0)) + " vs " + Shapes.s(v));
            }
            out[ax] += s[ax];
        }
        return out;
    }
}
