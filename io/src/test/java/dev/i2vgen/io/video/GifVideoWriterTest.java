package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Node;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GifVideoWriterTest {
    private static final String FORMAT = "javax_imageio_gif_image_1.0";
    @TempDir Path dir;

    @Test
    void delayIsPillowsTruncatedCentiseconds() {
        assertEquals(10, GifVideoWriter.delayCentiseconds(10));
        assertEquals(6, GifVideoWriter.delayCentiseconds(16)); // 1000 // 16 = 62 ms → 6 cs
        assertEquals(4, GifVideoWriter.delayCentiseconds(24)); // 41 ms → 4 cs
        assertEquals(100, GifVideoWriter.delayCentiseconds(1));
        assertThrows(IllegalArgumentException.class, () -> GifVideoWriter.delayCentiseconds(0));
    }

    @Test
    void writesLoopingAnimationThatReadsBack() throws Exception {
        List<RgbImage> frames = VideoTestFrames.smooth(5, 40, 24, 7);
        Path gif = dir.resolve("out.gif");
        new GifVideoWriter(gif).write(frames, 16);

        try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
            ImageReader reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            assertEquals(5, reader.getNumImages(true));
            for (int i = 0; i < 5; i++) {
                RgbImage back = RgbImage.fromBufferedImage(reader.read(i));
                assertEquals(40, back.width());
                assertEquals(24, back.height());
                double err = VideoTestFrames.meanAbs(frames.get(i), back);
                assertTrue(err < 6, "frame " + i + " mean abs error " + err);
                IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(i).getAsTree(FORMAT);
                IIOMetadataNode gce = (IIOMetadataNode) root.getElementsByTagName("GraphicControlExtension").item(0);
                assertEquals("6", gce.getAttribute("delayTime"));
            }
            IIOMetadataNode first = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree(FORMAT);
            Node app = first.getElementsByTagName("ApplicationExtension").item(0);
            assertNotNull(app, "NETSCAPE2.0 loop extension present");
            IIOMetadataNode a = (IIOMetadataNode) app;
            assertEquals("NETSCAPE", a.getAttribute("applicationID"));
            assertEquals("2.0", a.getAttribute("authenticationCode"));
            assertArrayEquals(new byte[] {1, 0, 0}, (byte[]) a.getUserObject(), "loop forever");
            reader.dispose();
        }
    }

    @Test
    void failedWriteLeavesNothing() throws Exception {
        Path gif = dir.resolve("x.gif");
        List<RgbImage> bad = VideoTestFrames.failingOnSecondRead(VideoTestFrames.smooth(3, 16, 16, 3), 1);
        assertThrows(IllegalStateException.class, () -> new GifVideoWriter(gif).write(bad, 10));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }
}
