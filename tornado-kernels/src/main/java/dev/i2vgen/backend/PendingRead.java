package dev.i2vgen.backend;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * An output value captured by {@link ExecutionPlan#readAsync}, on its way to the host: later runs of the plan do not
 * change it. {@link #into} waits for it and copies it (F32) into part of a host tensor, so a loop can copy out one
 * run's result while the backend computes the next (a decode loop's frames).
 */
public interface PendingRead extends AutoCloseable {
    /** Elements of the captured value. */
    long numel();

    /**
     * Waits until the value is available and copies it as F32 into the contiguous F32 tensor {@code dest}, elements
     * {@code [offset, offset + numel())}. Once per read; it releases the read's backend resources.
     */
    void into(Tensor dest, long offset);

    /** Gives up the read without copying (its backend resources are released); no effect after {@link #into}. */
    @Override
    void close();

    /** Checks {@code dest} and the target range; the implementations share these messages. */
    static void checkTarget(Tensor dest, long offset, long numel) {
        if (dest.dtype() != DType.F32 || !dest.isContiguous()) {
            throw new IllegalArgumentException("pending read: the target must be a contiguous F32 tensor, got "
                    + dest.dtype() + Arrays.toString(dest.shape()) + (dest.isContiguous() ? "" : " (strided)"));
        }
        if (offset < 0 || offset + numel > dest.numel()) {
            throw new IllegalArgumentException("pending read: " + numel + " elements at offset " + offset
                    + " do not fit a tensor of " + dest.numel());
        }
    }

    /** A read that is already on the host (backends that compute synchronously). */
    static PendingRead of(Tensor host) {
        Tensor value = host.dtype() == DType.F32 ? host.contiguous() : host.to(DType.F32);
        return new PendingRead() {
            private boolean done;

            @Override public long numel() { return value.numel(); }

            @Override
            public void into(Tensor dest, long offset) {
                if (done) throw new IllegalStateException("pending read already copied or closed");
                checkTarget(dest, offset, value.numel());
                MemorySegment.copy(value.contiguousSegment(), 0, dest.contiguousSegment(), offset * 4, value.byteSize());
                done = true;
            }

            @Override public void close() { done = true; }
        };
    }
}
