package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' Downsample2D with a conv, applied per frame: a stride-2 3×3 conv {@code conv} that keeps the channels.
 * The UNets' down blocks use padding 1; the VAE encoder's padding 0 pads one column on the right and one row at
 * the bottom instead (diffusers' F.pad(x, (0, 1, 0, 1))).
 */
public final class Downsample2D {
    private Downsample2D() {}

    /** x[N, C, h, w] → [N, C, ⌈h/2⌉, ⌈w/2⌉]; {@code w} holds {@code conv.weight} [C, C, 3, 3] and {@code conv.bias}. */
    public static Value build(TaskGraph g, Weights w, Value x, int padding) {
        Conv2d params = switch (padding) {
            case 1 -> Conv2d.of(2, 1);
            case 0 -> new Conv2d(2, 2, 0, 1, 0, 1);
            default -> throw new IllegalArgumentException("Downsample2D: padding must be 0 or 1, got " + padding);
        };
        int c = x.dim(1);
        Weights cw = w.at("conv");
        return g.conv2d(x, cw.get(g, "weight", c, c, 3, 3), cw.get(g, "bias", c), params);
    }
}
