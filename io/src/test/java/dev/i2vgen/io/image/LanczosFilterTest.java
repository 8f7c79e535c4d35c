package dev.i2vgen.io.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pillow's LANCZOS filter: the weight function and the 8-bit resize built on it. */
class LanczosFilterTest {

    /** Independent form of the Lanczos-3 window: 3·sin(πx)·sin(πx/3) / (πx)², 1 at 0, 0 outside [−3, 3). */
    private static double lanczos3(double x) {
        if (x == 0) return 1;
        if (x < -3 || x >= 3) return 0;
        return 3 * Math.sin(Math.PI * x) * Math.sin(Math.PI * x / 3) / (Math.PI * Math.PI * x * x);
    }

    @Test
    void weightMatchesTheProductFormula() {
        Random random = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            double x = i < 800 ? -4 + i * 0.01 : (random.nextDouble() * 8 - 4);
            assertEquals(lanczos3(x), ResampleFilter.LANCZOS.weight(x), 1e-15, "weight(" + x + ")");
        }
    }

    @Test
    void windowIsHalfOpenWithSupportThree() {
        assertEquals(3.0, ResampleFilter.LANCZOS.support());
        assertEquals(1.0, ResampleFilter.LANCZOS.weight(0.0));
        assertEquals(0.0, ResampleFilter.LANCZOS.weight(3.0), "x = 3 is outside Pillow's window");
        assertEquals(0.0, ResampleFilter.LANCZOS.weight(3.25));
        assertEquals(0.0, ResampleFilter.LANCZOS.weight(-3.25));
        // zeros of sinc(x) at the integers inside the window (up to rounding of sin(kπ))
        for (int k : new int[] {-3, -2, -1, 1, 2}) assertEquals(0.0, ResampleFilter.LANCZOS.weight(k), 1e-15);
        // the main lobe: sinc(½)·sinc(⅙) = (2/π)·(6/π)·sin(π/6) = 6/π²
        assertEquals(6 / (Math.PI * Math.PI), ResampleFilter.LANCZOS.weight(0.5), 1e-15);
        assertTrue(ResampleFilter.LANCZOS.weight(1.5) < 0, "first side lobe is negative");
    }

    @Test
    void sameSizeIsTheIdentity() {
        RgbImage in = random(23, 17, 1);
        assertSame(in, PillowResample.resize(in, 23, 17, ResampleFilter.LANCZOS));
    }

    @ParameterizedTest
    @CsvSource({"61, 43, 48, 32", "40, 40, 32, 32", "7, 5, 64, 48", "300, 10, 17, 10"})
    void constantImageStaysConstant(int w, int h, int ow, int oh) {
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) 200;
            rgb[i + 1] = (byte) 3;
            rgb[i + 2] = (byte) 255;
        }
        RgbImage out = PillowResample.resize(RgbImage.of(w, h, rgb), ow, oh, ResampleFilter.LANCZOS);
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                assertEquals(200, out.get(x, y, 0));
                assertEquals(3, out.get(x, y, 1));
                assertEquals(255, out.get(x, y, 2));
            }
        }
    }

    @Test
    void halvingTwoPixelsAveragesThemRoundingHalfUp() {
        // 2 → 1: centre 1.0, the two taps sit at ∓¼ (after the ½ stretch), equal weights ½ each.
        byte[] rgb = {10, 0, (byte) 255, 21, 1, (byte) 254};
        RgbImage out = PillowResample.resize(RgbImage.of(2, 1, rgb), 1, 1, ResampleFilter.LANCZOS);
        assertEquals(16, out.get(0, 0, 0)); // 15.5 → 16
        assertEquals(1, out.get(0, 0, 1));  // 0.5 → 1
        assertEquals(255, out.get(0, 0, 2)); // 254.5 → 255
    }

    @Test
    void upscaleOfOnePixelIsConstant() {
        RgbImage out = PillowResample.resize(RgbImage.of(1, 1, new byte[] {9, 99, (byte) 199}), 5, 4, ResampleFilter.LANCZOS);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 5; x++) assertEquals(99, out.get(x, y, 1));
    }

    @Test
    void overshootIsClippedToTheByteRange() {
        // A hard 0 → 255 edge rings under Lanczos; Pillow clips instead of wrapping.
        int w = 8;
        byte[] rgb = new byte[w * 3];
        for (int x = w / 2; x < w; x++) for (int c = 0; c < 3; c++) rgb[x * 3 + c] = (byte) 255;
        RgbImage out = PillowResample.resize(RgbImage.of(w, 1, rgb), 29, 1, ResampleFilter.LANCZOS);
        assertEquals(0, out.get(0, 0, 0));
        assertEquals(255, out.get(28, 0, 0));
        int prev = 0, drops = 0;
        for (int x = 0; x < 29; x++) {
            int v = out.get(x, 0, 0);
            if (v < prev) drops++;
            prev = v;
        }
        assertTrue(drops > 0, "ringing should make the edge non-monotonic somewhere");
    }

    private static RgbImage random(int w, int h, long seed) {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).nextBytes(rgb);
        return RgbImage.of(w, h, rgb);
    }
}
