package dev.i2vgen.io.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CenterCropWideTest {

    @ParameterizedTest
    @CsvSource({
            // a, b, Python's a // b
            "704, 0.55, 1279",      // exact quotient just below 1280 although 704/0.55 == 1280.0 in doubles
            "1280, 0.55, 2327",
            "1080, 0.84375, 1280",
            "1920, 0.84375, 2275",
            "576, 0.45, 1279",
            "-7, 2, -4",
            "7, -2, -4",
            "7.5, 2, 3",
            "-0.5, 2, -1",
    })
    void pythonFloorDivision(double a, double b, double expected) {
        assertEquals(expected, PythonFloorDivision.floorDiv(a, b));
    }

    @Test
    void defaultPipelineInputGetsABlackFirstRow() {
        // 1280×704 → square 1280 crop: BOX to 2327×1279, box (523, −1, 1803, 1279).
        RgbImage in = brightImage(1280, 704, new Random(1));
        RgbImage crop = CenterCropWide.apply(in, 1280, 1280);
        RgbImage scaled = PillowResample.resize(in, 2327, 1279, ResampleFilter.BOX);
        assertEquals(1280, crop.width());
        assertEquals(1280, crop.height());
        for (int x = 0; x < 1280; x++) for (int c = 0; c < 3; c++) assertEquals(0, crop.get(x, 0, c));
        for (int y = 1; y < 1280; y += 97)
            for (int x = 0; x < 1280; x += 89)
                for (int c = 0; c < 3; c++) assertEquals(scaled.get(x + 523, y - 1, c), crop.get(x, y, c));
    }

    @Test
    void wideInputIsCroppedAtTheCentre() {
        // 1920×1080 → 1280×704: scale 1.5 → 1280×720, box (0, 8, 1280, 712).
        RgbImage in = brightImage(1920, 1080, new Random(2));
        RgbImage crop = CenterCropWide.apply(in, 1280, 704);
        RgbImage scaled = PillowResample.resize(in, 1280, 720, ResampleFilter.BOX);
        assertEquals(CenterCropWide.crop(scaled, 0, 8, 1280, 704), crop);
        for (int y = 0; y < 704; y++) assertTrue(crop.get(0, y, 0) > 0, "no black border expected");
    }

    @Test
    void cropOutsideIsBlack() {
        RgbImage in = brightImage(4, 3, new Random(3));
        RgbImage c = CenterCropWide.crop(in, -1, 1, 6, 3);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 6; x++) {
                boolean inside = x - 1 >= 0 && x - 1 < 4 && y + 1 < 3;
                for (int ch = 0; ch < 3; ch++) assertEquals(inside ? in.get(x - 1, y + 1, ch) : 0, c.get(x, y, ch));
            }
        }
    }

    @Test
    void rejectsNonPositiveTarget() {
        RgbImage in = brightImage(4, 3, new Random(4));
        assertThrows(IllegalArgumentException.class, () -> CenterCropWide.apply(in, 0, 10));
    }

    /** Random pixels in 1..255 so that black can only come from outside the image. */
    static RgbImage brightImage(int w, int h, Random rnd) {
        byte[] b = new byte[w * h * 3];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (1 + rnd.nextInt(255));
        return RgbImage.of(w, h, b);
    }
}
