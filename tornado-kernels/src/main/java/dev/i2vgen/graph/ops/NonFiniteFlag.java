package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.util.List;

/**
 * A device-side record of the first loop step whose tensor went NaN or infinite, so a sampling loop can watch its
 * latents without reading them back every step. Inputs: x (F32, F16 or BF16, read in its own storage dtype, so an
 * fp16 overflow shows as the infinity it stored), the previous flag (F32 [1], loop-carried) and the step index
 * (F32 [1], 0-based). Output, F32 [1] whatever the graph's activation dtype (a step index must stay exact):
 * the previous flag where it is already non-zero, else stepIndex + 1 where x holds a NaN or ±Inf, else 0.
 */
public record NonFiniteFlag() implements Op {
    public String name() { return "nonfinite_flag"; }

    public int[] outputShape(List<Value> in) {
        Shapes.check(in.size() == 3, name(), "expected x, the previous flag and the step index, got " + in.size() + " inputs");
        Value x = in.get(0), previous = in.get(1), step = in.get(2);
        Shapes.check(x != null && previous != null && step != null, name(), "x, the previous flag and the step index must all be given");
        DType dt = x.dtype();
        Shapes.check(dt == DType.F32 || dt == DType.F16 || dt == DType.BF16, name(), "x must be F32, F16 or BF16, got " + dt);
        scalar(previous, "the previous flag");
        scalar(step, "the step index");
        return new int[]{1};
    }

    @Override
    public DType outputDType(List<Value> inputs, DType activation) { return DType.F32; }

    private void scalar(Value v, String what) {
        Shapes.check(v.dtype() == DType.F32 && v.rank() == 1 && v.numel() == 1, name(),
                what + " must be F32 [1], got " + v.dtype() + " " + Shapes.s(v));
    }
}
