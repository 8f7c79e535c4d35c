package dev.i2vgen.io.image;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing (Jazzer) of image reading: whatever a {@code .png} file holds (ImageIO picks the decoder by
 * content, so mutations reach the other formats too), {@link ImageLoader#read} gives an RGB image of the decoded size
 * or fails with {@link UnreadableImageException} naming the file in one line. Anything else (an Error such as
 * OutOfMemoryError from a header claiming a huge size, an exception escaping the loader) is a finding. Seeds: small
 * PNGs of every colour type ImageIO writes; past findings live in {@code ImageLoaderGuidedFuzzTestInputs/<method>}.
 */
class ImageLoaderGuidedFuzzTest {
    @TempDir static Path dir;

    static Stream<byte[]> smallPngs() {
        int[] types = {BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_INT_ARGB, BufferedImage.TYPE_BYTE_GRAY,
                BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_BYTE_INDEXED, BufferedImage.TYPE_BYTE_BINARY};
        Random rng = new Random(14);
        return IntStream.of(types).mapToObj(type -> {
            BufferedImage image = new BufferedImage(5, 3, type);
            for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) image.setRGB(x, y, rng.nextInt());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                ImageIO.write(image, "png", out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return out.toByteArray();
        });
    }

    @MethodSource("smallPngs")
    @FuzzTest(maxDuration = "45s")
    void pngReadsOrFailsNamingIt(byte[] bytes) throws IOException {
        Path file = Files.write(dir.resolve("fuzz.png"), bytes);
        if (legalButSlow(file)) return;
        try {
            RgbImage image = ImageLoader.read(file);
            assertEquals((long) image.width() * image.height() * 3, image.toByteArray().length);
        } catch (UnreadableImageException e) {
            assertEquals(file, e.file());
            assertTrue(e.getMessage().startsWith(file + ": ") && e.getMessage().length() > file.toString().length() + 2, e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
    }

    /**
     * Whether the header claims a size the loader accepts but that takes long to decode (over 2^20 pixels): mutated
     * headers claim such sizes all the time, and decoding them would slow the fuzzer to a few inputs a second without
     * reaching new code. Claims above {@link ImageLoader#MAX_PIXELS} are not skipped: the loader must refuse them.
     */
    private static boolean legalButSlow(Path file) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return false;
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                return pixels > (1 << 20) && pixels <= ImageLoader.MAX_PIXELS;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            return false; // the loader must handle whatever this is
        }
    }
}
