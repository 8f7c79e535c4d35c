package dev.i2vgen.model.unet;

import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * Four GN → SiLU → Conv3d(3,1,1) stages along the frame axis plus the identity. diffusers runs them on the permuted
 * [B, C, F, h, w] layout; here they stay frame-major [B, F, C, h, w] (a free reshape of [N, C, h, w]), with the
 * GroupNorms' channels on axis 2 (the same statistics, over all frames of a video) and frames-first convs, so no
 * permute is needed, and the identity is added by the last conv. The frame-major convs' GEMM rows are one frame's
 * h·w pixels; where h·w is not a multiple of 8 (rows not 16-byte aligned in fp16/bf16, e.g. the UNet's 11×20 level)
 * cuBLASLt measured 2.3× slower than the permuted per-tap form (H100: 0.56 vs 0.24 ms per conv), so such layers keep
 * diffusers' permuted formulation. {@code -Di2vgen.unet.temporalFramesFirst=true|false} forces one form everywhere
 * (A/B timings; false also for a backend without the frame-major ops).
 */
final class TemporalConvLayer {
    static final float EPS = 1e-5f;

    private TemporalConvLayer() {}

    /** @param x [N, C, h, w] → same shape. */
    static Value build(TaskGraph g, Weights w, Video video, Value x, int groups) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        String mode = System.getProperty("i2vgen.unet.temporalFramesFirst", "auto");
        if (mode.equals("false") || !mode.equals("true") && (long) h * wd % 8 != 0) return buildPermuted(g, w, video, x, groups);
        Value v = g.reshape(x, video.batch(), video.frames(), c, h, wd);
        Value u = v;
        for (int k = 1; k <= 4; k++) {
            // conv1 is Sequential(GN, SiLU, Conv3d); conv2..4 have a Dropout before the conv.
            Weights stage = w.at("conv" + k);
            String conv = k == 1 ? "2" : "3";
            u = g.groupNorm(u, stage.get(g, "0.weight", c), stage.get(g, "0.bias", c), groups, EPS, true, 2);
            u = g.temporalConvFramesFirst(u, stage.get(g, conv + ".weight", c, c, 3, 1, 1), stage.get(g, conv + ".bias", c), k == 4 ? v : null);
        }
        return g.reshape(u, video.n(), c, h, wd);
    }

    /** diffusers' formulation: permute to [B, C, F, h, w], the four stages, + identity, permute back. */
    static Value buildPermuted(TaskGraph g, Weights w, Video video, Value x, int groups) {
        int c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        Value v = g.permute(g.reshape(x, video.batch(), video.frames(), c, h, wd), 0, 2, 1, 3, 4);
        Value u = v;
        for (int k = 1; k <= 4; k++) {
            Weights stage = w.at("conv" + k);
            String conv = k == 1 ? "2" : "3";
            u = g.groupNorm(u, stage.get(g, "0.weight", c), stage.get(g, "0.bias", c), groups, EPS, true);
            u = g.temporalConv(u, stage.get(g, conv + ".weight", c, c, 3, 1, 1), stage.get(g, conv + ".bias", c));
        }
        Value y = g.permute(g.add(v, u), 0, 2, 1, 3, 4);
        return g.reshape(y, video.n(), c, h, wd);
    }
}
