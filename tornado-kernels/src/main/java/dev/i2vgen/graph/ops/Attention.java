package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * Multi-head scaled-dot-product attention, softmax(scale · q kᵀ [+ causal mask]) v, computed per
 * head without materialising the whole score matrix. Heads are interleaved in the last axis, the
 * layout the q/k/v projections produce: q[B, Lq, H·Dk], k[B, Lk, H·Dk], v[B, Lk, H·Dv] →
 * out[B, Lq, H·Dv]. Causal: query i sees keys 0..i.
 */
public record Attention(int heads, float scale, boolean causal) implements Op {
    public String name() { return "attention"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 3, 3);
        Value q = in.get(0), k = in.get(1), v = in.get(2);
        Shapes.rank(name(), "q", q, 3);
        Shapes.rank(name(), "k", k, 3);
        Shapes.rank(name(), "v", v, 3);
        Shapes.check(q.dim(0) == k.dim(0) && k.dim(0) == v.dim(0), name(), "batch differs: " + Shapes.s(q) + Shapes.s(k) + Shapes.s(v));
        Shapes.check(k.dim(1) == v.dim(1), name(), "k and v lengths differ");
        Shapes.check(q.dim(2) == k.dim(2), name(), "q and k widths differ");
        Shapes.check(q.dim(2) % heads == 0 && v.dim(2) % heads == 0, name(), "width not divisible by " + heads + " heads");
        Shapes.check(!causal || q.dim(1) == k.dim(1), name(), "causal attention needs Lq == Lk");
        return new int[]{q.dim(0), q.dim(1), v.dim(2)};
    }
}
