package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * Conv3d with kernel (k, 1, 1) over the frame axis, zero padding (k-1)/2 frames on each side
 * (I2VGen-XL's temporal conv layers use k = 3). Inputs x, weight[O, C, k, 1, 1], optional bias[O].
 * Channels-first (the default): x[B, C, F, H, W] → [B, O, F, H, W]. Frames-first: x[B, F, C, H, W] →
 * [B, F, O, H, W], with an optional fourth input, a residual shaped like the output that is added to it
 * (the temporal conv layer's identity; a residual needs the bias input, so no input in the middle is null).
 */
public record TemporalConv(boolean framesFirst) implements Op {
    /** The channels-first layout x[B, C, F, H, W]. */
    public TemporalConv() { this(false); }

    public String name() { return "temporal_conv"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, framesFirst ? 4 : 3);
        Value x = in.get(0), w = in.get(1);
        int ca = framesFirst ? 2 : 1, fa = framesFirst ? 1 : 2;
        Shapes.rank(name(), "input", x, 5);
        Shapes.rank(name(), "weight", w, 5);
        Shapes.check(x.dim(ca) == w.dim(1), name(), "channels " + Shapes.s(x) + " vs weight " + Shapes.s(w));
        Shapes.check(w.dim(2) % 2 == 1 && w.dim(3) == 1 && w.dim(4) == 1, name(), "weight must be [O, C, odd k, 1, 1], got " + Shapes.s(w));
        int[] out = framesFirst ? new int[]{x.dim(0), x.dim(fa), w.dim(0), x.dim(3), x.dim(4)}
                : new int[]{x.dim(0), w.dim(0), x.dim(fa), x.dim(3), x.dim(4)};
        if (in.size() > 2 && in.get(2) != null) Shapes.check(in.get(2).numel() == w.dim(0), name(), "bias must have O = " + w.dim(0) + " elements");
        if (in.size() > 3) {
            Shapes.check(in.get(2) != null, name(), "a residual needs the bias input");
            Shapes.check(java.util.Arrays.equals(in.get(3).shape(), out), name(), "residual " + Shapes.s(in.get(3)) + " must have the output shape "
                    + java.util.Arrays.toString(out));
        }
        return out;
    }
}
