package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.TransformerBlock;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * Transformer2DModel with linear proj_in/proj_out, applied per frame: tokens are the h·w pixels of one
 * frame (token y·w + x), self-attention among them and cross-attention to the conditioning context.
 */
final class SpatialTransformer {
    static final float GN_EPS = 1e-6f;

    private SpatialTransformer() {}

    /**
     * @param x       [N, C, h, w] → same shape
     * @param context [B, Lc, crossDim], one per video
     */
    static Value build(TaskGraph g, Weights w, Video video, Value x, Value context, int headDim, int groups) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        Value t = g.groupNorm(x, w.get(g, "norm.weight", c), w.get(g, "norm.bias", c), groups, GN_EPS, false);
        t = g.reshape(g.permute(t, 0, 2, 3, 1), n, h * wd, c);
        t = g.linear(t, w.get(g, "proj_in.weight", c, c), w.get(g, "proj_in.bias", c));
        t = TransformerBlock.build(g, w.at("transformer_blocks.0"), t, context, video, headDim);
        t = g.linear(t, w.get(g, "proj_out.weight", c, c), w.get(g, "proj_out.bias", c));
        t = g.permute(g.reshape(t, n, h, wd, c), 0, 3, 1, 2);
        return g.add(t, x);
    }
}
