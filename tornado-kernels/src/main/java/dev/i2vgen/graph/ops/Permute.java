package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.Arrays;
import java.util.List;

/** Contiguous copy with permuted axes: output axis i is input axis perm[i]. */
public record Permute(int[] perm) implements Op {
    public String name() { return "permute"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        int[] s = in.get(0).shape();
        Shapes.check(perm.length == s.length, name(), "permutation " + Arrays.toString(perm) + " for " + Shapes.s(in.get(0)));
        int[] out = new int[s.length];
        boolean[] seen = new boolean[s.length];
        for (int i = 0; i < perm.length; i++) {
            Shapes.check(perm[i] >= 0 && perm[i] < s.length && !seen[perm[i]], name(), "not a permutation: " + Arrays.toString(perm));
            seen[perm[i]] = true;
            out[i] = s[perm[i]];
        }
        return out;
    }

    @Override public boolean equals(Object o) { return o instanceof Permute p && Arrays.equals(perm, p.perm); }
    @Override public int hashCode() { return Arrays.hashCode(perm); }
    @Override public String toString() { return "Permute" + Arrays.toString(perm); }
}
