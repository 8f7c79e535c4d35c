package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.util.Arrays;
import java.util.List;

/**
 * out = Σ_i coefficients[i] · term_i, element-wise: the device-side update of the samplers (Euler, DPM-Solver++,
 * UniPC, ...). Inputs: coefficients[F32, k] (normally a graph input bound per run, so one frozen graph serves every
 * step), then k terms of one shape (no broadcasting), each F32, F16 or BF16. Output: the terms' shape in the
 * activation dtype.
 *
 * <p>Every backend computes the same float32 sequence: each term widened from its own storage dtype, the
 * coefficients used in float32 (never rounded to the activation dtype), acc = c0·t0, then acc = fma(c_i, t_i, acc)
 * for i = 1..k−1, and one rounding to the output dtype at the end.
 */
public record LinearCombination() implements Op {
    /** Most terms one task takes (the CUDA kernel receives the term pointers as a fixed-size argument array). */
    public static final int MAX_TERMS = 8;

    public String name() { return "linear_combination"; }

    public int[] outputShape(List<Value> in) {
        Shapes.check(in.size() >= 2 && in.size() <= MAX_TERMS + 1, name(),
                "expected coefficients and 1.." + MAX_TERMS + " terms, got " + Math.max(0, in.size() - 1) + " terms");
        Value coefficients = in.get(0);
        int k = in.size() - 1;
        Shapes.check(coefficients != null, name(), "coefficients are null");
        Shapes.check(coefficients.dtype() == DType.F32, name(), "coefficients must be F32 (they are never rounded to the activation dtype), got "
                + coefficients.dtype());
        Shapes.check(coefficients.rank() == 1 && coefficients.numel() == k, name(),
                "coefficients must have shape [" + k + "] (one per term), got " + Shapes.s(coefficients));
        Value first = in.get(1);
        for (int i = 0; i < k; i++) {
            Value term = in.get(i + 1);
            Shapes.check(term != null, name(), "term " + i + " is null");
            DType dt = term.dtype();
            Shapes.check(dt == DType.F32 || dt == DType.F16 || dt == DType.BF16, name(), "term " + i + " must be F32, F16 or BF16, got " + dt);
            Shapes.check(Arrays.equals(term.shape(), first.shape()), name(), "term " + i + " has shape " + Shapes.s(term) + " but term 0 has "
                    + Shapes.s(first) + " (all terms must have the same shape, no broadcasting)");
        }
        return first.shape();
    }
}
