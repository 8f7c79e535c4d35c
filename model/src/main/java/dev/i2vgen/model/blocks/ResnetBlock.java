package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' ResnetBlock2D, applied per frame: conv1(SiLU(GN(x))) [+ time_emb_proj(SiLU(emb))], then
 * conv2(SiLU(GN(h))), plus the (1×1-conv) shortcut. With a time embedding it is the UNets' block (I2VGen-XL's and
 * SVD's spatial half); without one, the VAEs'.
 */
public final class ResnetBlock {
    /** The UNets' default GroupNorm epsilon (diffusers' resnet_eps for I2VGen-XL). */
    public static final float EPS = 1e-5f;

    private ResnetBlock() {}

    /** The UNet block with diffusers' default epsilon. */
    public static Value build(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int outChannels, int groups) {
        return build(g, w, video, x, embSilu, outChannels, groups, EPS);
    }

    /**
     * @param x        [N, Cin, h, w]
     * @param video    splits N into videos of frames (needed only with a time embedding)
     * @param embSilu  SiLU(time embedding) per video, [B, E], or null for no time embedding: projected once per video
     *                 and broadcast over its frames (the reference repeats emb per frame first; the result is identical)
     */
    public static Value build(TaskGraph g, Weights w, Video video, Value x, Value embSilu, int outChannels, int groups, float eps) {
        int cin = x.dim(1), h = x.dim(2), wd = x.dim(3);
        // the time projection and the shortcut first: a backend may then fold each Add into the conv before it (the
        // CUDA islands' output transposes, ResidualFusion), which needs the other operand to exist already
        Value proj = null;
        if (embSilu != null) {
            int e = embSilu.dim(1);
            proj = g.linear(embSilu, w.get(g, "time_emb_proj.weight", outChannels, e), w.get(g, "time_emb_proj.bias", outChannels));
        }
        Value shortcut = x;
        if (cin != outChannels || w.has("conv_shortcut.weight")) {
            shortcut = g.conv2d(x, w.get(g, "conv_shortcut.weight", outChannels, cin, 1, 1), w.get(g, "conv_shortcut.bias", outChannels), 1, 0);
        }
        Value t = g.groupNorm(x, w.get(g, "norm1.weight", cin), w.get(g, "norm1.bias", cin), groups, eps, true);
        t = g.conv2d(t, w.get(g, "conv1.weight", outChannels, cin, 3, 3), w.get(g, "conv1.bias", outChannels), 1, 1);
        if (proj != null) {
            t = g.add(g.reshape(t, video.batch(), video.frames(), outChannels, h, wd), g.reshape(proj, video.batch(), 1, outChannels, 1, 1));
            t = g.reshape(t, video.n(), outChannels, h, wd);
        }
        t = g.groupNorm(t, w.get(g, "norm2.weight", outChannels), w.get(g, "norm2.bias", outChannels), groups, eps, true);
        t = g.conv2d(t, w.get(g, "conv2.weight", outChannels, outChannels, 3, 3), w.get(g, "conv2.bias", outChannels), 1, 1);
        return g.add(shortcut, t);
    }
}
