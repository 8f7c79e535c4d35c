package dev.i2vgen.io.video;

import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngFramesWriterTest {
    @TempDir Path dir;

    @Test
    void writesNumberedLosslessFrames() throws IOException {
        List<RgbImage> frames = VideoTestFrames.smooth(3, 20, 12, 4);
        Path out = dir.resolve("frames");
        new PngFramesWriter(out).write(frames, 8);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(3, s.count());
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(frames.get(i), ImageLoader.read(out.resolve(String.format("frame_%04d.png", i))));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary folder left behind");
        }
    }

    @Test
    void emptyExistingFolderIsReusedNonEmptyIsRefused() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        new PngFramesWriter(empty).write(VideoTestFrames.smooth(2, 8, 8, 5), 8);
        assertTrue(Files.exists(empty.resolve("frame_0001.png")));

        IOException e = assertThrows(IOException.class, () -> new PngFramesWriter(empty).write(VideoTestFrames.smooth(1, 8, 8, 5), 8));
        assertTrue(e.getMessage().contains("not empty"), e.getMessage());
    }

    @Test
    void failedWriteLeavesNothing() {
        Path out = dir.resolve("fail");
        List<RgbImage> bad = VideoTestFrames.failingOnSecondRead(VideoTestFrames.smooth(3, 8, 8, 6), 2);
        assertThrows(IllegalStateException.class, () -> new PngFramesWriter(out).write(bad, 8));
        assertTrue(Files.notExists(out));
        assertEquals(0, dir.toFile().list().length);
    }

    @Test
    void writerIsChosenByExtension() {
        assertInstanceOf(Mp4VideoWriter.class, VideoWriters.forOutput(dir.resolve("a.mp4")));
        assertInstanceOf(Mp4VideoWriter.class, VideoWriters.forOutput(dir.resolve("A.MP4")));
        assertInstanceOf(GifVideoWriter.class, VideoWriters.forOutput(dir.resolve("b.gif")));
        assertInstanceOf(PngFramesWriter.class, VideoWriters.forOutput(dir.resolve("frames")));
        assertEquals(dir.resolve("b.gif"), VideoWriters.forOutput(dir.resolve("b.gif")).output());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VideoWriters.forOutput(dir.resolve("c.avi")));
        assertTrue(e.getMessage().contains("c.avi") && e.getMessage().contains(".mp4"), e.getMessage());
    }

    @Test
    void aFullDiskIsNamedNotHiddenBehindImageIosMessage() {
        Path full = Path.of("/dev/full");   // Linux: every write fails with ENOSPC
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isWritable(full), "needs /dev/full");
        var e = assertThrows(IOException.class, () -> PngFramesWriter.writePng(VideoTestFrames.smooth(1, 64, 64, 1).get(0), full));
        assertEquals("/dev/full: cannot write: No space left on device (the disk is full)", e.getMessage());
    }
}
