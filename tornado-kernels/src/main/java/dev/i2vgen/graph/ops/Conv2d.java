package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * 2-D cross-correlation (no flip). Inputs x[N, C, H, W], weight[O, C, kh, kw], optional bias[O].
 * Zero padding may be asymmetric (the VAE's downsampler pads only right and bottom).
 * Output [N, O, (H + padTop + padBottom - kh) / strideH + 1, (W + padLeft + padRight - kw) / strideW + 1].
 */
public record Conv2d(int strideH, int strideW, int padTop, int padBottom, int padLeft, int padRight) implements Op {
    public static Conv2d of(int stride, int pad) { return new Conv2d(stride, stride, pad, pad, pad, pad); }

    public String name() { return "conv2d"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 3);
        Value x = in.get(0), w = in.get(1);
        Shapes.rank(name(), "input", x, 4);
        Shapes.rank(name(), "weight", w, 4);
        Shapes.check(x.dim(1) == w.dim(1), name(), "input channels " + Shapes.s(x) + " != weight " + Shapes.s(w));
        int h = (x.dim(2) + padTop + padBottom - w.dim(2)) / strideH + 1;
        int wd = (x.dim(3) + padLeft + padRight - w.dim(3)) / strideW + 1;
        Shapes.check(h > 0 && wd > 0, name(), "empty output for input " + Shapes.s(x) + " and kernel " + Shapes.s(w));
        if (in.size() == 3 && in.get(2) != null) Shapes.check(in.get(2).numel() == w.dim(0), name(), "bias size != out channels");
        return new int[]{x.dim(0), w.dim(0), h, wd};
    }
}
