package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** diffusers' {@code _resize_with_antialiasing}: against a plain double-precision evaluation and torch's own output. */
class AntialiasedResizeTest {

    /**
     * Downscales (odd kernels from odd and from even 4σ, ≥ 8 taps), upscales and mixed cases against a
     * straightforward double evaluation: same formulas, no float rounding, explicit padded buffers.
     */
    @ParameterizedTest
    @CsvSource({
            "43, 61, 224, 224",   // upscale: σ = 0.001, kernel [0, 1, 0]
            "400, 600, 100, 120", // σ = (1.5, 2): 7 and 9 taps
            "62, 93, 20, 30",     // in/out = 3.1: 4σ = 4.2 → 4 → 5 taps
            "100, 230, 50, 224",  // 3 taps from 4σ = 2 and from the minimum
            "12, 1000, 10, 40",   // 49 taps along x (torch's vectorised sum), upscale along y
            "576, 1024, 224, 224" // the released model's usual input, 3 × 7 taps
    })
    void matchesDoublePrecisionReference(int h, int w, int oh, int ow) {
        float[] in = randomPlanes(3, h, w, h * 7919L + w);
        float[] actual = AntialiasedResize.apply(in, 3, h, w, oh, ow);
        double[] expected = ReferenceResize.resize(in, 3, h, w, oh, ow);
        assertEquals(expected.length, actual.length);
        double max = 0;
        for (int i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
        assertTrue(max <= 1e-5, "max abs error " + max);
    }

    /**
     * Bit patterns produced by torch 2.13 (x86-64 CPU) running diffusers' {@code _resize_with_antialiasing}
     * on {@code x[c,y,x] = ((7y + 3x + 5c) mod 17)/8 − 1}, shape [1,3,H,W].
     */
    @Test
    void downscaleMatchesTorchBitForBit() {
        int[] torch = {
                0xbe699f3e, 0x3dc777fa, 0x3c277974, 0xbd8317b3, 0x3dbf6822, 0x3c5d4f66, 0x3d2930cf, 0xbe03ee63, 0x3dab679b,
                0x3de45613, 0xbd57b01a, 0x3ca8df5c, 0x3deb10cf, 0x3ce22016, 0xbdf27cea, 0x3e0d3fa3, 0xbe2a5b6d, 0x3e38a73c,
                0x3de45613, 0xbd57b01a, 0x3ca8df5c, 0xbca8df62, 0x3d57b01b, 0xbde45613, 0xbdab679a, 0x3e03ee64, 0xbd2930d0,
                0xbca74311, 0xbd97b73b, 0x3de25e7e, 0xbe1fc040, 0x3d9f2814, 0xbdd62f3d, 0xbdab679a, 0x3e03ee64, 0xbd2930d0,
                0xbc5d4f68, 0xbdbf6821, 0x3d8317b3, 0x3d7df811, 0xbd9427f2, 0x3e15b1bb, 0x3e4b24c8, 0x3d296db4, 0xbe869fd1};
        assertBits(torch, AntialiasedResize.apply(patternPlanes(17, 9), 3, 17, 9, 5, 3)); // 5 × 5 taps
    }

    @Test
    void upscaleMatchesTorchBitForBit() {
        int[] torch = {
                0xbf800000, 0xbf3fe000, 0xbee00000, 0xbe008000, 0x3e000000, 0xbefed0a1, 0xbd844270, 0x3ea5684a, 0x3f1ce97b,
                0x3f5d097c, 0x3e7da12a, 0xbc9da0de, 0x3da0bdbc, 0x3ee80bdb, 0x3f3425ed, 0x3f400000, 0xbf24a000, 0xbf818000,
                0xbf002000, 0xbe800000, 0xbec00000, 0xbdff0000, 0x3e400000, 0x3effc000, 0x3f400000, 0x3eba12f5, 0x3f4ad97b,
                0x3da38e40, 0xbf21f5ec, 0xbe5097aa, 0x3e5097bd, 0x3f21f5ef, 0xbda38e36, 0xbf4ad97c, 0xbeba12f9, 0xbf400000,
                0xbeffc000, 0xbe400000, 0x3dff0000, 0x3ec00000, 0x3e800000, 0x3f002000, 0x3f818000, 0x3f24a000, 0xbf400000,
                0xbf3425ec, 0xbee80bd6, 0xbda0bd82, 0x3c9da16b, 0xbe7da13e, 0xbf5d097a, 0xbf1ce97b, 0xbea56850, 0x3d844248,
                0x3efed092, 0xbe000000, 0x3e008000, 0x3ee00000, 0x3f3fe000, 0x3f800000};
        assertBits(torch, AntialiasedResize.apply(patternPlanes(3, 4), 3, 3, 4, 4, 5));
    }

    @Test
    void sameSizeIsTheIdentity() {
        float[] in = randomPlanes(2, 9, 13, 5);
        assertArrayEquals(in, AntialiasedResize.apply(in, 2, 9, 13, 9, 13));
    }

    @Test
    void upscaledCornersAreTheSourceCorners() {
        // align_corners maps the output corners onto the input corners, where every other weight is 0
        // (sizes with a dyadic scale (in−1)/(out−1) = ½, so the float coordinate lands exactly on the edge).
        float[] in = randomPlanes(1, 5, 9, 11);
        float[] out = AntialiasedResize.apply(in, 1, 5, 9, 9, 17);
        assertEquals(in[0], out[0]);
        assertEquals(in[8], out[16]);
        assertEquals(in[4 * 9], out[8 * 17]);
        assertEquals(in[5 * 9 - 1], out[9 * 17 - 1]);
        assertEquals(in[2 * 9 + 4], out[4 * 17 + 8], "even output positions fall on input pixels");
    }

    @ParameterizedTest
    @CsvSource({"50, 70, 224, 224", "900, 600, 224, 224", "31, 400, 7, 9"})
    void constantStaysConstant(int h, int w, int oh, int ow) {
        float[] in = new float[h * w];
        java.util.Arrays.fill(in, 0.3137255f);
        for (float v : AntialiasedResize.apply(in, 1, h, w, oh, ow)) assertEquals(0.3137255f, v, 1e-6f);
    }

    @Test
    void sigmaAndKernelSizeFollowDiffusers() {
        assertEquals(0.001, AntialiasedResize.sigma(43, 224));
        assertEquals((1024.0 / 224 - 1) / 2, AntialiasedResize.sigma(1024, 224));
        assertEquals(7, AntialiasedResize.kernelSize(AntialiasedResize.sigma(1024, 224))); // 4σ = 7.14
        assertEquals(3, AntialiasedResize.kernelSize(AntialiasedResize.sigma(576, 224)));  // 4σ = 3.14
        assertEquals(5, AntialiasedResize.kernelSize(1.05));  // 4σ = 4.2 → 4 → odd 5
        assertEquals(3, AntialiasedResize.kernelSize(0.001)); // the minimum
        assertEquals(9, AntialiasedResize.kernelSize(2.0));   // exactly 8 → 9
    }

    @Test
    void gaussianKernelIsNormalisedAndSymmetric() {
        for (int size : new int[] {3, 5, 7, 9, 15, 29, 49}) {
            float[] k = AntialiasedResize.gaussianKernel(size, size / 4f);
            double sum = 0;
            for (int i = 0; i < size; i++) {
                sum += k[i];
                assertEquals(k[i], k[size - 1 - i], "kernel " + size + " tap " + i);
            }
            assertEquals(1.0, sum, 1e-6, "kernel " + size);
            for (int i = 1; i <= size / 2; i++) assertTrue(k[i] > k[i - 1], "kernel " + size + " rises to the centre");
        }
        assertArrayEquals(new float[] {0f, 1f, 0f}, AntialiasedResize.gaussianKernel(3, 0.001f));
    }

    @Test
    void torchSumIsASumInBothOrders() {
        Random random = new Random(3);
        for (int n = 1; n < 300; n += 7) {
            float[] v = new float[n];
            double exact = 0;
            for (int i = 0; i < n; i++) {
                v[i] = random.nextFloat();
                exact += v[i];
            }
            assertEquals(exact, AntialiasedResize.torchSum(v), 1e-6 * n, "length " + n);
        }
        // torch's lane order, visible when cancellation makes the order matter: 8 lanes hold 1e8, −1e8 and ones.
        float[] v = new float[9];
        v[0] = 1e8f;
        v[1] = 1;
        v[4] = -1e8f;
        v[8] = 1; // the scalar tail is summed first, then lanes 0..7: ((1 + 1e8) + 1) + … − 1e8
        assertEquals(0f, AntialiasedResize.torchSum(v));
    }

    @Test
    void tensorFormKeepsBatchAndChannels() {
        float[] in = randomPlanes(6, 10, 12, 2);
        Tensor out = AntialiasedResize.apply(Tensor.fromFloats(in, 2, 3, 10, 12), 4, 5);
        assertArrayEquals(new int[] {2, 3, 4, 5}, out.shape());
        assertArrayEquals(AntialiasedResize.apply(in, 6, 10, 12, 4, 5), out.toFloatArray());
    }

    @Test
    void rejectsBadArguments() {
        float[] in = new float[12];
        assertThrows(IllegalArgumentException.class, () -> AntialiasedResize.apply(in, 1, 3, 4, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> AntialiasedResize.apply(in, 1, 3, 4, 5, -1));
        assertThrows(IllegalArgumentException.class, () -> AntialiasedResize.apply(in, 2, 3, 4, 5, 5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AntialiasedResize.apply(new float[4], 1, 1, 4, 8, 8));
        assertTrue(e.getMessage().contains("height"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AntialiasedResize.apply(Tensor.fromFloats(in, 3, 4), 2, 2));
    }

    private static void assertBits(int[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Integer.toHexString(expected[i]), Integer.toHexString(Float.floatToRawIntBits(actual[i])),
                    "element " + i + " (" + Float.intBitsToFloat(expected[i]) + " vs " + actual[i] + ")");
        }
    }

    private static float[] patternPlanes(int h, int w) {
        float[] v = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) v[(c * h + y) * w + x] = ((7 * y + 3 * x + 5 * c) % 17) / 8f - 1f;
        }
        return v;
    }

    private static float[] randomPlanes(int count, int h, int w, long seed) {
        Random random = new Random(seed);
        float[] v = new float[count * h * w];
        for (int i = 0; i < v.length; i++) v[i] = random.nextFloat() * 2 - 1;
        return v;
    }

    /** The textbook formulas in double: explicit Gaussian, explicitly padded buffers, Keys' cubic (a = −0.75). */
    private static final class ReferenceResize {
        static double[] resize(float[] in, int count, int h, int w, int oh, int ow) {
            double[] kx = gaussian(w, ow), ky = gaussian(h, oh);
            double[] out = new double[count * oh * ow];
            for (int p = 0; p < count; p++) {
                double[][] img = new double[h][w];
                for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img[y][x] = in[(p * h + y) * w + x];
                double[][] blurred = transpose(convolveRows(transpose(convolveRows(img, kx)), ky));
                for (int y = 0; y < oh; y++) {
                    for (int x = 0; x < ow; x++) out[(p * oh + y) * ow + x] = bicubic(blurred, y, x, oh, ow);
                }
            }
            return out;
        }

        static double[] gaussian(int in, int out) {
            double sigma = Math.max((in / (double) out - 1) / 2, 0.001);
            int size = (int) Math.max(4 * sigma, 3);
            if (size % 2 == 0) size++;
            double[] k = new double[size];
            double sum = 0;
            for (int i = 0; i < size; i++) {
                double d = i - size / 2;
                k[i] = Math.exp(-d * d / (2 * sigma * sigma));
                sum += k[i];
            }
            for (int i = 0; i < size; i++) k[i] /= sum;
            return k;
        }

        /** Each row padded by mirroring (edge not repeated), then correlated with the kernel. */
        static double[][] convolveRows(double[][] img, double[] k) {
            int r = k.length / 2, w = img[0].length;
            double[][] out = new double[img.length][w];
            for (int y = 0; y < img.length; y++) {
                double[] padded = new double[w + 2 * r];
                for (int i = 0; i < padded.length; i++) {
                    int src = i - r;
                    if (src < 0) src = -src;
                    if (src >= w) src = 2 * w - 2 - src;
                    padded[i] = img[y][src];
                }
                for (int x = 0; x < w; x++) {
                    double s = 0;
                    for (int j = 0; j < k.length; j++) s += k[j] * padded[x + j];
                    out[y][x] = s;
                }
            }
            return out;
        }

        static double[][] transpose(double[][] m) {
            double[][] t = new double[m[0].length][m.length];
            for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) t[j][i] = m[i][j];
            return t;
        }

        static double bicubic(double[][] img, int oy, int ox, int oh, int ow) {
            int h = img.length, w = img[0].length;
            double sy = sourceCoordinate(oy, h, oh), sx = sourceCoordinate(ox, w, ow);
            int y0 = (int) Math.floor(sy), x0 = (int) Math.floor(sx);
            double s = 0;
            for (int j = -1; j <= 2; j++) {
                for (int i = -1; i <= 2; i++) {
                    int yy = Math.clamp(y0 + j, 0, h - 1), xx = Math.clamp(x0 + i, 0, w - 1);
                    s += keys(sy - (y0 + j)) * keys(sx - (x0 + i)) * img[yy][xx];
                }
            }
            return s;
        }

        /**
         * align_corners: output o samples {@code o·(in−1)/(out−1)}. torch forms that coordinate in float32
         * (scale rounded, then the product), which moves samples far from the origin by up to ~1e-4 pixel;
         * the reference uses the same coordinate so that the comparison measures the interpolation itself.
         */
        static double sourceCoordinate(int o, int in, int out) {
            return out > 1 ? (float) (in - 1) / (out - 1) * o : 0;
        }

        static double keys(double d) {
            double a = -0.75, t = Math.abs(d);
            if (t <= 1) return (a + 2) * t * t * t - (a + 3) * t * t + 1;
            if (t < 2) return a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
            return 0;
        }
    }
}
