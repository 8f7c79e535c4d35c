package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * Conv3d with kernel (k, 1, 1) over the frame axis, zero padding (k-1)/2 frames on each side
 * (I2VGen-XL's temporal conv layers use k = 3). Inputs x[B, C, F, H, W], weight[O, C, k, 1, 1],
 * optional bias[O]. Output [B, O, F, H, W].
 */
public record TemporalConv() implements Op {
    public String name() { return "temporal_conv"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 3);
        Value x = in.get(0), w = in.get(1);
        Shapes.rank(name(), "input", x, 5);
        Shapes.rank(name(), "weight", w, 5);
        Shapes.check(x.dim(1) == w.dim(1), name(), "channels " + Shapes.s(x) + " vs weight " + Shapes.s(w));
        Shapes.check(w.dim(2) % 2 == 1 && w.dim(3) == 1 && w.dim(4) == 1, name(), "weight must be [O, C, odd k, 1, 1], got " + Shapes.s(w));
        return new int[]{x.dim(0), w.dim(0), x.dim(2), x.dim(3), x.dim(4)};
    }
}
