package dev.i2vgen.model.common;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.util.Arrays;

/**
 * A component's weights seen from one module path ("down_blocks.0.resnets.1"): looks tensors up by
 * their checkpoint names, checks their shapes, and registers them as graph constants (uploaded once,
 * never copied onto the Java heap).
 */
public final class Weights {
    private final TensorSource source;
    private final String prefix;

    public Weights(TensorSource source) { this(source, ""); }

    private Weights(TensorSource source, String prefix) {
        this.source = source;
        this.prefix = prefix;
    }

    /** The weights of a sub-module: {@code at("conv1")} on "down_blocks.0" looks under "down_blocks.0.conv1.". */
    public Weights at(String child) {
        return new Weights(source, prefix + child + ".");
    }

    public String path(String name) { return prefix + name; }

    public boolean has(String name) { return source.contains(prefix + name); }

    /**
     * The host tensor (memory-mapped view) named {@code prefix + name}, with a clear error if absent or not a
     * floating-point type: every weight of these models is one, and integer data (F32 bytes labelled I32) would
     * otherwise be read as numbers of another kind.
     */
    public Tensor tensor(String name) {
        String full = prefix + name;
        if (!source.contains(full)) {
            throw new MissingWeightException(source.description(), full);
        }
        Tensor t = source.get(full);
        if (!t.dtype().isFloating()) {
            throw new WeightMismatchException(source.description(full) + ": tensor '" + full + "' has dtype " + t.dtype()
                    + ", the model expects floating-point weights (F32, F16, BF16 or F64)");
        }
        return t;
    }

    /** The tensor as a graph constant; {@code expectedShape} (if given) must match exactly. */
    public Value get(TaskGraph g, String name, int... expectedShape) {
        Tensor t = tensor(name);
        if (expectedShape.length > 0 && !Arrays.equals(t.shape(), expectedShape)) {
            throw new WeightMismatchException(source.description(prefix + name) + ": tensor '" + prefix + name + "' has shape "
                    + Arrays.toString(t.shape()) + ", the config expects " + Arrays.toString(expectedShape));
        }
        return g.constant(prefix + name, t);
    }

    /** Like {@link #get} but null when the checkpoint has no such tensor (optional biases, shortcuts). */
    public Value optional(TaskGraph g, String name, int... expectedShape) {
        return has(name) ? get(g, name, expectedShape) : null;
    }

    /**
     * Thrown when a checkpoint's tensor is not what the model needs: not floating-point, or of another shape than the
     * config gives. The message names the file that holds it (the shard, for a sharded checkpoint).
     */
    public static final class WeightMismatchException extends IllegalArgumentException {
        public WeightMismatchException(String message) { super(message); }
    }

    /** Thrown when a checkpoint lacks a tensor the model needs. */
    public static final class MissingWeightException extends IllegalArgumentException {
        public MissingWeightException(String source, String tensor) {
            super(source + ": missing tensor '" + tensor + "' (the model config expects it; is this the right checkpoint?)");
        }
    }
}
