package dev.i2vgen.model.unet;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * Four GN → SiLU → Conv3d(3,1,1) stages along the frame axis plus the identity. The GroupNorms run on
 * the 5-D [B, C, F, h, w] layout, so their statistics span all frames of a video.
 */
final class TemporalConvLayer {
    static final float EPS = 1e-5f;

    private TemporalConvLayer() {}

    /** @param x [N, C, h, w] → same shape. */
    static Value build(TaskGraph g, Weights w, Video video, Value x, int groups) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        Value v = g.permute(g.reshape(x, video.batch(), video.frames(), c, h, wd), 0, 2, 1, 3, 4);
        Value u = v;
        for (int k = 1; k <= 4; k++) {
            // conv1 is Sequential(GN, SiLU, Conv3d); conv2..4 have a Dropout before the conv.
            Weights stage = w.at("conv" + k);
            String conv = k == 1 ? "2" : "3";
            u = g.groupNorm(u, stage.get(g, "0.weight", c), stage.get(g, "0.bias", c), groups, EPS, true);
            u = g.temporalConv(u, stage.get(g, conv + ".weight", c, c, 3, 1, 1), stage.get(g, conv + ".bias", c));
        }
        Value y = g.permute(g.add(v, u), 0, 2, 1, 3, 4);
        return g.reshape(y, video.n(), c, h, wd);
    }
}
