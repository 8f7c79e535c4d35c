package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The two SVD conditioning inputs; their exactness against diffusers is checked on the reference runs in the sampler module. */
class SvdImagePreprocessingTest {

    @Test
    void clipPixelsAreSquareUnitRangeAndKeepTheCorners() {
        RgbImage image = random(61, 43, 1);
        Tensor t = SvdImagePreprocessing.clipPixels(image, 224);
        assertArrayEquals(new int[] {1, 3, 224, 224}, t.shape());
        float[] v = t.toFloatArray();
        int plane = 224 * 224;
        for (int c = 0; c < 3; c++) {
            // an upscale with align_corners: output (0, 0) is input (0, 0) through 2x − 1 and back, bit for bit;
            // the far corners only nearly, as the float scale (in−1)/223 times 223 can fall short of in−1
            assertEquals(unit(image.get(0, 0, c)), v[c * plane]);
            assertEquals(unit(image.get(60, 0, c)), v[c * plane + 223], 1e-5f);
            assertEquals(unit(image.get(0, 42, c)), v[c * plane + 223 * 224], 1e-5f);
            assertEquals(unit(image.get(60, 42, c)), v[c * plane + plane - 1], 1e-5f);
        }
    }

    @Test
    void clipPixelsOfAFlatImageAreFlat() {
        byte[] rgb = new byte[500 * 300 * 3];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) 255;
            rgb[i + 1] = 64;
            rgb[i + 2] = 0;
        }
        float[] v = SvdImagePreprocessing.clipPixels(RgbImage.of(500, 300, rgb), 32).toFloatArray();
        for (int i = 0; i < 32 * 32; i++) {
            assertEquals(1f, v[i], 1e-6f);
            assertEquals(64 / 255f, v[1024 + i], 1e-6f);
            assertEquals(0f, v[2048 + i], 1e-6f);
        }
    }

    @Test
    void vaePixelsAtTheImageSizeAreTheSignedPixels() {
        RgbImage image = random(48, 32, 2);
        Tensor t = SvdImagePreprocessing.vaePixels(image, 48, 32);
        assertArrayEquals(new int[] {1, 3, 32, 48}, t.shape());
        assertArrayEquals(ImageTensors.toSignedUnitRange(image).toFloatArray(), t.toFloatArray());
    }

    @Test
    void vaePixelsIgnoreTheAspectRatio() {
        RgbImage image = random(61, 43, 3);
        Tensor t = SvdImagePreprocessing.vaePixels(image, 32, 48);
        assertArrayEquals(new int[] {1, 3, 48, 32}, t.shape());
        assertEquals(32, SvdImagePreprocessing.vaeImage(image, 32, 48).width());
        float[] v = t.toFloatArray();
        for (float x : v) assertEquals(0f, x, 1f);
    }

    @Test
    void rejectsNonPositiveSizes() {
        RgbImage image = random(8, 8, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SvdImagePreprocessing.clipPixels(image, 0));
        assertEquals("size must be positive, got 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SvdImagePreprocessing.vaePixels(image, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> SvdImagePreprocessing.vaePixels(image, 8, -2));
    }

    /** {@code ((2·(v/255) − 1) + 1) / 2} in float32, as diffusers rounds it. */
    private static float unit(int v) {
        float x = 2.0f * (v / 255.0f) - 1.0f;
        return (x + 1.0f) / 2.0f;
    }

    private static RgbImage random(int w, int h, long seed) {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).nextBytes(rgb);
        return RgbImage.of(w, h, rgb);
    }
}
