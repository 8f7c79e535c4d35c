package dev.i2vgen.model.blocks;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.model.common.Weights;

/**
 * diffusers' {@code Attention} as used by the UNet: q/k/v projections (bias only if the checkpoint has
 * one), multi-head scaled dot product with scale 1/√headDim, output projection {@code to_out.0} with bias.
 * Heads are the interleaved channel groups of width headDim (head h owns channels h·headDim …).
 */
public final class AttentionLayer {
    private AttentionLayer() {}

    /**
     * @param x       queries source [b, Lq, queryDim]
     * @param context keys/values source [b, Lk, kvDim]; {@code x} itself for self-attention
     * @param inner   heads · headDim (width of q/k/v)
     */
    public static Value build(TaskGraph g, Weights w, Value x, Value context, int inner, int headDim) {
        int queryDim = x.dim(-1);
        int kvDim = context.dim(-1);
        Value q = g.linear(x, w.get(g, "to_q.weight", inner, queryDim), w.optional(g, "to_q.bias", inner));
        Value k = g.linear(context, w.get(g, "to_k.weight", inner, kvDim), w.optional(g, "to_k.bias", inner));
        Value v = g.linear(context, w.get(g, "to_v.weight", inner, kvDim), w.optional(g, "to_v.bias", inner));
        Value o = g.attention(q, k, v, inner / headDim, (float) (1.0 / Math.sqrt(headDim)), false);
        return g.linear(o, w.get(g, "to_out.0.weight", queryDim, inner), w.get(g, "to_out.0.bias", queryDim));
    }

    /**
     * The output of attention to a context of one token [b, 1, kvDim], whatever the queries: softmax over a single key
     * is 1, so every query gets to_out(to_v(context)) → [b, 1, queryDim] (to_q and to_k do not matter).
     */
    static Value singleKeyOutput(TaskGraph g, Weights w, Value context, int queryDim) {
        int kvDim = context.dim(-1);
        int inner = w.tensor("to_v.weight").dim(0);
        Value v = g.linear(context, w.get(g, "to_v.weight", inner, kvDim), w.optional(g, "to_v.bias", inner));
        return g.linear(v, w.get(g, "to_out.0.weight", queryDim, inner), w.get(g, "to_out.0.bias", queryDim));
    }
}
