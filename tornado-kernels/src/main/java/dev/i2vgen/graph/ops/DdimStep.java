package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;

import java.util.List;

/**
 * One DDIM update, element-wise. Inputs: sample x, model output m (same shape), coefficients
 * c[F32, 7] = {√ᾱ_t, √(1−ᾱ_t), √ᾱ_prev, √(1−ᾱ_prev−σ²), σ, predictionType (0 epsilon, 1 v_prediction,
 * 2 sample), clipRange (≤ 0: no clipping)}, and optional noise (used only when σ > 0).
 * x0 and ε are derived from m by the prediction type, x0 is clipped to ±clipRange if asked (ε is
 * kept as derived, as diffusers' step does by default, use_clipped_model_output = false), then
 * prev = √ᾱ_prev·x0 + √(1−ᾱ_prev−σ²)·ε + σ·noise.
 * The coefficients are a tensor input so that one frozen graph serves every step.
 */
public record DdimStep() implements Op {
    public String name() { return "ddim_step"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 3, 4);
        Shapes.check(java.util.Arrays.equals(in.get(0).shape(), in.get(1).shape()), name(), "sample " + Shapes.s(in.get(0)) + " vs model output " + Shapes.s(in.get(1)));
        Shapes.check(in.get(2).numel() == 7, name(), "coefficients must have 7 elements");
        if (in.size() == 4 && in.get(3) != null) Shapes.check(in.get(3).numel() == in.get(0).numel(), name(), "noise shape differs");
        return in.get(0).shape();
    }
}
