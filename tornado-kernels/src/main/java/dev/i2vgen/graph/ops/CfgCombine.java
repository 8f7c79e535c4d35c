package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * Classifier-free guidance: x[2M, ...] holds the unconditional half first, then the conditional
 * half; output [M, ...] = u + guidance · (c − u).
 */
public record CfgCombine(float guidance) implements Op {
    public String name() { return "cfg_combine"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        int[] s = in.get(0).shape();
        Shapes.check(s[0] % 2 == 0, name(), "batch must be even (uncond + cond), got " + Shapes.s(in.get(0)));
        s[0] /= 2;
        return s;
    }
}
