package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/** LayerNorm over the last axis (biased variance). Inputs x[..., D], gamma[D], beta[D]. */
public record LayerNorm(float eps) implements Op {
    public String name() { return "layer_norm"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 3, 3);
        Value x = in.get(0);
        Shapes.check(in.get(1).numel() == x.dim(-1) && in.get(2).numel() == x.dim(-1), name(), "gamma/beta must have " + x.dim(-1) + " elements");
        return x.shape();
    }
}
