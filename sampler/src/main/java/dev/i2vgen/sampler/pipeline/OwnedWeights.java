package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.checkpoint.ComponentFolder;
import dev.i2vgen.io.checkpoint.Variant;
import dev.i2vgen.io.safetensors.SafetensorsFormatException;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The weight mappings a pipeline opened itself (in {@code fromPretrained}) and releases when it closes; closing is
 * idempotent. {@link #buildWith} also releases them when building the pipeline fails, so nothing leaks.
 */
final class OwnedWeights implements AutoCloseable {
    private final Variant variant;
    private final List<SafetensorsSource> opened = new ArrayList<>();
    private boolean closed;

    private OwnedWeights(Variant variant) { this.variant = variant; }

    /**
     * Builds a pipeline whose weights {@code build} opens here: the {@code fp16} variant for F16/BF16 compute, the
     * full-precision files for F32. If building fails, what was opened so far is released before the error goes on.
     */
    static <P> P buildWith(DType dtype, Function<OwnedWeights, P> build) {
        OwnedWeights weights = new OwnedWeights(Variant.forComputeType(dtype));
        try {
            return build.apply(weights);
        } catch (RuntimeException e) {
            weights.close();   // a half-built pipeline must not leak mappings
            throw e;
        }
    }

    /** Owns nothing: for a pipeline whose caller supplied the components (and so owns their weights). */
    static OwnedWeights none() { return new OwnedWeights(Variant.NONE); }

    /** Maps the component's weights in this variant (or its fallback) and remembers them for {@link #close}. */
    SafetensorsSource open(ComponentFolder component) {
        SafetensorsSource source = component.weights(variant);
        opened.add(source);
        return source;
    }

    /**
     * Throws the error naming a weight file that was truncated under the running pipeline, with {@code failure}
     * (what reading past its new end raised: an {@link InternalError} about an unsafe memory access, or whatever
     * that became) as its cause; returns when every mapped file is whole, so the caller rethrows {@code failure}.
     */
    void throwIfTruncated(Throwable failure) {
        for (SafetensorsSource source : opened) {
            var truncated = source.truncation();
            if (truncated.isPresent()) {
                SafetensorsFormatException e = truncated.get();
                e.initCause(failure);
                throw e;
            }
        }
    }

    /** The mappings {@link #close} releases. */
    List<SafetensorsSource> sources() { return List.copyOf(opened); }

    boolean isClosed() { return closed; }

    /** Releases every mapping opened here; tensors read from them become invalid. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        opened.forEach(SafetensorsSource::close);
    }
}
