package dev.i2vgen.backend.jvm.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A GEMM started on a thread that is already inside a GEMM (here from a panel source; in general from a
 * work-stealing join) must not overwrite the outer call's packed panels in the per-thread scratch.
 */
class SgemmReentrancyTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Test
    void nestedMultiplyOnTheSameThreadLeavesTheOuterResultIntact() {
        int m = 5, k = 7, n = 2 * Sgemm.NR + 3;   // three B panels: the nested call runs while packing the second
        Random r = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = random(arena, m * k, r), b = random(arena, k * n, r), c = arena.allocate(4L * m * n);
            MemorySegment a2 = random(arena, m * k, r), b2 = random(arena, k * n, r), c2 = arena.allocate(4L * m * n);
            Sgemm.Strided plainB = Sgemm.Strided.rowMajor(b, 0, n);
            boolean[] nested = {false};
            Sgemm.PanelSource reentrant = (k0, kc, j0, cols, dst, off) -> {
                if (j0 == Sgemm.NR && !nested[0]) {
                    nested[0] = true;
                    Sgemm.multiply(m, n, k, 1f, Sgemm.Strided.rowMajor(a2, 0, k), Sgemm.Strided.rowMajor(b2, 0, n), c2, 0, n, false);
                }
                plainB.packPanel(k0, kc, j0, cols, dst, off);
            };
            Sgemm.multiply(m, n, k, 1f, Sgemm.Strided.rowMajor(a, 0, k), reentrant, c, 0, n, false);
            assertEquals(true, nested[0]);
            assertProduct(a, b, c, m, k, n, "outer");
            assertProduct(a2, b2, c2, m, k, n, "nested");
        }
    }

    private static MemorySegment random(Arena arena, int n, Random r) {
        MemorySegment s = arena.allocate(4L * n);
        for (int i = 0; i < n; i++) s.setAtIndex(F, i, (float) r.nextGaussian());
        return s;
    }

    /** Compares with a float64 triple loop. */
    private static void assertProduct(MemorySegment a, MemorySegment b, MemorySegment c, int m, int k, int n, String which) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double e = 0;
                for (int p = 0; p < k; p++) e += (double) a.getAtIndex(F, (long) i * k + p) * b.getAtIndex(F, (long) p * n + j);
                assertEquals(e, c.getAtIndex(F, (long) i * n + j), 1e-4 * Math.max(1, Math.abs(e)), which + " C[" + i + "," + j + "]");
            }
    }
}
