package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Batched matrix product. Inputs a[..., M, K] and b[..., K, N] (b[..., N, K] when transposeB);
 * the batch dims must be equal, or b may be rank 2 (shared). Output [..., M, N], scaled by alpha.
 */
public record MatMul(boolean transposeB, float alpha) implements Op {
    public String name() { return "matmul"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 2, 2);
        Value a = in.get(0), b = in.get(1);
        Shapes.check(a.rank() >= 2 && b.rank() >= 2, name(), "operands need rank >= 2");
        int k = a.dim(-1);
        int kb = transposeB ? b.dim(-1) : b.dim(-2);
        int n = transposeB ? b.dim(-2) : b.dim(-1);
        Shapes.check(k == kb, name(), "inner dims differ: " + Shapes.s(a) + " x " + Shapes.s(b) + (transposeB ? "ᵀ" : ""));
        if (b.rank() > 2) {
            Shapes.check(Arrays.equals(Arrays.copyOf(a.shape(), a.rank() - 2), Arrays.copyOf(b.shape(), b.rank() - 2)),
                    name(), "batch dims differ: " + Shapes.s(a) + " and " + Shapes.s(b));
        }
        int[] out = a.shape();
        out[out.length - 1] = n;
        return out;
    }
}
