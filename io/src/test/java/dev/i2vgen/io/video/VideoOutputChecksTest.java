package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What each output format refuses, checkable before any frames exist: frame sizes and the target path. */
class VideoOutputChecksTest {
    @TempDir Path dir;

    /** Random pixels: the most bits per macroblock an H.264 encoder has to spend. */
    private static List<RgbImage> noise(int count, int w, int h, long seed) {
        Random r = new Random(seed);
        List<RgbImage> frames = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] b = new byte[w * h * 3];
            r.nextBytes(b);
            frames.add(RgbImage.of(w, h, b));
        }
        return frames;
    }

    /** jcodec's slice buffer (one byte per pixel) overflows on small high-detail frames; refused, not a BufferOverflowException. */
    @Test
    void anMp4BelowTheEncodersMinimumIsRefusedBeforeEncoding() {
        Path mp4 = dir.resolve("small.mp4");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Mp4VideoWriter(mp4).write(noise(3, 8, 8, 1), 8));
        assertTrue(e.getMessage().contains("at least 32×32 pixels, got 8×8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Mp4VideoWriter(mp4).checkFrameSize(16, 64));
        assertTrue(Files.notExists(mp4));
    }

    @Test
    void noiseFramesEncodeFromTheMinimumOn() throws IOException {
        for (int[] size : new int[][]{{32, 32}, {32, 40}, {40, 32}, {48, 32}, {32, 1024}}) {
            for (long seed = 0; seed < 6; seed++) {
                Path mp4 = dir.resolve("n.mp4");
                new Mp4VideoWriter(mp4).write(noise(3, size[0], size[1], seed), 8);
                assertTrue(Files.size(mp4) > 0);
            }
        }
    }

    /** GIF sizes are 16-bit: the JDK writer silently wraps a 65544-wide frame to 8 pixels. */
    @Test
    void aGifWiderThanSixteenBitsIsRefused() {
        Path gif = dir.resolve("wide.gif");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GifVideoWriter(gif).write(List.of(VideoTestFrames.solid(65544, 8, 1, 2, 3)), 8));
        assertTrue(e.getMessage().contains("at most 65535×65535 pixels, got 65544×8"), e.getMessage());
        assertDoesNotThrow(() -> new GifVideoWriter(gif).checkFrameSize(65535, 8));
        assertTrue(Files.notExists(gif));
    }

    @Test
    void aDirectoryIsNoVideoFile() throws IOException {
        Path target = Files.createDirectory(dir.resolve("d.mp4"));
        IOException e = assertThrows(IOException.class, () -> VideoWriters.forOutput(target).checkTarget());
        assertTrue(e.getMessage().contains("is a directory, expected a file path"), e.getMessage());
    }

    @Test
    void framesGoOnlyIntoAnEmptyOrNewFolder() throws IOException {
        Path frames = Files.createDirectory(dir.resolve("frames"));
        assertDoesNotThrow(() -> VideoWriters.forOutput(frames).checkTarget());
        Files.writeString(frames.resolve("keep.txt"), "mine");
        IOException e = assertThrows(IOException.class, () -> VideoWriters.forOutput(frames).checkTarget());
        assertTrue(e.getMessage().contains("is not empty"), e.getMessage());
        assertDoesNotThrow(() -> VideoWriters.forOutput(dir.resolve("new-frames")).checkTarget());
    }

    @Test
    void anEmptyPathIsNoOutput() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VideoWriters.forOutput(Path.of("")));
        assertEquals("the output path is empty", e.getMessage());
    }

    /** Tried rather than read from permission bits, which say "writable" to root and on some pseudo file systems. */
    @Test
    void aFolderThatTakesNoFilesIsNamed() {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs Linux /proc");
        IOException e = assertThrows(IOException.class, () -> VideoWriters.forOutput(Path.of("/proc/out.gif")).checkTarget());
        assertTrue(e.getMessage().contains("cannot create files in folder /proc"), e.getMessage());
        IOException frames = assertThrows(IOException.class, () -> VideoWriters.forOutput(Path.of("/proc/frames")).checkTarget());
        assertTrue(frames.getMessage().contains("cannot create files in folder /proc"), frames.getMessage());
    }

    @Test
    void checkingLeavesNothingBehind() throws IOException {
        VideoWriters.forOutput(dir.resolve("a.mp4")).checkTarget();
        VideoWriters.forOutput(dir.resolve("b.gif")).checkTarget();
        VideoWriters.forOutput(dir.resolve("frames")).checkTarget();
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }
}
