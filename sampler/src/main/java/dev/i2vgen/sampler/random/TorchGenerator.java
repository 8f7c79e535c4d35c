package dev.i2vgen.sampler.random;

import dev.i2vgen.tensor.Tensor;

import java.util.Arrays;

/**
 * torch's CPU generator ({@code torch.Generator("cpu")} / the global one after {@code torch.manual_seed(seed)}),
 * reproduced so that the same seed draws the same numbers as diffusers on the CPU.
 *
 * <p>One MT19937 stream feeds everything; the stream continues across calls, like torch's generator.
 * What torch draws per distribution (facts from ATen's CPU generator and distribution kernels):
 * <ul>
 *   <li>32-bit draw: one MT19937 output; 64-bit draw: two outputs, the first is the high word.</li>
 *   <li>uniform float in [0,1): low 24 bits of a 32-bit draw × 2⁻²⁴; uniform double: low 53 bits of a
 *       64-bit draw × 2⁻⁵³.</li>
 *   <li>{@code randn} float32 with ≥ 16 elements: first one uniform float per element, then Box–Muller on
 *       blocks of 16 (u1 = 1 − data[j], u2 = data[j+8] for j &lt; 8; cos → j, sin → j+8); when the size is
 *       not a multiple of 16 the last 16 elements are refilled with 16 fresh uniforms and transformed
 *       again (overwriting some already finished values).</li>
 *   <li>{@code randn} with fewer than 16 elements: per element the scalar double Box–Muller of
 *       {@code normal_distribution<double>}, which caches its second (sine) value in the generator.</li>
 * </ul>
 */
public final class TorchGenerator {
    /** Below this many elements torch uses the scalar (cached Box–Muller) path. */
    private static final int VECTOR_FILL_MIN = 16;
    private static final double TWO_PI = 2.0 * Math.PI;
    /** 2π rounded to float: torch's AVX2 kernel multiplies the angle in float32. */
    private static final float TWO_PI_F = (float) TWO_PI;

    private Mt19937 engine;
    private long seed;
    /** The cached second value of the scalar double Box–Muller (torch's next_double_normal_sample). */
    private Double nextDoubleNormal;

    public TorchGenerator(long seed) {
        manualSeed(seed);
    }

    /**
     * Restart the stream, as {@code torch.manual_seed(seed)} / {@code generator.manual_seed(seed)} do. {@code seed} is
     * torch's unsigned 64-bit seed as its bits: a seed in [2⁶³, 2⁶⁴) is the negative long with the same bits, which is
     * also what torch makes of a negative seed.
     */
    public TorchGenerator manualSeed(long seed) {
        this.seed = seed;
        this.engine = new Mt19937(seed);
        this.nextDoubleNormal = null;
        return this;
    }

    /** The seed's 64 bits; {@link Long#toUnsignedString} prints it as torch's {@code initial_seed()}. */
    public long initialSeed() { return seed; }

    /** torch's {@code random()}: one 32-bit output, unsigned, in a long. */
    public long nextUnsigned32() { return engine.nextUnsigned32(); }

    /** torch's {@code random64()}: two 32-bit outputs, the first one is the high word. */
    public long nextLong64() {
        long hi = engine.nextUnsigned32();
        long lo = engine.nextUnsigned32();
        return (hi << 32) | lo;
    }

    /** Discard {@code count} 32-bit outputs (as if that many uniform floats had been drawn). */
    public TorchGenerator skip(long count) {
        for (long i = 0; i < count; i++) engine.nextUnsigned32();
        return this;
    }

    /** {@code uniform_real_distribution<float>(0, 1)}: 24 random bits, in [0, 1). */
    public float nextUniformFloat() {
        return (nextUnsigned32() & ((1L << 24) - 1)) * (1.0f / (1 << 24));
    }

    /** {@code uniform_real_distribution<double>(0, 1)}: 53 random bits, in [0, 1). */
    public double nextUniform() {
        return (nextLong64() & ((1L << 53) - 1)) * (1.0 / (1L << 53));
    }

    /**
     * {@code normal_distribution<double>(0, 1)}: Box–Muller in double that returns the cosine value and keeps
     * the sine value for the next call.
     */
    public double nextNormal() {
        if (nextDoubleNormal != null) {
            double cached = nextDoubleNormal;
            nextDoubleNormal = null;
            return cached;
        }
        double u1 = nextUniform();
        double u2 = nextUniform();
        double r = Math.sqrt(-2.0 * Math.log1p(-u2));
        double theta = TWO_PI * u1;
        nextDoubleNormal = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    /** {@code torch.rand(shape)} in float32: one uniform float per element, in order. */
    public float[] rand(int... shape) {
        float[] out = new float[checkedNumel(shape)];
        for (int i = 0; i < out.length; i++) out[i] = nextUniformFloat();
        return out;
    }

    /** {@code torch.randn(shape, dtype=torch.float32)} on the CPU, row-major. */
    public float[] randn(int... shape) {
        int n = checkedNumel(shape);
        float[] data = new float[n];
        if (n < VECTOR_FILL_MIN) {
            for (int i = 0; i < n; i++) data[i] = (float) nextNormal();
            return data;
        }
        for (int i = 0; i < n; i++) data[i] = nextUniformFloat();
        for (int i = 0; i + VECTOR_FILL_MIN <= n; i += VECTOR_FILL_MIN) boxMuller16(data, i);
        if (n % VECTOR_FILL_MIN != 0) {
            // torch rewinds to the last full block of 16 and redraws its uniforms.
            int start = n - VECTOR_FILL_MIN;
            for (int i = 0; i < VECTOR_FILL_MIN; i++) data[start + i] = nextUniformFloat();
            boxMuller16(data, start);
        }
        return data;
    }

    /** {@link #randn(int...)} as a contiguous F32 tensor of that shape. */
    public Tensor randnTensor(int... shape) {
        return Tensor.fromFloats(randn(shape), shape);
    }

    /**
     * Box–Muller on 16 uniforms in place, in float32 exactly like torch's AVX2 {@code normal_fill_16}:
     * angle = float(2π)·u2 in float, Cephes float log and sincos, radius = √(−2·log u1).
     */
    private static void boxMuller16(float[] data, int base) {
        float[] sinCos = new float[2];
        for (int j = 0; j < 8; j++) {
            float u1 = 1.0f - data[base + j];           // [0,1) → (0,1] so that log is finite
            float u2 = data[base + j + 8];
            float radius = (float) Math.sqrt(-2.0f * CephesFloatMath.log(u1));
            CephesFloatMath.sincos(TWO_PI_F * u2, sinCos);
            data[base + j] = radius * sinCos[1];
            data[base + j + 8] = radius * sinCos[0];
        }
    }

    private static int checkedNumel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("randn: negative dimension in shape " + Arrays.toString(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("randn: shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }
}
