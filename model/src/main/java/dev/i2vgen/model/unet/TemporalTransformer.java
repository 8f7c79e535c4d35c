package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.TransformerBlock;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * TransformerTemporalModel: attention along the frames of each pixel (sequence b·h·w + y·w + x of length
 * F), two self-attentions and a GEGLU feed-forward, no positional encoding and no cross-attention.
 * Its GroupNorm's statistics span all frames of a video: diffusers runs it on [B, C, F, h, w]; here it runs on the
 * frame-major [B, F, C, h, w] with the channels on axis 2 (-Di2vgen.unet.temporalFramesFirst=false: diffusers' form).
 */
final class TemporalTransformer {
    static final float GN_EPS = 1e-6f;

    private TemporalTransformer() {}

    /** @param x [N, C, h, w] → same shape; the inner width is heads · headDim. */
    static Value build(TaskGraph g, Weights w, Video video, Value x, int heads, int headDim, int groups) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3), inner = heads * headDim;
        int b = video.batch(), f = video.frames();
        Value t;
        if ("false".equals(System.getProperty("i2vgen.unet.temporalFramesFirst"))) {   // diffusers' formulation
            t = g.permute(g.reshape(x, b, f, c, h, wd), 0, 2, 1, 3, 4);
            t = g.groupNorm(t, w.get(g, "norm.weight", c), w.get(g, "norm.bias", c), groups, GN_EPS, false);
            t = g.permute(t, 0, 3, 4, 2, 1);
        } else {
            // the same statistics with the channels on axis 2 of the frame-major video: no permute before the norm,
            // and the one after it is a plain transpose per frame (a backend may normalise while transposing)
            t = g.groupNorm(g.reshape(x, b, f, c, h, wd), w.get(g, "norm.weight", c), w.get(g, "norm.bias", c), groups, GN_EPS, false, 2);
            t = g.permute(t, 0, 3, 4, 1, 2);
        }
        t = g.reshape(t, b * h * wd, f, c);
        t = g.linear(t, w.get(g, "proj_in.weight", inner, c), w.get(g, "proj_in.bias", inner));
        t = TransformerBlock.build(g, w.at("transformer_blocks.0"), t, null, video, headDim);
        t = g.linear(t, w.get(g, "proj_out.weight", c, inner), w.get(g, "proj_out.bias", c));
        t = g.permute(g.reshape(t, b, h, wd, f, c), 0, 3, 4, 1, 2);
        return g.add(g.reshape(t, video.n(), c, h, wd), x);
    }
}
