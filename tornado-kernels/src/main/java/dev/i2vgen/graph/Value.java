package dev.i2vgen.graph;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * A symbolic tensor in a {@link TaskGraph}: its shape and dtype are fixed when the graph is built.
 * INPUT values are bound on every run, CONSTANT values (weights) are uploaded once and stay on the
 * device, INTERMEDIATE values are produced by tasks and get buffers from the memory planner.
 * A value with {@link #aliasOf()} set is a reshaped view of another value's buffer (no copy).
 */
public final class Value {
    public enum Kind { INPUT, CONSTANT, INTERMEDIATE }

    private final int id;
    private final String name;
    private final Kind kind;
    private final int[] shape;
    private final DType dtype;
    private final Tensor constant;   // CONSTANT only
    private final Value aliasOf;     // reshape views only

    Value(int id, String name, Kind kind, int[] shape, DType dtype, Tensor constant, Value aliasOf) {
        this.id = id;
        this.name = name;
        this.kind = kind;
        this.shape = shape.clone();
        this.dtype = dtype;
        this.constant = constant;
        this.aliasOf = aliasOf;
    }

    public int id() { return id; }

    public String name() { return name; }

    public Kind kind() { return kind; }

    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public int dim(int axis) { return shape[axis < 0 ? shape.length + axis : axis]; }

    public long numel() { return Tensor.numel(shape); }

    public DType dtype() { return dtype; }

    public long byteSize() { return numel() * dtype.byteSize(); }

    /** The host tensor of a CONSTANT (weights); null otherwise. */
    public Tensor constant() { return constant; }

    /** The value whose buffer this one views (reshape), or null. */
    public Value aliasOf() { return aliasOf; }

    /** Follows alias links to the value that owns the buffer. */
    public Value root() {
        Value v = this;
        while (v.aliasOf != null) v = v.aliasOf;
        return v;
    }

    @Override
    public String toString() {
        return "%" + id + (name == null ? "" : "(" + name + ")") + Arrays.toString(shape) + dtype;
    }
}
