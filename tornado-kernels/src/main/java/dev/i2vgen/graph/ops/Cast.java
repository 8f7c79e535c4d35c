package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Op;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.util.List;

/** Copy converted to {@code target} (e.g. fp32 inputs into an fp16 graph). */
public record Cast(DType target) implements Op {
    public String name() { return "cast"; }

    public int[] outputShape(List<Value> in) {
        Shapes.arity(name(), in, 1, 1);
        return in.get(0).shape();
    }

    @Override
    public DType outputDType(List<Value> inputs, DType activation) { return target; }
}
