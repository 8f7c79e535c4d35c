package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' BasicTransformerBlock (layer_norm, eps 1e-5): self-attention, second attention, GEGLU
 * feed-forward, each pre-normed and residual.
 */
public final class TransformerBlock {
    public static final float EPS = 1e-5f;

    private TransformerBlock() {}

    /**
     * @param t            tokens [b, L, d]
     * @param crossContext keys/values of attn2, [B, Lc, kvDim] per video (the reference repeats the
     *                     context for every frame; attending once per video over all its frames' queries
     *                     is the same computation); null makes attn2 a second self-attention
     *                     ("double_self_attention" of the temporal transformers)
     * @param video        splits b = N rows of frames into videos for the cross-attention
     */
    public static Value build(TaskGraph g, Weights w, Value t, Value crossContext, Video video, int headDim) {
        int d = t.dim(-1);
        Value n = layerNorm(g, w, "norm1", t);
        t = g.add(t, AttentionLayer.build(g, w.at("attn1"), n, n, d, headDim));
        n = layerNorm(g, w, "norm2", t);
        Value a = crossContext == null ? AttentionLayer.build(g, w.at("attn2"), n, n, d, headDim)
                : crossAttentionPerVideo(g, w.at("attn2"), n, crossContext, video, headDim);
        t = g.add(t, a);
        n = layerNorm(g, w, "norm3", t);
        return g.add(t, FeedForward.geglu(g, w.at("ff"), n, 4 * d));
    }

    /**
     * Cross-attention of token rows [b, L, d] (b = the video's rows, consecutive per video) to one context per video
     * [B, Lc, kvDim]: the rows of a video attend together, as if the context were repeated for each row.
     */
    public static Value crossAttentionPerVideo(TaskGraph g, Weights w, Value n, Value context, Video video, int headDim) {
        int rows = n.dim(0), len = n.dim(1), d = n.dim(2);
        Value perVideo = g.reshape(n, video.batch(), rows / video.batch() * len, d);
        return g.reshape(AttentionLayer.build(g, w, perVideo, context, d, headDim), rows, len, d);
    }

    public static Value layerNorm(TaskGraph g, Weights w, String name, Value x) {
        int d = x.dim(-1);
        return g.layerNorm(x, w.get(g, name + ".weight", d), w.get(g, name + ".bias", d), EPS);
    }
}
