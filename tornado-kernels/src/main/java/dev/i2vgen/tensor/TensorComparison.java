package dev.i2vgen.tensor;

import java.util.Arrays;

/** Error measures used by tests and conformance checks. */
public final class TensorComparison {
    private TensorComparison() {}

    /** ‖a − b‖₂ / ‖b‖₂ in double precision; shapes must hold the same number of elements. */
    public static double relativeError(Tensor actual, Tensor expected) {
        if (actual.numel() != expected.numel()) {
            throw new IllegalArgumentException("shapes differ: " + Arrays.toString(actual.shape()) + " vs " + Arrays.toString(expected.shape()));
        }
        double num = 0, den = 0;
        long n = actual.numel();
        for (long i = 0; i < n; i++) {
            double a = actual.getFlat(i), b = expected.getFlat(i);
            if (Double.isNaN(a)) return Double.NaN;
            num += (a - b) * (a - b);
            den += b * b;
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** max |a − b|. */
    public static double maxAbsError(Tensor actual, Tensor expected) {
        if (actual.numel() != expected.numel()) {
            throw new IllegalArgumentException("shapes differ: " + Arrays.toString(actual.shape()) + " vs " + Arrays.toString(expected.shape()));
        }
        double m = 0;
        for (long i = 0; i < actual.numel(); i++) {
            double d = Math.abs(actual.getFlat(i) - expected.getFlat(i));
            if (Double.isNaN(d)) return Double.NaN;
            m = Math.max(m, d);
        }
        return m;
    }
}
