package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Rounds fp32 values in place to fp16 or bf16 precision (round to nearest, ties to even; fp16 subnormals and overflow
 * to ±Inf from 65520 on), as the JVM backend stores F16/BF16 values. TornadoVM's OpenCL code generator has no
 * float-to-bits reinterpretation, so this is done in arithmetic: the magnitude is scaled into [1, 2) by powers of two
 * (exact), rounded to the kept fraction bits by adding and subtracting 2²³ (the FPU's own ties-to-even) and scaled
 * back. Straight-line code: PoCL's work-group compiler crashed on a data-dependent loop with early exits.
 */
public final class RoundingKernel {
    private RoundingKernel() {}

    /** p: x, n, mode (1: fp16, 2: bf16). */
    public static void roundTo(IntArray p, FloatArray x) {
        int xo = p.get(0), n = p.get(1), mode = p.get(2);
        for (@Parallel int i = 0; i < n; i++) {
            float v = x.get(xo + i);
            x.set(xo + i, mode == 1 ? toHalf(v) : toBfloat(v));
        }
    }

    private static float toHalf(float v) {
        float a = TornadoMath.abs(v);
        boolean keep = v != v || a > 3.4028235e38f || a == 0.0f;
        float r;
        if (a >= 65520.0f) {
            r = Float.POSITIVE_INFINITY;
        } else if (a < 6.103515625e-05f) {
            // below fp16's smallest normal (2^-14): multiples of 2^-24
            float q = a * 16777216.0f;
            r = ((q + 8388608.0f) - 8388608.0f) * 5.9604644775390625e-08f;
        } else {
            r = roundNormal(a, 10);
        }
        return keep ? v : (v < 0 ? -r : r);
    }

    private static float toBfloat(float v) {
        float a = TornadoMath.abs(v);
        boolean keep = v != v || a > 3.4028235e38f || a == 0.0f;
        float r;
        if (a < 1.17549435e-38f) {
            // fp32 subnormals: multiples of 2^-133 (bf16 keeps fp32's exponent range), scaled in two exact steps
            float q = a * 1.8446744073709552e19f * 5.9029581035870565e20f;
            r = ((q + 8388608.0f) - 8388608.0f) * 5.421010862427522e-20f * 1.6940658945086007e-21f;
        } else {
            r = roundNormal(a, 7);
        }
        return keep ? v : (v < 0 ? -r : r);
    }

    /** A normal positive a rounded to {@code bits} fraction bits (the result may overflow to +Inf). */
    private static float roundNormal(float a, int bits) {
        float s = a;
        int e = 0;
        if (s >= 1.8446744073709552e19f) { s = s * 5.421010862427522e-20f; e += 64; }
        if (s >= 4294967296.0f) { s = s * 2.3283064365386963e-10f; e += 32; }
        if (s >= 65536.0f) { s = s * 1.52587890625e-05f; e += 16; }
        if (s >= 256.0f) { s = s * 0.00390625f; e += 8; }
        if (s >= 16.0f) { s = s * 0.0625f; e += 4; }
        if (s >= 4.0f) { s = s * 0.25f; e += 2; }
        if (s >= 2.0f) { s = s * 0.5f; e += 1; }
        if (s < 1.0842021724855044e-19f) { s = s * 1.8446744073709552e19f; e -= 64; }
        if (s < 4.656612873077393e-10f) { s = s * 4294967296.0f; e -= 32; }
        if (s < 3.0517578125e-05f) { s = s * 65536.0f; e -= 16; }
        if (s < 0.0078125f) { s = s * 256.0f; e -= 8; }
        if (s < 0.125f) { s = s * 16.0f; e -= 4; }
        if (s < 0.5f) { s = s * 4.0f; e -= 2; }
        if (s < 1.0f) { s = s * 2.0f; e -= 1; }
        float scale = bits == 10 ? 1024.0f : 128.0f;
        float q = s * scale;
        float r = ((q + 8388608.0f) - 8388608.0f) / scale;
        // times 2^e, built from e's bits (every partial power is a normal float)
        int m = e < 0 ? -e : e;
        float pw = 1.0f;
        if ((m & 64) != 0) pw = pw * 1.8446744073709552e19f;
        if ((m & 32) != 0) pw = pw * 4294967296.0f;
        if ((m & 16) != 0) pw = pw * 65536.0f;
        if ((m & 8) != 0) pw = pw * 256.0f;
        if ((m & 4) != 0) pw = pw * 16.0f;
        if ((m & 2) != 0) pw = pw * 4.0f;
        if ((m & 1) != 0) pw = pw * 2.0f;
        return e < 0 ? r / pw : r * pw;
    }
}
