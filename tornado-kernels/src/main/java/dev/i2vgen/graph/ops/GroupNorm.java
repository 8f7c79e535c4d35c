package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * GroupNorm (biased variance, statistics in fp32), per-channel gamma[C] and beta[C], optionally followed by SiLU
 * (fused: the UNet and VAE always apply one after the other). The channels are axis {@code channelAxis} (≥ 1) of
 * x[N, D₁ … D_{a−1}, C, S…]: each (n, group) is normalised over all of its D₁ … D_{a−1} × C/G × S… elements.
 * Axis 1 is PyTorch's GroupNorm; axis 2 of a frame-major video [B, F, C, h, w] gives exactly PyTorch's GroupNorm of
 * the permuted [B, C, F, h, w] (statistics over all frames of a video), without the permutes.
 */
public record GroupNorm(int groups, float eps, boolean silu, int channelAxis) implements Op {
    public GroupNorm {
        if (groups <= 0) throw new IllegalArgumentException("group_norm: groups must be positive, got " + groups);
        if (channelAxis < 1) throw new IllegalArgumentException("group_norm: the channel axis must be 1 or later, got " + channelAxis);
    }

    /** Channels on axis 1 (x[N, C, ...]). */
    public GroupNorm(int groups, float eps, boolean silu) { this(groups, eps, silu, 1); }

    public String name() { return silu ? "group_norm_silu" : "group_norm"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 3, 3);
        Value x = in.get(0);
        Shapes.check(x.rank() > channelAxis, name(), "input needs a channel axis " + channelAxis + ", got " + Shapes.s(x));
        int c = x.dim(channelAxis);
        Shapes.check(c % groups == 0, name(), c + " channels not divisible by " + groups + " groups");
        Shapes.check(in.get(1).numel() == c && in.get(2).numel() == c, name(), "gamma/beta must have C = " + c + " elements");
        return x.shape();
    }
}
