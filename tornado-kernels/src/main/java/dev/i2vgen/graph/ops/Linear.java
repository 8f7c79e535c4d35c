package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** y = x·Wᵀ + bias. Inputs: x[..., K], weight[N, K], optional bias[N]. Output [..., N]. */
public record Linear() implements Op {
    public String name() { return "linear"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 3);
        Value x = in.get(0), w = in.get(1);
        Shapes.rank(name(), "weight", w, 2);
        Shapes.check(x.dim(-1) == w.dim(1), name(), "input " + Shapes.s(x) + " last dim != weight " + Shapes.s(w) + " dim 1");
        if (in.size() == 3 && in.get(2) != null) {
            Shapes.check(in.get(2).numel() == w.dim(0), name(), "bias " + Shapes.s(in.get(2)) + " != out features " + w.dim(0));
        }
        int[] out = x.shape();
        out[out.length - 1] = w.dim(0);
        return out;
    }
}
