package dev.i2vgen.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * The large host allocations (tensors, plan buffers, float copies) in one place, so that running out of memory is a
 * {@link MemoryExhaustedException} naming what was allocated and how much rather than a bare {@link OutOfMemoryError}.
 */
public final class HostMemory {
    /** The largest Java array HotSpot allocates (a few header words below {@link Integer#MAX_VALUE}). */
    public static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private HostMemory() {}

    /** {@code bytes} of native memory from {@code arena}; {@code what} names them in an out-of-memory error (built only then). */
    public static MemorySegment allocate(Arena arena, long bytes, long alignment, Supplier<String> what) {
        try {
            return arena.allocate(bytes, alignment);
        } catch (OutOfMemoryError e) {
            throw MemoryExhaustedException.host(what.get(), bytes, e);
        }
    }

    /** A float array of {@code n} elements; one that no Java array can hold is refused naming {@code what}. */
    public static float[] floats(long n, Supplier<String> what) {
        if (n > MAX_ARRAY_LENGTH) {
            throw new IllegalStateException(what.get() + " has " + n + " elements, more than a Java array holds (" + MAX_ARRAY_LENGTH + ")");
        }
        try {
            return new float[(int) n];
        } catch (OutOfMemoryError e) {
            throw MemoryExhaustedException.host(what.get(), 4 * n, e);
        }
    }
}
