package dev.i2vgen.io.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageLoaderTest {
    @TempDir Path dir;

    @Test
    void rgbPngRoundTripsExactly() throws IOException {
        RgbImage img = PillowResampleTest.randomImage(23, 17, new Random(1));
        Path f = dir.resolve("a.png");
        ImageIO.write(img.toBufferedImage(), "png", f.toFile());
        assertEquals(img, ImageLoader.read(f));
    }

    @Test
    void bmpAndGifAreRead() throws IOException {
        RgbImage img = PillowResampleTest.randomImage(13, 9, new Random(2));
        Path bmp = dir.resolve("a.bmp");
        ImageIO.write(img.toBufferedImage(), "bmp", bmp.toFile());
        assertEquals(img, ImageLoader.read(bmp));

        // A GIF is a palette image: use ≤ 256 colours so the palette is exact.
        byte[] d = new byte[13 * 9 * 3];
        Random r = new Random(3);
        for (int p = 0; p < 13 * 9; p++) {
            int level = r.nextInt(4) * 80;
            d[p * 3] = (byte) level;
            d[p * 3 + 1] = (byte) (255 - level);
            d[p * 3 + 2] = (byte) (level / 2);
        }
        RgbImage few = RgbImage.of(13, 9, d);
        Path gif = dir.resolve("a.gif");
        ImageIO.write(few.toBufferedImage(), "gif", gif.toFile());
        assertEquals(few, ImageLoader.read(gif));
    }

    @Test
    void jpegIsDecodedApproximately() throws IOException {
        RgbImage img = smooth(32, 24);
        Path f = dir.resolve("a.jpg");
        ImageIO.write(img.toBufferedImage(), "jpeg", f.toFile());
        RgbImage back = ImageLoader.read(f);
        assertEquals(32, back.width());
        assertEquals(24, back.height());
        assertTrue(meanAbs(img, back) < 6, "mean abs error " + meanAbs(img, back));
    }

    @Test
    void greyIsReplicatedWithoutGammaConversion() throws IOException {
        // Java's getRGB would map grey 128 through a linear-grey colour space to about 186; PIL keeps 128.
        BufferedImage g = new BufferedImage(5, 4, BufferedImage.TYPE_BYTE_GRAY);
        Random r = new Random(4);
        int[] v = new int[20];
        for (int i = 0; i < 20; i++) v[i] = r.nextInt(256);
        g.getRaster().setPixels(0, 0, 5, 4, v);
        Path f = dir.resolve("g.png");
        ImageIO.write(g, "png", f.toFile());
        RgbImage img = ImageLoader.read(f);
        for (int i = 0; i < 20; i++) for (int c = 0; c < 3; c++) assertEquals(v[i], img.get(i % 5, i / 5, c));
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage a = new BufferedImage(6, 3, BufferedImage.TYPE_INT_ARGB);
        Random r = new Random(5);
        int[] argb = new int[18];
        for (int i = 0; i < 18; i++) argb[i] = (r.nextInt(256) << 24) | r.nextInt(1 << 24);
        argb[0] = 0x00123456; // fully transparent: the RGB still comes through
        a.setRGB(0, 0, 6, 3, argb, 0, 6);
        Path f = dir.resolve("a.png");
        ImageIO.write(a, "png", f.toFile());
        RgbImage img = ImageLoader.read(f);
        for (int i = 0; i < 18; i++) {
            assertEquals((argb[i] >> 16) & 0xFF, img.get(i % 6, i / 6, 0));
            assertEquals((argb[i] >> 8) & 0xFF, img.get(i % 6, i / 6, 1));
            assertEquals(argb[i] & 0xFF, img.get(i % 6, i / 6, 2));
        }
    }

    @Test
    void paletteIsExpanded() throws IOException {
        byte[] rr = {0, (byte) 200, 17}, gg = {5, 10, (byte) 250}, bb = {(byte) 128, 0, 99};
        IndexColorModel cm = new IndexColorModel(8, 3, rr, gg, bb);
        BufferedImage p = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_INDEXED, cm);
        int[] idx = {0, 1, 2, 1, 2, 0, 0, 1};
        p.getRaster().setPixels(0, 0, 4, 2, idx);
        Path f = dir.resolve("p.png");
        ImageIO.write(p, "png", f.toFile());
        RgbImage img = ImageLoader.read(f);
        for (int i = 0; i < 8; i++) {
            assertEquals(rr[idx[i]] & 0xFF, img.get(i % 4, i / 4, 0));
            assertEquals(gg[idx[i]] & 0xFF, img.get(i % 4, i / 4, 1));
            assertEquals(bb[idx[i]] & 0xFF, img.get(i % 4, i / 4, 2));
        }
    }

    @Test
    void sixteenBitKeepsTheHighByte() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_USHORT, 7, 3, 3, null);
        Random r = new Random(6);
        int[] v = new int[7 * 3 * 3];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(65536);
        raster.setPixels(0, 0, 7, 3, v);
        Path f = dir.resolve("s.png");
        ImageIO.write(new BufferedImage(cm, raster, false, null), "png", f.toFile());
        RgbImage img = ImageLoader.read(f);
        for (int i = 0; i < v.length; i++) assertEquals(v[i] >> 8, img.get((i / 3) % 7, i / 21, i % 3));

        BufferedImage g16 = new BufferedImage(3, 2, BufferedImage.TYPE_USHORT_GRAY);
        int[] gv = {0, 65535, 300, 40000, 12345, 255};
        g16.getRaster().setPixels(0, 0, 3, 2, gv);
        Path fg = dir.resolve("g16.png");
        ImageIO.write(g16, "png", fg.toFile());
        RgbImage gi = ImageLoader.read(fg);
        for (int i = 0; i < 6; i++) assertEquals(gv[i] >> 8, gi.get(i % 3, i / 3, 1));
    }

    @Test
    void lowBitDepthGreyIsScaledToFullRange() {
        assertEquals(255, ImageLoader.to8Bit(1, 1));
        assertEquals(170, ImageLoader.to8Bit(2, 2));
        assertEquals(17 * 9, ImageLoader.to8Bit(9, 4));
        assertEquals(0xAB, ImageLoader.to8Bit(0xABCD, 16));
    }

    @Test
    void unreadableFilesNameTheFile() throws IOException {
        Path junk = dir.resolve("junk.png");
        Files.writeString(junk, "this is not an image");
        UnreadableImageException e = assertThrows(UnreadableImageException.class, () -> ImageLoader.read(junk));
        assertTrue(e.getMessage().contains("junk.png"), e.getMessage());
        assertEquals(junk, e.file());

        Path truncated = dir.resolve("cut.png");
        ImageIO.write(smooth(64, 64).toBufferedImage(), "png", truncated.toFile());
        byte[] all = Files.readAllBytes(truncated);
        Files.write(truncated, java.util.Arrays.copyOf(all, 60));
        UnreadableImageException cut = assertThrows(UnreadableImageException.class, () -> ImageLoader.read(truncated));
        assertTrue(cut.getMessage().contains("cut.png"), cut.getMessage());

        Path missing = dir.resolve("missing.jpg");
        UnreadableImageException m = assertThrows(UnreadableImageException.class, () -> ImageLoader.read(missing));
        assertTrue(m.getMessage().contains("missing.jpg"), m.getMessage());
    }

    @Test
    void aHeaderClaimingMoreThanMaxPixelsIsRefusedBeforeDecoding() throws IOException {
        // A 1-bit PNG whose IHDR claims 32768 × 8192 = 2^28 pixels: the decoder would allocate and walk them all.
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(5, 3, BufferedImage.TYPE_BYTE_BINARY), "png", png);
        Path huge = Files.write(dir.resolve("huge.png"), withHeaderSize(png.toByteArray(), 32768, 8192));
        UnreadableImageException e = assertThrows(UnreadableImageException.class, () -> ImageLoader.read(huge));
        assertTrue(e.getMessage().startsWith(huge + ": is 32768×8192 pixels, more than the " + ImageLoader.MAX_PIXELS), e.getMessage());
    }

    /** PNG bytes whose IHDR chunk (right after the 8-byte signature) claims another size; its CRC is recomputed. */
    static byte[] withHeaderSize(byte[] png, int width, int height) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(png.clone()); // big-endian, as PNG
        b.putInt(16, width).putInt(20, height);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b.array(), 12, 4 + 13); // chunk type and data
        b.putInt(12 + 4 + 13, (int) crc.getValue());
        return b.array();
    }

    static RgbImage smooth(int w, int h) {
        byte[] d = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int o = (y * w + x) * 3;
                d[o] = (byte) (40 + 150 * x / w);
                d[o + 1] = (byte) (60 + 120 * y / h);
                d[o + 2] = (byte) (128 + 60 * Math.sin(x * 0.2 + y * 0.1));
            }
        return RgbImage.of(w, h, d);
    }

    static double meanAbs(RgbImage a, RgbImage b) {
        byte[] x = a.toByteArray(), y = b.toByteArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += Math.abs((x[i] & 0xFF) - (y[i] & 0xFF));
        return s / x.length;
    }
}
