package dev.i2vgen.bench;

import dev.i2vgen.backend.jvm.F32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/** Random off-heap F32 buffers for the kernel benchmarks. */
final class BenchData {
    private BenchData() {}

    static MemorySegment random(Arena arena, long n, long seed) {
        MemorySegment s = arena.allocate(n * 4, 64);
        Random rnd = new Random(seed);
        for (long i = 0; i < n; i++) F32.set(s, i, rnd.nextFloat() * 2 - 1);
        return s;
    }

    static MemorySegment zeros(Arena arena, long n) { return arena.allocate(n * 4, 64); }
}
