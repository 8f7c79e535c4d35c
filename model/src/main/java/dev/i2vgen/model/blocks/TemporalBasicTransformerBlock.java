package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' TemporalBasicTransformerBlock (SVD): attention along the frames of each token. Sequences are the F frames
 * of one spatial position; x = x + ff_in(norm_in(x)) (GEGLU), self-attention over the frames, cross-attention to the
 * video's context, GEGLU feed-forward, each pre-normed (LayerNorm eps 1e-5) and residual.
 */
public final class TemporalBasicTransformerBlock {
    private TemporalBasicTransformerBlock() {}

    /**
     * @param x        tokens per frame [B·F, S, C] (frames of a video consecutive)
     * @param position added to every frame's tokens first, [F, C] (SVD's frame-index embedding), or null; added
     *                 after the permute to sequences of frames, where it is one row [F·C] repeated for every sequence
     * @param context  one context per video [B, Lc, kvDim] (diffusers takes the first frame's, all frames have the same)
     * @return [B·F, S, C]
     */
    public static Value build(TaskGraph g, Weights w, Video video, Value x, Value position, Value context, int headDim) {
        int b = video.batch(), f = video.frames(), s = x.dim(1), c = x.dim(2);
        Value t = g.reshape(g.permute(g.reshape(x, b, f, s, c), 0, 2, 1, 3), b * s, f, c);
        if (position != null) t = g.reshape(g.add(g.reshape(t, b * s, f * c), g.reshape(position, 1, f * c)), b * s, f, c);
        t = g.add(t, FeedForward.geglu(g, w.at("ff_in"), TransformerBlock.layerNorm(g, w, "norm_in", t), 4 * c));
        Value n = TransformerBlock.layerNorm(g, w, "norm1", t);
        t = g.add(t, AttentionLayer.build(g, w.at("attn1"), n, n, c, headDim));
        t = TransformerBlock.addCrossAttention(g, w, "norm2", "attn2", t, context, video, headDim);
        n = TransformerBlock.layerNorm(g, w, "norm3", t);
        t = g.add(t, FeedForward.geglu(g, w.at("ff"), n, 4 * c));
        return g.reshape(g.permute(g.reshape(t, b, s, f, c), 0, 2, 1, 3), b * f, s, c);
    }
}
