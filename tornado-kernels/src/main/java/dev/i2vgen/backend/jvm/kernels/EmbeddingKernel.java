package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;

import java.lang.foreign.MemorySegment;

/** out[i, :] = table[ids[i], :]; ids are checked against the table size. */
public final class EmbeddingKernel {
    private EmbeddingKernel() {}

    public static void run(MemorySegment table, int vocab, int d, MemorySegment ids, long count, MemorySegment out) {
        for (long i = 0; i < count; i++) {
            float f = F32.get(ids, i);
            long id = (long) f;
            if (id < 0 || id >= vocab || id != f) {
                throw new IllegalArgumentException("embedding: id " + f + " at position " + i + " is not an integer in [0, " + vocab + ")");
            }
            F32.copy(table, id * d, out, i * d, d);
        }
    }
}
