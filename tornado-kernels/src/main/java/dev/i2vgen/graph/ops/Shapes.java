package dev.i2vgen.graph.ops;

import dev.i2vgen.graph.Value;

import java.util.Arrays;
import java.util.List;

/** Shape-checking helpers shared by the op records; errors name the op and the offending shapes. */
final class Shapes {
    private Shapes() {}

    static void arity(String op, List<Value> in, int min, int max) {
        if (in.size() < min || in.size() > max) {
            throw new IllegalArgumentException(op + ": expected " + min + (min == max ? "" : ".." + max) + " inputs, got " + in.size());
        }
    }

    static void rank(String op, String what, Value v, int rank) {
        if (v.rank() != rank) throw new IllegalArgumentException(op + ": " + what + " must have rank " + rank + ", got " + Arrays.toString(v.shape()));
    }

    static void check(boolean ok, String op, String message) {
        if (!ok) throw new IllegalArgumentException(op + ": " + message);
    }

    static String s(Value v) { return v == null ? "null" : Arrays.toString(v.shape()); }

    /** NumPy broadcasting of two shapes. */
    static int[] broadcast(String op, int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i < n - a.length ? 1 : a[i - (n - a.length)];
            int db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }
}
