package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.jcodec.common.model.ColorSpace;
import org.jcodec.common.model.Picture;

/**
 * RGB ↔ BT.601 limited-range ("TV", Y 16..235, Cb/Cr 16..240) YUV 4:2:0 — what ffmpeg/x264 write and
 * what players assume when an H.264 stream does not signal its range (jcodec's streams do not).
 * jcodec's own RGB conversion is full range, which players show with crushed blacks (jcodec issue #173).
 * Pictures are tagged {@code YUV420J} only because jcodec's encoder accepts no other tag; the sample
 * values are limited range. jcodec pictures hold {@code value − 128} as signed bytes.
 */
public final class LimitedRangeYuv {
    private LimitedRangeYuv() {}

    /** Even-sized RGB frame → 4:2:0 picture (chroma = mean of each 2×2 block). */
    public static Picture toPicture(RgbImage image) {
        int w = image.width(), h = image.height();
        if (w % 2 != 0 || h % 2 != 0) {
            throw new IllegalArgumentException("YUV 4:2:0 needs even frame sizes, got " + w + "×" + h);
        }
        byte[] rgb = image.toByteArray();
        Picture pic = Picture.create(w, h, ColorSpace.YUV420J);
        byte[] yPlane = pic.getPlaneData(0), uPlane = pic.getPlaneData(1), vPlane = pic.getPlaneData(2);
        int cw = w / 2;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                double r = rgb[o] & 0xFF, g = rgb[o + 1] & 0xFF, b = rgb[o + 2] & 0xFF;
                yPlane[y * w + x] = (byte) (clamp(Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)) - 128);
            }
        }
        for (int cy = 0; cy < h / 2; cy++) {
            for (int cx = 0; cx < cw; cx++) {
                double r = 0, g = 0, b = 0;
                for (int dy = 0; dy < 2; dy++) {
                    for (int dx = 0; dx < 2; dx++) {
                        int o = ((2 * cy + dy) * w + 2 * cx + dx) * 3;
                        r += rgb[o] & 0xFF;
                        g += rgb[o + 1] & 0xFF;
                        b += rgb[o + 2] & 0xFF;
                    }
                }
                r /= 4; g /= 4; b /= 4;
                uPlane[cy * cw + cx] = (byte) (clamp(Math.round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255)) - 128);
                vPlane[cy * cw + cx] = (byte) (clamp(Math.round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255)) - 128);
            }
        }
        return pic;
    }

    /** A decoded 4:2:0 picture holding limited-range samples → RGB (nearest chroma sample). */
    public static RgbImage toRgb(Picture pic) {
        int w = pic.getCroppedWidth(), h = pic.getCroppedHeight();
        int yStride = pic.getPlaneWidth(0), cStride = pic.getPlaneWidth(1);
        byte[] yPlane = pic.getPlaneData(0), uPlane = pic.getPlaneData(1), vPlane = pic.getPlaneData(2);
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double yy = (yPlane[y * yStride + x] + 128 - 16) * (255.0 / 219);
                int ci = (y / 2) * cStride + x / 2;
                double u = (uPlane[ci] + 128 - 128) * (255.0 / 224);
                double v = (vPlane[ci] + 128 - 128) * (255.0 / 224);
                int o = (y * w + x) * 3;
                rgb[o] = (byte) clamp(Math.round(yy + 1.402 * v));
                rgb[o + 1] = (byte) clamp(Math.round(yy - 0.344136 * u - 0.714136 * v));
                rgb[o + 2] = (byte) clamp(Math.round(yy + 1.772 * u));
            }
        }
        return RgbImage.of(w, h, rgb);
    }

    private static int clamp(long v) { return (int) Math.max(0, Math.min(255, v)); }
}
