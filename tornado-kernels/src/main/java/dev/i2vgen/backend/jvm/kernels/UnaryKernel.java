package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import dev.i2vgen.graph.ops.Unary;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/** Element-wise SiLU, GELU (erf / tanh / quick), exp, sigmoid, tanh; parallel over the flat range. */
public final class UnaryKernel {
    private UnaryKernel() {}

    public static void run(Unary.Kind kind, MemorySegment x, long n, MemorySegment out) {
        Parallel.forLongRange(n, 1 << 14, (a, b) -> {
            long i = a;
            for (long upper = b - (b - a) % F32.LANES; i < upper; i += F32.LANES) F32.store(apply(kind, F32.load(x, i)), out, i);
            for (; i < b; i++) F32.set(out, i, apply(kind, F32.get(x, i)));
        });
    }

    /** The vector form (float lanes; the SVML-backed exp/tanh of the Vector API). */
    static FloatVector apply(Unary.Kind kind, FloatVector x) {
        return switch (kind) {
            case SILU -> x.mul(Elementwise.sigmoid(x));
            case GELU -> Elementwise.gelu(x);
            case GELU_TANH -> {
                FloatVector u = x.mul(x).mul(0.044715f).add(1f).mul(x).mul((float) Math.sqrt(2 / Math.PI));
                yield x.mul(0.5f).mul(u.lanewise(VectorOperators.TANH).add(1f));
            }
            case QUICK_GELU -> x.mul(Elementwise.sigmoid(x.mul(1.702f)));
            case EXP -> x.lanewise(VectorOperators.EXP);
            case SIGMOID -> Elementwise.sigmoid(x);
            case TANH -> x.lanewise(VectorOperators.TANH);
        };
    }

    static float apply(Unary.Kind kind, float x) {
        return switch (kind) {
            case SILU -> Elementwise.silu(x);
            case GELU -> Elementwise.gelu(x);
            case GELU_TANH -> Elementwise.geluTanh(x);
            case QUICK_GELU -> x * Elementwise.sigmoid(1.702f * x);
            case EXP -> (float) Math.exp(x);
            case SIGMOID -> Elementwise.sigmoid(x);
            case TANH -> (float) Math.tanh(x);
        };
    }
}
