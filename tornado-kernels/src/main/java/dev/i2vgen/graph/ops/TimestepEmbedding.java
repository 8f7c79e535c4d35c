package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * diffusers' sinusoidal {@code get_timestep_embedding}: t[B] → [B, dim]. With half = dim / 2,
 * freq_j = exp(-ln(maxPeriod) · j / (half - downscaleFreqShift)), arg = scale · t · freq_j,
 * output [sin(arg), cos(arg)] ([cos, sin] when flipSinToCos), zero-padded when dim is odd.
 */
public record TimestepEmbedding(int dim, boolean flipSinToCos, float downscaleFreqShift, float scale, int maxPeriod) implements Op {
    public String name() { return "timestep_embedding"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        Shapes.rank(name(), "timesteps", in.get(0), 1);
        return new int[]{in.get(0).dim(0), dim};
    }
}
