package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;

import java.lang.foreign.MemorySegment;

/** out = u + g·(c − u) where x = [u; c] along the batch axis. */
public final class CfgCombineKernel {
    private CfgCombineKernel() {}

    public static void run(MemorySegment x, long half, float guidance, MemorySegment out) {
        Parallel.forLongRange(half, 1 << 14, (a, b) -> {
            for (long i = a; i < b; i++) {
                float u = F32.get(x, i), c = F32.get(x, half + i);
                F32.set(out, i, u + guidance * (c - u));
            }
        });
    }
}
