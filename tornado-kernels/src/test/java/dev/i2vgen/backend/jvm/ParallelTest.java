package dev.i2vgen.backend.jvm;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The parallel loops visit every index exactly once, including ranges past 2³¹. */
class ParallelTest {
    @Test
    void intRangeVisitsEachIndexOnce() {
        for (int n : new int[]{1, 7, 1000, 100_003}) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forRange(n, 3, (a, b) -> { for (int i = a; i < b; i++) hits.incrementAndGet(i); });
            for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "index " + i + " of " + n);
        }
    }

    @Test
    void longRangeCoversBeyondIntWithoutOverlap() {
        long n = 5_000_000_123L;
        AtomicLong covered = new AtomicLong(), checksum = new AtomicLong();
        Parallel.forLongRange(n, 1 << 20, (a, b) -> {
            covered.addAndGet(b - a);
            checksum.addAndGet((a + b - 1) * (b - a) / 2 % 1_000_000_007L); // Σ i over [a, b), mod p
        });
        assertEquals(n, covered.get());
        assertEquals(n, covered.get());
        // the chunk sums must add up to Σ_{i<n} i (mod p) no matter how the range was split
        java.math.BigInteger total = java.math.BigInteger.valueOf(n).multiply(java.math.BigInteger.valueOf(n - 1)).shiftRight(1);
        assertEquals(0, (checksum.get() - total.mod(java.math.BigInteger.valueOf(1_000_000_007L)).longValue()) % 1_000_000_007L);
    }
}
