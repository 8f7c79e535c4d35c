package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

/** Element-wise building blocks shared by several kernels (scalar math in double where it matters). */
final class Elementwise {
    private Elementwise() {}

    /** out[i] = f(x[i]·scale + shift) over [base, base + n), f = SiLU or identity. */
    static void scaleShift(MemorySegment x, MemorySegment out, long base, long n, float scale, float shift, boolean silu) {
        long i = 0;
        for (long upper = n - n % F32.LANES; i < upper; i += F32.LANES) {
            FloatVector y = F32.load(x, base + i).fma(scale, shift);
            if (silu) y = y.div(y.neg().lanewise(VectorOperators.EXP).add(1f));
            F32.store(y, out, base + i);
        }
        for (; i < n; i++) {
            float y = F32.get(x, base + i) * scale + shift;
            F32.set(out, base + i, silu ? silu(y) : y);
        }
    }

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));

    /** Exact GELU on a vector: 0.5·x·erfc(−x/√2), with erfc from the same Chebyshev fit as {@link #erf}. */
    static FloatVector gelu(FloatVector x) {
        FloatVector z = x.mul(INV_SQRT2);
        FloatVector erfc = erfcOfAbs(z.abs());
        // x ≥ 0: 1 + erf = 2 − erfc(|z|);  x < 0: 1 + erf = erfc(|z|)  (no cancellation for large negative x)
        FloatVector onePlusErf = erfc.neg().add(2f).blend(erfc, x.compare(VectorOperators.LT, 0f));
        return x.mul(0.5f).mul(onePlusErf);
    }

    /** erfc(z) for z ≥ 0 (Numerical Recipes' erfcc, fractional error below 1.2e-7), in float lanes. */
    static FloatVector erfcOfAbs(FloatVector z) {
        FloatVector t = FloatVector.broadcast(F32.SPECIES, 1f).div(z.mul(0.5f).add(1f));
        FloatVector p = t.fma(0.17087277f, -0.82215223f);
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(F32.SPECIES, -1.26551223f));
        return t.mul(z.mul(z).neg().add(p).lanewise(VectorOperators.EXP));
    }

    /** σ(x) = 1 / (1 + e^(−x)) on a vector. */
    static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(F32.SPECIES, 1f).div(x.neg().lanewise(VectorOperators.EXP).add(1f));
    }

    static float silu(float x) { return (float) (x / (1.0 + Math.exp(-x))); }

    static float sigmoid(float x) { return (float) (1.0 / (1.0 + Math.exp(-x))); }

    /** Exact GELU, 0.5·x·(1 + erf(x/√2)). */
    static float gelu(float x) { return (float) (0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)))); }

    static float geluTanh(float x) {
        double u = Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * (double) x * x);
        return (float) (0.5 * x * (1.0 + Math.tanh(u)));
    }

    /**
     * erf through the Chebyshev fit of erfc from Numerical Recipes (fractional error below 1.2e-7
     * everywhere), evaluated in double: well inside float precision for GELU.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }
}
