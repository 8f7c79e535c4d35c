package dev.i2vgen.sampler.random;

/**
 * The single-precision log and sin/cos that torch's AVX2 normal kernel uses (Cephes polynomials evaluated in
 * float32, one rounding per operation). Reproducing them, rather than calling correctly rounded functions, makes
 * {@link TorchGenerator#randn} agree with torch to the last bit instead of to a few ulps (checked on the
 * conformance cases). The compiler contracts several multiply-adds of torch's vector code into fused
 * multiply-adds; {@code Math.fma} marks exactly those places (without them about 1 % of values differ by an ulp).
 * Valid for the arguments the kernel produces: log on (0, 1], sincos on [0, 2π).
 */
final class CephesFloatMath {
    private CephesFloatMath() {}

    // Cephes logf: log(1+x) ≈ x − x²/2 + x³·P(x) on [√½−1, √2−1], plus e·ln2 split in two parts.
    private static final float SQRT_HALF = (float) 0.707106781186547524;
    private static final float[] LOG_P = {
            (float) 7.0376836292E-2, (float) -1.1514610310E-1, (float) 1.1676998740E-1,
            (float) -1.2420140846E-1, (float) 1.4249322787E-1, (float) -1.6668057665E-1,
            (float) 2.0000714765E-1, (float) -2.4999993993E-1, (float) 3.3333331174E-1};
    private static final float LN2_LOW = (float) -2.12194440e-4;
    private static final float LN2_HIGH = (float) 0.693359375;

    // Cephes sinf/cosf: reduction by π/4 in three parts, then one polynomial per octant kind.
    private static final float FOUR_OVER_PI = (float) 1.27323954473516;
    private static final float DP1 = (float) -0.78515625;
    private static final float DP2 = (float) -2.4187564849853515625e-4;
    private static final float DP3 = (float) -3.77489497744594108e-8;
    private static final float SIN_P0 = (float) -1.9515295891E-4;
    private static final float SIN_P1 = (float) 8.3321608736E-3;
    private static final float SIN_P2 = (float) -1.6666654611E-1;
    private static final float COS_P0 = (float) 2.443315711809948E-005;
    private static final float COS_P1 = (float) -1.388731625493765E-003;
    private static final float COS_P2 = (float) 4.166664568298827E-002;

    /** Natural log in float32 (NaN for x ≤ 0, as the vector code does). */
    static float log(float x) {
        if (!(x > 0)) return Float.NaN;
        x = Math.max(x, Float.MIN_NORMAL);
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 127) + 1.0f;
        float m = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f)); // in [0.5, 1)
        float t;
        if (m < SQRT_HALF) {
            e = e - 1.0f;
            t = (m - 1.0f) + m;
        } else {
            t = m - 1.0f;
        }
        float z = t * t;
        float y = LOG_P[0];
        for (int i = 1; i < LOG_P.length; i++) y = Math.fma(y, t, LOG_P[i]);
        y = y * t;
        y = Math.fma(y, z, e * LN2_LOW);
        y = y - z * 0.5f;
        float r = t + y;
        return r + e * LN2_HIGH;
    }

    /** {sin(x), cos(x)} in float32. */
    static void sincos(float x, float[] sinCos) {
        boolean negative = x < 0 || (x == 0 && Float.floatToRawIntBits(x) != 0);
        x = Math.abs(x);
        int j = (int) (x * FOUR_OVER_PI);      // truncation, as cvttps
        j = (j + 1) & ~1;
        float y = (float) j;
        boolean sinFlip = ((j & 4) != 0) ^ negative;
        boolean cosFlip = ((j - 2) & 4) == 0;
        boolean firstOctantKind = (j & 2) == 0;
        x = x + y * DP1;
        x = x + y * DP2;
        x = Math.fma(y, DP3, x);
        float z = x * x;
        float c = Math.fma(COS_P0, z, COS_P1);
        c = Math.fma(c, z, COS_P2);
        c = c * z;
        c = Math.fma(c, z, -(z * 0.5f));
        c = c + 1.0f;
        float s = Math.fma(SIN_P0, z, SIN_P1);
        s = Math.fma(s, z, SIN_P2);
        s = s * z;
        s = Math.fma(s, x, x);
        float sin = firstOctantKind ? s : c;
        float cos = firstOctantKind ? c : s;
        sinCos[0] = sinFlip ? -sin : sin;
        sinCos[1] = cosFlip ? -cos : cos;
    }
}
