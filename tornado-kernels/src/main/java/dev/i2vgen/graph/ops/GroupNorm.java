package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * GroupNorm over x[N, C, *] (biased variance, statistics in fp32), per-channel gamma[C] and beta[C],
 * optionally followed by SiLU (fused: the UNet and VAE always apply one after the other).
 */
public record GroupNorm(int groups, float eps, boolean silu) implements Op {
    public String name() { return silu ? "group_norm_silu" : "group_norm"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 3, 3);
        Value x = in.get(0);
        Shapes.check(x.rank() >= 2, name(), "input needs [N, C, ...], got " + Shapes.s(x));
        Shapes.check(x.dim(1) % groups == 0, name(), x.dim(1) + " channels not divisible by " + groups + " groups");
        Shapes.check(in.get(1).numel() == x.dim(1) && in.get(2).numel() == x.dim(1), name(), "gamma/beta must have C = " + x.dim(1) + " elements");
        return x.shape();
    }
}
