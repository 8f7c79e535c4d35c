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
        if (crossContext == null) {
            n = layerNorm(g, w, "norm2", t);
            t = g.add(t, AttentionLayer.build(g, w.at("attn2"), n, n, d, headDim));
        } else {
            t = addCrossAttention(g, w, "norm2", "attn2", t, crossContext, video, headDim);
        }
        n = layerNorm(g, w, "norm3", t);
        return g.add(t, FeedForward.geglu(g, w.at("ff"), n, 4 * d));
    }

    /**
     * t + attention(norm(t), context): cross-attention of token rows t [b, L, d] (b = the videos' rows, consecutive
     * per video) to one context per video [B, Lc, kvDim]; the rows of a video attend together, as if the context were
     * repeated for each row. With a single context token (SVD's image embedding) the softmax over one key is exactly 1,
     * so every query gets that token's value: t + to_out(to_v(context)) per video, the same numbers without the norm,
     * the query and key projections and the attention (their weights are not read).
     */
    public static Value addCrossAttention(TaskGraph g, Weights w, String norm, String attention, Value t, Value context,
                                          Video video, int headDim) {
        int rows = t.dim(0), len = t.dim(1), d = t.dim(2), b = video.batch();
        if (context.dim(1) == 1) {
            Value o = AttentionLayer.singleKeyOutput(g, w.at(attention), context, d);   // [B, 1, d]
            return g.reshape(g.add(g.reshape(t, b, rows / b * len, d), o), rows, len, d);
        }
        Value n = layerNorm(g, w, norm, t);
        Value perVideo = g.reshape(n, b, rows / b * len, d);
        return g.add(t, g.reshape(AttentionLayer.build(g, w.at(attention), perVideo, context, d, headDim), rows, len, d));
    }

    public static Value layerNorm(TaskGraph g, Weights w, String name, Value x) {
        int d = x.dim(-1);
        return g.layerNorm(x, w.get(g, name + ".weight", d), w.get(g, name + ".bias", d), EPS);
    }
}
