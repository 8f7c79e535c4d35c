package dev.i2vgen.sampler.random;

import dev.i2vgen.io.reference.ReferenceCase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class TorchGeneratorTest {

    /** Both recorded noises of a diffusers run come from one stream seeded with the case's seed, VAE sample first. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void reproducesTheReferenceNoiseOfEachCase(String name) {
        try (ReferenceCase rc = ReferenceCase.bundled(name)) {
            TorchGenerator gen = new TorchGenerator(rc.seed());
            for (String tensor : new String[]{"vae_encode.sample_noise", "initial_latents"}) {
                float[] expected = rc.tensor(tensor).toFloatArray();
                float[] actual = gen.randn(rc.tensor(tensor).shape());
                assertEquals(expected.length, actual.length, tensor);
                double maxAbs = 0;
                for (int i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i] - actual[i]));
                // required: 1e-6; the float32 Cephes emulation is in fact bit-exact on these cases
                assertTrue(maxAbs <= 1e-6, name + " " + tensor + ": max |Δ| = " + maxAbs);
                assertEquals(0.0, maxAbs, name + " " + tensor + " should be bit-exact");
            }
        }
    }

    /**
     * The MT19937 reference output: the C++ standard requires the 10000th output of a default-seeded
     * (5489) std::mt19937 to be 4123659995.
     */
    @Test
    void mersenneTwisterMatchesTheStandardCheckValue() {
        Mt19937 mt = new Mt19937(5489);
        long v = 0;
        for (int i = 0; i < 10000; i++) v = mt.nextUnsigned32();
        assertEquals(4123659995L, v);
    }

    /** Only the low 32 bits of a seed matter to torch's mt19937. */
    @Test
    void seedIsTruncatedTo32Bits() {
        Mt19937 a = new Mt19937(123);
        Mt19937 b = new Mt19937((7L << 32) | 123);
        for (int i = 0; i < 1000; i++) assertEquals(a.nextUnsigned32(), b.nextUnsigned32());
    }

    /**
     * torch takes seeds in [−2⁶³, 2⁶⁴): a negative one is reinterpreted as its unsigned 64 bits, and mt19937 keeps the
     * low 32 bits of those (ATen's init_with_uint32). So 2⁶⁴ − 1, −1 and 2³² − 1 draw the same numbers, and the
     * generator reports the 64 bits it was given, as torch's initial_seed() does.
     */
    @Test
    void seedsFromTwoToTheSixtyThreeSeedAsTorchDoes() {
        long max = Long.parseUnsignedLong("18446744073709551615");
        float[] expected = new TorchGenerator(0xffffffffL).randn(40);
        assertArrayEquals(expected, new TorchGenerator(max).randn(40));
        assertArrayEquals(expected, new TorchGenerator(-1L).randn(40));
        assertEquals("18446744073709551615", Long.toUnsignedString(new TorchGenerator(max).initialSeed()));
        long twoTo63 = Long.parseUnsignedLong("9223372036854775808");
        assertArrayEquals(new TorchGenerator(0).randn(40), new TorchGenerator(twoTo63).randn(40));
    }

    /** Values printed by torch for {@code torch.manual_seed(0)} (widely published, 4 decimals). */
    @Test
    void publishedTorchValuesForSeedZero() {
        assertArrayEquals(new float[]{0.4963f, 0.7682f, 0.0885f, 0.1320f, 0.3074f, 0.6341f},
                new TorchGenerator(0).rand(2, 3), 1e-4f);
        // fewer than 16 elements: scalar double Box–Muller with a cached second value
        assertArrayEquals(new float[]{1.5410f, -0.2934f, -2.1788f, 0.5684f, -1.0845f, -1.3986f},
                new TorchGenerator(0).randn(2, 3), 1e-4f);
        // 16 elements: the block Box–Muller on float uniforms
        assertArrayEquals(new float[]{-1.1258f, -1.1524f, -0.2506f, -0.4339f, 0.8487f, 0.6920f, -0.3160f, -2.1152f,
                        0.3223f, -1.2633f, 0.3500f, 0.3081f, 0.1198f, 1.2377f, 1.1168f, -0.2473f},
                new TorchGenerator(0).randn(4, 4), 1e-4f);
    }

    /** The block path written out independently in double from the uniforms of an identically seeded generator. */
    @ParameterizedTest
    @ValueSource(ints = {16, 37, 48, 50})
    void blockBoxMullerWithTailRedraw(int n) {
        long seed = new Random(n).nextLong();
        float[] actual = new TorchGenerator(seed).randn(n);
        TorchGenerator uniforms = new TorchGenerator(seed);
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = uniforms.nextUniformFloat();
        double[] expected = new double[n];
        for (int b = 0; b + 16 <= n; b += 16) boxMuller(u, b, expected);
        if (n % 16 != 0) {
            for (int i = 0; i < 16; i++) u[n - 16 + i] = uniforms.nextUniformFloat();
            boxMuller(u, n - 16, expected);
        }
        for (int i = 0; i < n; i++) assertEquals(expected[i], actual[i], 2e-6 * Math.max(1, Math.abs(expected[i])), "element " + i);
        // the stream continues after exactly n (+16 for a tail) draws
        assertEquals(uniforms.nextUnsigned32(), new TorchGenerator(seed).skip(n + (n % 16 != 0 ? 16 : 0)).nextUnsigned32());
    }

    private static void boxMuller(double[] u, int b, double[] out) {
        for (int j = 0; j < 8; j++) {
            double r = Math.sqrt(-2 * Math.log(1 - u[b + j]));
            double theta = 2 * Math.PI * u[b + j + 8];
            out[b + j] = r * Math.cos(theta);
            out[b + j + 8] = r * Math.sin(theta);
        }
    }

    /** Small tensors: pairs of double uniforms (53 bits from two 32-bit draws), cosine first, sine cached. */
    @Test
    void scalarPathCachesTheSineAcrossCalls() {
        TorchGenerator uniforms = new TorchGenerator(42);
        double u1 = uniforms.nextUniform(), u2 = uniforms.nextUniform();
        double r = Math.sqrt(-2 * Math.log(1 - u2));
        TorchGenerator gen = new TorchGenerator(42);
        assertEquals((float) (r * Math.cos(2 * Math.PI * u1)), gen.randn(1)[0], 1e-7f);
        assertEquals((float) (r * Math.sin(2 * Math.PI * u1)), gen.randn(1)[0], 1e-7f);
        gen.manualSeed(42);
        assertEquals((float) (r * Math.cos(2 * Math.PI * u1)), gen.randn(1)[0], 1e-7f, "manual_seed clears the cache");
    }

    @Test
    void uniformDoubleUsesTheLow53BitsOfHighThenLowWord() {
        Mt19937 mt = new Mt19937(2024);
        long hi = mt.nextUnsigned32(), lo = mt.nextUnsigned32();
        double expected = (((hi & 0x1FFFFF) << 32) | lo) / Math.pow(2, 53);
        assertEquals(expected, new TorchGenerator(2024).nextUniform(), 0.0);
    }

    /** The float32 Cephes functions stay within a few ulps of the exact ones on the kernel's argument ranges. */
    @Test
    void cephesFunctionsAreAccurate() {
        Random r = new Random(5);
        float[] sc = new float[2];
        for (int i = 0; i < 100_000; i++) {
            float u = 1.0f - (r.nextInt(1 << 24) * (1.0f / (1 << 24)));
            assertEquals(Math.log(u), CephesFloatMath.log(u), 4 * Math.ulp((float) Math.log(u)) + 1e-12, "log " + u);
            float theta = (float) (2 * Math.PI) * (r.nextInt(1 << 24) * (1.0f / (1 << 24)));
            CephesFloatMath.sincos(theta, sc);
            assertEquals(Math.sin(theta), sc[0], 3e-7, "sin " + theta);
            assertEquals(Math.cos(theta), sc[1], 3e-7, "cos " + theta);
        }
    }

    @Test
    void negativeShapeIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TorchGenerator(1).randn(2, -1));
        assertTrue(e.getMessage().contains("[2, -1]"), e.getMessage());
    }
}
