package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' Upsample2D with a conv, applied per frame: nearest-neighbour upsampling (×2, or to the size of a skip
 * connection, see {@link UNetSkips}), then a 3×3 conv {@code conv} that keeps the channels.
 */
public final class Upsample2D {
    private Upsample2D() {}

    /** x[N, C, h, w] → [N, C, 2h, 2w]; {@code w} holds {@code conv.weight} [C, C, 3, 3] and {@code conv.bias}. */
    public static Value build(TaskGraph g, Weights w, Value x) {
        return build(g, w, x, null);
    }

    /** As {@link #build(TaskGraph, Weights, Value)}, but to the spatial size of {@code sizeOf} [.., .., H, W] when not null. */
    public static Value build(TaskGraph g, Weights w, Value x, Value sizeOf) {
        int c = x.dim(1);
        int outH = sizeOf == null ? 2 * x.dim(2) : sizeOf.dim(2), outW = sizeOf == null ? 2 * x.dim(3) : sizeOf.dim(3);
        Value up = g.upsampleNearest(x, outH, outW);
        Weights cw = w.at("conv");
        return g.conv2d(up, cw.get(g, "weight", c, c, 3, 3), cw.get(g, "bias", c), Conv2d.of(1, 1));
    }
}
