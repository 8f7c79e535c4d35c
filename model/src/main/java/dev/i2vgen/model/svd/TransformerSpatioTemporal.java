package dev.i2vgen.model.svd;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.blocks.AlphaBlender;
import dev.i2vgen.model.blocks.TemporalBasicTransformerBlock;
import dev.i2vgen.model.blocks.TransformerBlock;
import dev.i2vgen.model.blocks.Video;
import dev.i2vgen.model.common.Weights;
import dev.i2vgen.tensor.Tensor;

/**
 * diffusers' TransformerSpatioTemporalModel: GroupNorm per frame, tokens = a frame's pixels, proj_in; per layer a
 * spatial BasicTransformerBlock (self-attention, cross-attention to the image token, GEGLU), then the same tokens plus
 * a learned embedding of the frame index through a {@link TemporalBasicTransformerBlock} (attention over frames), the
 * two blended by the learned α (AlphaBlender); proj_out, back to [N, C, h, w], plus the input.
 */
final class TransformerSpatioTemporal {
    static final float GN_EPS = 1e-6f;

    private TransformerSpatioTemporal() {}

    /**
     * @param x       [N = B·F, C, h, w]
     * @param context [B, Lc, D], one per video (diffusers repeats it per frame)
     */
    static Value build(TaskGraph g, Weights w, Video video, Value x, Value context, int heads, int layers) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3), s = h * wd, headDim = c / heads;
        Value t = g.groupNorm(x, w.get(g, "norm.weight", c), w.get(g, "norm.bias", c), SpatioTemporalUNetConfig.NORM_GROUPS, GN_EPS, false);
        t = g.reshape(g.permute(t, 0, 2, 3, 1), n, s, c);
        t = g.linear(t, w.get(g, "proj_in.weight", c, c), w.get(g, "proj_in.bias", c));
        Value position = framePositionEmbedding(g, w.at("time_pos_embed"), video.frames(), c);   // [F, C]
        float alpha = AlphaBlender.alpha(w.at("time_mixer"), false);
        for (int k = 0; k < layers; k++) {
            t = TransformerBlock.build(g, w.at("transformer_blocks." + k), t, context, video, headDim);
            // h_mix = h + pos(f): the temporal block adds the position where its layout makes that a plain row broadcast
            Value mix = TemporalBasicTransformerBlock.build(g, w.at("temporal_transformer_blocks." + k), video, t, position, context, headDim);
            t = AlphaBlender.blend(g, w.path("time_mixer.blend_coefficients"), t, mix, alpha);
        }
        t = g.linear(t, w.get(g, "proj_out.weight", c, c), w.get(g, "proj_out.bias", c));
        t = g.permute(g.reshape(t, n, h, wd, c), 0, 3, 1, 2);
        return g.add(t, x);
    }

    /**
     * time_pos_embed(time_proj(f)) for f = 0..F−1 → [F, C]: the same for every video of the batch (diffusers computes
     * it per batch row). Timesteps(C, flip_sin_to_cos = true, shift 0), then Linear(C→4C), SiLU, Linear(4C→C).
     */
    private static Value framePositionEmbedding(TaskGraph g, Weights w, int frames, int c) {
        float[] index = new float[frames];
        for (int f = 0; f < frames; f++) index[f] = f;
        Value frame = g.constant("frame_index." + frames, Tensor.fromFloats(index, frames));
        Value e = g.timestepEmbedding(frame, c, true, 0f);
        e = g.silu(g.linear(e, w.get(g, "linear_1.weight", 4 * c, c), w.get(g, "linear_1.bias", 4 * c)));
        return g.linear(e, w.get(g, "linear_2.weight", c, 4 * c), w.get(g, "linear_2.bias", c));
    }
}
