package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * Nearest-neighbour resize of x[N, C, H, W] to [N, C, outH, outW] with PyTorch's 'nearest' rule:
 * source index = floor(dst · in / out).
 */
public record UpsampleNearest(int outH, int outW) implements Op {
    public String name() { return "upsample_nearest"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        Shapes.rank(name(), "input", in.get(0), 4);
        int[] s = in.get(0).shape();
        s[2] = outH;
        s[3] = outW;
        return s;
    }
}
