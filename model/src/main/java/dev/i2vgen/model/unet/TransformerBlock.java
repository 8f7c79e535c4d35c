package dev.i2vgen.model.unet;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' BasicTransformerBlock (layer_norm, eps 1e-5): self-attention, second attention, GEGLU
 * feed-forward, each pre-normed and residual.
 */
final class TransformerBlock {
    static final float EPS = 1e-5f;

    private TransformerBlock() {}

    /**
     * @param t            tokens [b, L, d]
     * @param crossContext keys/values of attn2, [B, Lc, kvDim] per video (the reference repeats the
     *                     context for every frame; attending once per video over all its frames' queries
     *                     is the same computation); null makes attn2 a second self-attention
     *                     ("double_self_attention" of the temporal transformers)
     * @param video        splits b = N rows of frames into videos for the cross-attention
     */
    static Value build(TaskGraph g, Weights w, Value t, Value crossContext, Video video, int headDim) {
        int d = t.dim(-1);
        Value n = layerNorm(g, w, "norm1", t);
        t = g.add(t, AttentionLayer.build(g, w.at("attn1"), n, n, d, headDim));
        n = layerNorm(g, w, "norm2", t);
        Value a;
        if (crossContext == null) {
            a = AttentionLayer.build(g, w.at("attn2"), n, n, d, headDim);
        } else {
            int rows = t.dim(0), len = t.dim(1);
            Value perVideo = g.reshape(n, video.batch(), rows / video.batch() * len, d);
            a = g.reshape(AttentionLayer.build(g, w.at("attn2"), perVideo, crossContext, d, headDim), rows, len, d);
        }
        t = g.add(t, a);
        n = layerNorm(g, w, "norm3", t);
        return g.add(t, FeedForward.geglu(g, w.at("ff"), n, 4 * d));
    }

    static Value layerNorm(TaskGraph g, Weights w, String name, Value x) {
        int d = x.dim(-1);
        return g.layerNorm(x, w.get(g, name + ".weight", d), w.get(g, name + ".bias", d), EPS);
    }
}
