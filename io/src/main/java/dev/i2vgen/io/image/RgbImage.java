package dev.i2vgen.io.image;

import java.awt.image.BufferedImage;
import java.util.Arrays;

/**
 * An immutable 8-bit RGB image: {@code width × height} pixels stored row-major as packed
 * {@code R,G,B} bytes (3 bytes per pixel, no padding), the layout of a PIL "RGB" image / a numpy
 * {@code H×W×3 uint8} array.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    private RgbImage(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** Copies {@code rgb} (length must be {@code width·height·3}). */
    public static RgbImage of(int width, int height, byte[] rgb) {
        checkSize(width, height);
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("RGB data for a " + width + "×" + height + " image must have "
                    + (long) width * height * 3 + " bytes, got " + rgb.length);
        }
        return new RgbImage(width, height, rgb.clone());
    }

    /** A black image. */
    public static RgbImage black(int width, int height) {
        checkSize(width, height);
        return new RgbImage(width, height, new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)]);
    }

    /** Takes ownership of {@code rgb} without copying; only for this package's producers. */
    static RgbImage adopt(int width, int height, byte[] rgb) {
        return new RgbImage(width, height, rgb);
    }

    /** The RGB values of a {@link BufferedImage} of any type (alpha is dropped, not composited, like PIL's convert("RGB")). */
    public static RgbImage fromBufferedImage(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x], o = (y * w + x) * 3;
                out[o] = (byte) (p >>> 16);
                out[o + 1] = (byte) (p >>> 8);
                out[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, out);
    }

    /** A new {@link BufferedImage#TYPE_INT_RGB} holding these pixels. */
    public BufferedImage toBufferedImage() {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                row[x] = (rgb[o] & 0xFF) << 16 | (rgb[o + 1] & 0xFF) << 8 | (rgb[o + 2] & 0xFF);
            }
            image.setRGB(0, y, width, 1, row, 0, width);
        }
        return image;
    }

    public int width() { return width; }

    public int height() { return height; }

    /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int get(int x, int y, int c) {
        if (x < 0 || x >= width || y < 0 || y >= height || c < 0 || c > 2) {
            throw new IndexOutOfBoundsException("pixel (" + x + ", " + y + ") channel " + c + " outside " + width + "×" + height + "×3");
        }
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** A copy of the packed RGB bytes. */
    public byte[] toByteArray() { return rgb.clone(); }

    /** Direct read access for this package's hot loops (never modified). */
    byte[] data() { return rgb; }

    private static void checkSize(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "×" + height);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && other.width == width && other.height == height && Arrays.equals(other.rgb, rgb);
    }

    @Override
    public int hashCode() { return 31 * (31 * width + height) + Arrays.hashCode(rgb); }

    @Override
    public String toString() { return "RgbImage[" + width + "×" + height + "]"; }
}
