package dev.i2vgen.io.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PillowResampleTest {

    /**
     * Against a plain double-precision evaluation of Pillow's formula (weights normalised in doubles,
     * each pass rounded to 8 bits): the fixed-point result may differ by at most one level.
     */
    @ParameterizedTest
    @CsvSource({
            "BILINEAR, 1280, 1280, 224, 224",
            "BILINEAR, 61, 43, 32, 32",
            "BILINEAR, 40, 30, 97, 61",
            "BOX, 1280, 704, 2327, 1279",
            "BOX, 1920, 1080, 1280, 720",
            "BOX, 300, 200, 97, 61",
            "BICUBIC, 500, 300, 373, 224",
            "BICUBIC, 50, 30, 120, 77",
            "LANCZOS, 61, 43, 48, 32",
            "LANCZOS, 40, 40, 32, 32",
            "LANCZOS, 1024, 576, 320, 192",
            "LANCZOS, 37, 23, 101, 64",
    })
    void matchesDoublePrecisionReferenceWithinOneLevel(ResampleFilter filter, int w, int h, int ow, int oh) {
        RgbImage in = randomImage(w, h, new Random(w * 31L + h));
        RgbImage actual = PillowResample.resize(in, ow, oh, filter);
        RgbImage expected = referenceResize(in, ow, oh, filter);
        assertEquals(ow, actual.width());
        assertEquals(oh, actual.height());
        byte[] a = actual.toByteArray(), e = expected.toByteArray();
        int exact = 0;
        for (int i = 0; i < a.length; i++) {
            int d = Math.abs((a[i] & 0xFF) - (e[i] & 0xFF));
            assertTrue(d <= 1, "byte " + i + ": " + (a[i] & 0xFF) + " vs reference " + (e[i] & 0xFF));
            if (d == 0) exact++;
        }
        assertTrue(exact >= 0.95 * a.length, "only " + exact + " of " + a.length + " exact");
    }

    @Test
    void boxShrinkByOneAndAHalfIncludesTheRightTieSample() {
        // Pillow ≥ 7 box interval (−0.5, 0.5]: 6 → 4 gives avg(p0,p1), p2, avg(p3,p4), p5.
        byte[] row = new byte[6 * 3];
        int[] v = {10, 20, 30, 40, 50, 60};
        for (int i = 0; i < 6; i++) for (int c = 0; c < 3; c++) row[i * 3 + c] = (byte) (v[i] + c);
        RgbImage out = PillowResample.resize(RgbImage.of(6, 1, row), 4, 1, ResampleFilter.BOX);
        assertEquals(15, out.get(0, 0, 0));
        assertEquals(30, out.get(1, 0, 0));
        assertEquals(45, out.get(2, 0, 0));
        assertEquals(60, out.get(3, 0, 0));
        assertEquals(62, out.get(3, 0, 2));
    }

    @Test
    void boxEnlargementCopiesPixels() {
        RgbImage in = randomImage(7, 5, new Random(3));
        RgbImage out = PillowResample.resize(in, 14, 10, ResampleFilter.BOX);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 14; x++)
                for (int c = 0; c < 3; c++) assertEquals(in.get(x / 2, y / 2, c), out.get(x, y, c));
    }

    @Test
    void bicubicOvershootIsClamped() {
        // A hard 0/255 edge makes the negative cubic lobes overshoot; Pillow clamps to 0..255.
        byte[] d = new byte[8 * 3];
        for (int i = 4; i < 8; i++) for (int c = 0; c < 3; c++) d[i * 3 + c] = (byte) 255;
        RgbImage out = PillowResample.resize(RgbImage.of(8, 1, d), 19, 1, ResampleFilter.BICUBIC);
        RgbImage ref = referenceResize(RgbImage.of(8, 1, d), 19, 1, ResampleFilter.BICUBIC);
        assertArrayEquals(ref.toByteArray(), out.toByteArray());
    }

    @Test
    void sameSizeIsIdentityAndBadSizeIsRejected() {
        RgbImage in = randomImage(9, 4, new Random(5));
        assertSame(in, PillowResample.resize(in, 9, 4, ResampleFilter.BILINEAR));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PillowResample.resize(in, 0, 4, ResampleFilter.BOX));
        assertTrue(e.getMessage().contains("0×4"));
    }

    static RgbImage randomImage(int w, int h, Random rnd) {
        byte[] b = new byte[w * h * 3];
        rnd.nextBytes(b);
        return RgbImage.of(w, h, b);
    }

    // ---- independent reference: textbook separable convolution in doubles ----

    static RgbImage referenceResize(RgbImage in, int ow, int oh, ResampleFilter filter) {
        int w = in.width(), h = in.height();
        double[][][] img = new double[h][w][3];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) img[y][x][c] = in.get(x, y, c);
        if (ow != w) {
            double[][][] t = new double[h][ow][3];
            for (int o = 0; o < ow; o++) {
                double[] wts = weights(w, ow, o, filter);
                int lo = lowIndex(w, ow, o, filter);
                for (int y = 0; y < h; y++)
                    for (int c = 0; c < 3; c++) {
                        double s = 0;
                        for (int k = 0; k < wts.length; k++) s += wts[k] * img[y][lo + k][c];
                        t[y][o][c] = to8(s);
                    }
            }
            img = t;
            w = ow;
        }
        if (oh != h) {
            double[][][] t = new double[oh][w][3];
            for (int o = 0; o < oh; o++) {
                double[] wts = weights(h, oh, o, filter);
                int lo = lowIndex(h, oh, o, filter);
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) {
                        double s = 0;
                        for (int k = 0; k < wts.length; k++) s += wts[k] * img[lo + k][x][c];
                        t[o][x][c] = to8(s);
                    }
            }
            img = t;
        }
        byte[] out = new byte[ow * oh * 3];
        for (int y = 0; y < oh; y++) for (int x = 0; x < ow; x++) for (int c = 0; c < 3; c++) out[(y * ow + x) * 3 + c] = (byte) (int) img[y][x][c];
        return RgbImage.of(ow, oh, out);
    }

    private static double to8(double v) { return Math.min(255, Math.max(0, Math.floor(v + 0.5))); }

    private static int lowIndex(int in, int out, int o, ResampleFilter f) {
        double scale = (double) in / out, support = f.support() * Math.max(scale, 1);
        return Math.max(0, (int) Math.floor((o + 0.5) * scale - support + 0.5));
    }

    private static double[] weights(int in, int out, int o, ResampleFilter f) {
        double scale = (double) in / out, fs = Math.max(scale, 1), support = f.support() * fs;
        double center = (o + 0.5) * scale;
        int lo = lowIndex(in, out, o, f);
        int hi = Math.min(in, (int) Math.floor(center + support + 0.5));
        double[] w = new double[hi - lo];
        double sum = 0;
        for (int k = 0; k < w.length; k++) {
            double x = (lo + k + 0.5 - center) / fs;
            double ax = Math.abs(x);
            w[k] = switch (f) {
                case BOX -> (x > -0.5 && x <= 0.5) ? 1 : 0;
                case BILINEAR -> Math.max(0, 1 - ax);
                case BICUBIC -> ax < 1 ? 1.5 * ax * ax * ax - 2.5 * ax * ax + 1 : ax < 2 ? -0.5 * ax * ax * ax + 2.5 * ax * ax - 4 * ax + 2 : 0;
                // Lanczos-3 as one product: 3·sin(πx)·sin(πx/3) / (πx)².
                case LANCZOS -> x == 0 ? 1 : (x >= -3 && x < 3)
                        ? 3 * Math.sin(Math.PI * x) * Math.sin(Math.PI * x / 3) / (Math.PI * Math.PI * x * x) : 0;
            };
            sum += w[k];
        }
        for (int k = 0; k < w.length; k++) w[k] /= sum;
        return w;
    }
}
