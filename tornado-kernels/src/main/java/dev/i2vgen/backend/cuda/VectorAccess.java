package dev.i2vgen.backend.cuda;

/**
 * How many activation values one load or store of the vectorised memory-bound kernels moves: the widest power of two
 * up to 16 bytes that divides the extent the kernel steps through (so no vector straddles a row, channel or tile edge)
 * and to which every base address is aligned. {@code -Di2vgen.cuda.vectorized=false} turns these kernels off (the
 * earlier element-wise kernels run instead), for A/B timings and as a fallback.
 */
final class VectorAccess {
    static final int MAX_BYTES = 16;

    private VectorAccess() {}

    static boolean enabled() { return !"false".equals(System.getProperty("i2vgen.cuda.vectorized")); }

    /** Values per access, 1 when nothing wider fits. */
    static int width(int elementBytes, long extent, long... pointers) {
        for (int v = MAX_BYTES / elementBytes; v > 1; v /= 2) {
            if (extent % v != 0) continue;
            boolean aligned = true;
            for (long p : pointers) aligned &= p % ((long) v * elementBytes) == 0;
            if (aligned) return v;
        }
        return 1;
    }

    static long ceilDiv(long a, long b) { return (a + b - 1) / b; }
}
