package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/** Vectorised sums for normalisation statistics; partial sums per vector block are folded into doubles. */
final class Reductions {
    private Reductions() {}

    private static final int BLOCK = 1024; // floats summed in float lanes before folding into double

    static double sum(MemorySegment s, long base, long n) {
        double total = 0;
        for (long b = 0; b < n; b += BLOCK) {
            long len = Math.min(BLOCK, n - b), i = 0;
            FloatVector acc = FloatVector.zero(F32.SPECIES);
            for (long upper = len - len % F32.LANES; i < upper; i += F32.LANES) acc = acc.add(F32.load(s, base + b + i));
            double part = acc.reduceLanes(VectorOperators.ADD);
            for (; i < len; i++) part += F32.get(s, base + b + i);
            total += part;
        }
        return total;
    }

    static double sumSquaredDeviation(MemorySegment s, long base, long n, float mean) {
        double total = 0;
        for (long b = 0; b < n; b += BLOCK) {
            long len = Math.min(BLOCK, n - b), i = 0;
            FloatVector acc = FloatVector.zero(F32.SPECIES);
            for (long upper = len - len % F32.LANES; i < upper; i += F32.LANES) {
                FloatVector d = F32.load(s, base + b + i).sub(mean);
                acc = d.fma(d, acc);
            }
            double part = acc.reduceLanes(VectorOperators.ADD);
            for (; i < len; i++) {
                double d = F32.get(s, base + b + i) - mean;
                part += d * d;
            }
            total += part;
        }
        return total;
    }
}
