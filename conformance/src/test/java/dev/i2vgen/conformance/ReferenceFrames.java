package dev.i2vgen.conformance;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The final 8-bit frames against a case's {@code frames_uint8} [1, F, H, W, 3]. */
final class ReferenceFrames {
    private ReferenceFrames() {}

    /** The largest difference of any channel of any pixel (frame count and sizes must match). */
    static int maxDifference(List<RgbImage> frames, Tensor framesUint8) {
        int f = framesUint8.dim(1), h = framesUint8.dim(2), w = framesUint8.dim(3);
        assertEquals(f, frames.size(), "frame count");
        int maxDiff = 0;
        for (int k = 0; k < f; k++) {
            RgbImage frame = frames.get(k);
            assertEquals(w, frame.width(), "frame width");
            assertEquals(h, frame.height(), "frame height");
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        int expected = Math.round(framesUint8.get(0, k, y, x, c));
                        maxDiff = Math.max(maxDiff, Math.abs(frame.get(x, y, c) - expected));
                    }
                }
            }
        }
        return maxDiff;
    }
}
