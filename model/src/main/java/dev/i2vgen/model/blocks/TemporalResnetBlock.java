package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' TemporalResnetBlock (SVD's UNet and temporal VAE decoder): GN → SiLU → Conv3d(3,1,1)
 * [+ time_emb_proj(SiLU(emb)) per frame] → GN → SiLU → Conv3d(3,1,1), plus the input. diffusers runs it on the
 * permuted [B, C, F, h, w]; here it runs frame-major [B, F, C, h, w] (a free reshape of the frames-in-batch layout)
 * with the GroupNorms' channels on axis 2 (the same statistics, over all frames of a video) and frames-first convs,
 * so no permute is needed. Input and output channels are equal (no shortcut).
 */
public final class TemporalResnetBlock {
    private TemporalResnetBlock() {}

    /** x + {@link #branch}: the whole block. */
    public static Value build(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int groups, float eps) {
        return g.add(x, branch(g, w, video, x, embSilu, groups, eps));
    }

    /**
     * The residual branch alone (what the block adds to its input), so a caller that blends the block's output with
     * its input can scale the branch instead of blending two full tensors.
     *
     * @param x       [N = B·F, C, h, w], frames of a video consecutive
     * @param embSilu SiLU(time embedding) per video [B, E] (the reference repeats it per frame), or null (the VAE)
     * @return [N, C, h, w]
     */
    public static Value branch(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int groups, float eps) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3), b = video.batch(), f = video.frames();
        Value v = g.reshape(x, b, f, c, h, wd);
        Value u = g.groupNorm(v, w.get(g, "norm1.weight", c), w.get(g, "norm1.bias", c), groups, eps, true, 2);
        u = g.temporalConvFramesFirst(u, w.get(g, "conv1.weight", c, c, 3, 1, 1), w.get(g, "conv1.bias", c), null);
        if (embSilu != null) {
            int e = embSilu.dim(1);
            Value proj = g.linear(embSilu, w.get(g, "time_emb_proj.weight", c, e), w.get(g, "time_emb_proj.bias", c));
            u = g.add(u, g.reshape(proj, b, 1, c, 1, 1));
        }
        u = g.groupNorm(u, w.get(g, "norm2.weight", c), w.get(g, "norm2.bias", c), groups, eps, true, 2);
        u = g.temporalConvFramesFirst(u, w.get(g, "conv2.weight", c, c, 3, 1, 1), w.get(g, "conv2.bias", c), null);
        return g.reshape(u, video.n(), c, h, wd);
    }
}
