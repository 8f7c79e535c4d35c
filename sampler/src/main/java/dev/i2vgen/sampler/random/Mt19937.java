package dev.i2vgen.sampler.random;

/**
 * The 32-bit Mersenne Twister (MT19937) exactly as torch's CPU generator runs it: seeded from the
 * low 32 bits of the seed with the standard Knuth initialisation, standard tempering.
 * Not thread-safe; one instance is one stream.
 */
public final class Mt19937 {
    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908b0df;
    private static final int UPPER_MASK = 0x80000000;
    private static final int LOWER_MASK = 0x7fffffff;

    private final int[] state = new int[N];
    private int next;

    public Mt19937(long seed) {
        // torch keeps only the low 32 bits of a 64-bit seed (init_with_uint32).
        state[0] = (int) seed;
        for (int j = 1; j < N; j++) {
            int prev = state[j - 1];
            state[j] = 1812433253 * (prev ^ (prev >>> 30)) + j;
        }
        next = N; // the first draw regenerates the whole block
    }

    /** The next 32-bit output, as an unsigned value in a long (0 .. 2^32−1). */
    public long nextUnsigned32() {
        if (next >= N) twist();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y & 0xffffffffL;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (state[i] & UPPER_MASK) | (state[(i + 1) % N] & LOWER_MASK);
            int v = state[(i + M) % N] ^ (y >>> 1);
            if ((y & 1) != 0) v ^= MATRIX_A;
            state[i] = v;
        }
        next = 0;
    }
}
