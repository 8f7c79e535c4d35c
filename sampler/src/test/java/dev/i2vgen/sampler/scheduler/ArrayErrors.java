package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Error measures over the schedulers' flat float arrays, in double precision (the scheduler tests share them). */
final class ArrayErrors {
    private ArrayErrors() {}

    /** ‖a − e‖₂ / ‖e‖₂ ({@link TensorComparison#relativeError}); the lengths must agree. */
    static double relativeError(float[] actual, float[] expected) {
        assertEquals(expected.length, actual.length, "length");
        return TensorComparison.relativeError(Tensor.fromFloats(actual, actual.length), Tensor.fromFloats(expected, expected.length));
    }

    /** ‖v‖₂. */
    static double norm(float[] v) {
        double sum = 0;
        for (float x : v) sum += (double) x * x;
        return Math.sqrt(sum);
    }

    /** ‖a − b‖₂; the lengths must agree. */
    static double distance(float[] a, float[] b) {
        assertEquals(a.length, b.length, "length");
        double sum = 0;
        for (int i = 0; i < a.length; i++) sum += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
        return Math.sqrt(sum);
    }
}
