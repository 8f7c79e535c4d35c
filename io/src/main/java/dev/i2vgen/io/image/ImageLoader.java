package dev.i2vgen.io.image;

import dev.i2vgen.io.MessageText;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Reads an image file (PNG, JPEG, BMP, GIF, … whatever ImageIO and jai-imageio can decode) as 8-bit
 * RGB, with the result of PIL's {@code Image.open(f).convert("RGB")}: grey is replicated to three
 * channels, palettes are expanded, alpha is dropped (not composited onto a background).
 * 16-bit samples keep their high byte (PIL does this for 16-bit RGB; for 16-bit grey PIL clips the
 * raw value instead, which would make nearly every pixel white, so we scale like for RGB).
 * The first frame of animated files is used.
 */
public final class ImageLoader {
    /**
     * The largest image decoded, checked from the header before any pixel is: 2^27 pixels (e.g. 16384 × 8192; more
     * than a 100-megapixel camera gives) needs up to 1 GiB decoded and 384 MiB as RGB. A corrupt or hostile header
     * claiming more would otherwise make the decoder allocate gigabytes or run for minutes.
     */
    public static final long MAX_PIXELS = 1L << 27;

    private ImageLoader() {}

    public static RgbImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UnreadableImageException(file, "no such image file", null);
        }
        ImageInputStream opened;
        try {
            // Not ImageIO.createImageInputStream(file): it returns null without saying why (permission denied, ...).
            opened = new FileImageInputStream(file.toFile());
        } catch (IOException e) {
            throw new UnreadableImageException(file, "cannot read: " + MessageText.reason(e), e);
        }
        try (ImageInputStream in = opened) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new UnreadableImageException(file, "not an image in a supported format (PNG, JPEG, BMP, GIF, TIFF, PNM, …)", null);
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int width = reader.getWidth(0), height = reader.getHeight(0);
                if ((long) width * height > MAX_PIXELS) {
                    throw new UnreadableImageException(file, "is " + width + "×" + height + " pixels, more than the " + MAX_PIXELS + " (2^27)"
                            + " pixels this program decodes; scale it down first (the pipeline resizes it to the video's size anyway)", null);
                }
                BufferedImage image = reader.read(0);
                return toRgb(image);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof UnreadableImageException u) throw u;
            throw new UnreadableImageException(file, "cannot decode image: " + MessageText.reason(e), e);
        }
    }

    /** 8-bit RGB values of any {@link BufferedImage}, with the conversions described on the class. */
    public static RgbImage toRgb(BufferedImage image) {
        ColorModel cm = image.getColorModel();
        // Component images with grey or sRGB colour space are read from the raster directly:
        // BufferedImage.getRGB would apply Java's linear-grey colour conversion (wrong for PIL parity)
        // and drop the low bits of 16-bit data in its own way.
        if (cm instanceof ComponentColorModel) {
            int type = cm.getColorSpace().getType();
            boolean grey = type == ColorSpace.TYPE_GRAY;
            boolean srgb = type == ColorSpace.TYPE_RGB && cm.getColorSpace().isCS_sRGB();
            if (grey || srgb) return fromRaster(image.getRaster(), cm, grey);
        }
        return RgbImage.fromBufferedImage(image);
    }

    private static RgbImage fromRaster(Raster raster, ColorModel cm, boolean grey) {
        int w = raster.getWidth(), h = raster.getHeight();
        int[] bits = cm.getComponentSize();
        int[] srcBand = grey ? new int[] {0, 0, 0} : new int[] {0, 1, 2};
        byte[] out = new byte[w * h * 3];
        int[] row = new int[w];
        for (int c = 0; c < 3; c++) {
            int band = srcBand[c], b = bits[band];
            for (int y = 0; y < h; y++) {
                raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, band, row);
                for (int x = 0; x < w; x++) {
                    out[(y * w + x) * 3 + c] = (byte) to8Bit(row[x], b);
                }
            }
        }
        return RgbImage.adopt(w, h, out);
    }

    /** An unsigned sample of {@code bits} bits → 0..255 (low depths are scaled up exactly, 16-bit keeps the high byte). */
    static int to8Bit(int sample, int bits) {
        if (bits == 8) return sample & 0xFF;
        if (bits > 8) return (sample >>> (bits - 8)) & 0xFF;
        return sample * 255 / ((1 << bits) - 1);
    }
}
