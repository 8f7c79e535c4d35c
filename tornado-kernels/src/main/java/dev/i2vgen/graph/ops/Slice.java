package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** Contiguous copy of [start, end) along {@code axis}. */
public record Slice(int axis, int start, int end) implements Op {
    public String name() { return "slice"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        int[] s = in.get(0).shape();
        int ax = axis < 0 ? axis + s.length : axis;
        Shapes.check(ax >= 0 && ax < s.length && start >= 0 && end <= s[ax] && start < end, name(),
                "[" + start + "," + end + ") out of range on axis " + axis + " of " + Shapes.s(in.get(0)));
        s[ax] = end - start;
        return s;
    }
}
