package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VideoStreamTest {
    @TempDir Path dir;

    @Test
    void aStreamedMp4HoldsTheCodedFramesOfAWholeWrite() throws Exception {
        List<RgbImage> frames = VideoTestFrames.smooth(7, 64, 48, 3);
        Path whole = dir.resolve("whole.mp4"), streamed = dir.resolve("streamed.mp4");
        new Mp4VideoWriter(whole).write(frames, 16);
        try (VideoStream stream = VideoStream.open(new Mp4VideoWriter(streamed), 16)) {
            for (RgbImage f : frames.subList(0, 4)) stream.add(f);
            stream.finish(frames);   // the last three are added by finish
        }
        assertEquals(Mp4Packets.read(whole), Mp4Packets.read(streamed));
        assertEquals(Files.size(whole), Files.size(streamed));
        assertEquals(List.of(streamed, whole), listing(), "no temporary left");
    }

    @Test
    void aStreamedGifAndPngFramesAreTheBytesOfAWholeWrite() throws Exception {
        List<RgbImage> frames = VideoTestFrames.smooth(4, 40, 24, 9);
        new GifVideoWriter(dir.resolve("whole.gif")).write(frames, 8);
        new PngFramesWriter(dir.resolve("whole")).write(frames, 8);
        for (VideoWriter w : List.of(new GifVideoWriter(dir.resolve("streamed.gif")), new PngFramesWriter(dir.resolve("streamed")))) {
            try (VideoStream stream = VideoStream.open(w, 8)) {
                for (RgbImage f : frames) stream.add(f);
                stream.finish(frames);
            }
        }
        assertArrayEquals(Files.readAllBytes(dir.resolve("whole.gif")), Files.readAllBytes(dir.resolve("streamed.gif")));
        for (int i = 0; i < frames.size(); i++) {
            String name = PngFramesWriter.frameName(i);
            assertArrayEquals(Files.readAllBytes(dir.resolve("whole").resolve(name)), Files.readAllBytes(dir.resolve("streamed").resolve(name)), name);
        }
    }

    @Test
    void framesAreEncodedWhileTheProducerGoesOn() throws Exception {
        CountDownLatch release = new CountDownLatch(1), encoding = new CountDownLatch(1);
        VideoWriter blocking = new FailingWriter(new Mp4VideoWriter(dir.resolve("out.mp4")), -1) {
            @Override void beforeFrame(int index) throws IOException {
                encoding.countDown();
                try {
                    if (!release.await(30, TimeUnit.SECONDS)) throw new IOException("never released");
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
            }
        };
        List<RgbImage> frames = VideoTestFrames.smooth(3, 32, 32, 4);
        try (VideoStream stream = VideoStream.open(blocking, 10)) {
            // add returns while the encoder thread is still held inside frame 0: the producer is never made to wait
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
                for (RgbImage f : frames) stream.add(f);
            });
            assertTrue(encoding.await(20, TimeUnit.SECONDS), "the encoder thread started on frame 0");
            release.countDown();
            stream.finish(frames);
            assertTrue(stream.encodingTime().compareTo(Duration.ZERO) > 0);
        }
        assertEquals(frames.size(), Mp4Packets.read(dir.resolve("out.mp4")).size());
    }

    @Test
    void anEncoderFailureMidwayLeavesNoOutputAndNoTemporary() throws Exception {
        Path mp4 = dir.resolve("keep.mp4");
        Files.writeString(mp4, "old");
        List<RgbImage> frames = VideoTestFrames.smooth(6, 32, 32, 5);
        FailingWriter failing = new FailingWriter(new Mp4VideoWriter(mp4), 2);
        IOException e = assertThrows(IOException.class, () -> {
            try (VideoStream stream = VideoStream.open(failing, 10)) {
                int given = 0;
                for (RgbImage f : frames) {
                    stream.add(f);
                    failing.awaitFrames(++given); // lets the failure happen before the next add, which must report it
                }
                stream.finish(frames);
            }
        });
        assertTrue(e.getMessage().contains("simulated disk full at frame 2"), e.getMessage());
        assertEquals(3, failing.started, "the producer learnt of the failure at the next frame and stopped");
        assertEquals("old", Files.readString(mp4), "the old file is kept");
        assertEquals(List.of(mp4), listing(), "no temporary left");
    }

    @Test
    void aFailureAtTheLastFrameIsThrownByFinish() throws Exception {
        Path mp4 = dir.resolve("out.mp4");
        List<RgbImage> frames = VideoTestFrames.smooth(3, 32, 32, 6);
        try (VideoStream stream = VideoStream.open(new FailingWriter(new Mp4VideoWriter(mp4), 2), 10)) {
            for (RgbImage f : frames) stream.add(f);
            IOException e = assertThrows(IOException.class, () -> stream.finish(frames));
            assertTrue(e.getMessage().contains("simulated"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> stream.add(frames.get(0)), "closed by the failure");
        }
        assertEquals(List.of(), listing());
    }

    @Test
    void closingUnfinishedDiscardsAndBadFramesAreRefused() throws Exception {
        Path mp4 = dir.resolve("out.mp4");
        List<RgbImage> frames = VideoTestFrames.smooth(3, 32, 32, 7);
        try (VideoStream stream = VideoStream.open(new Mp4VideoWriter(mp4), 10)) {
            stream.add(frames.get(0));
            IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> stream.add(VideoTestFrames.solid(34, 32, 1, 2, 3)));
            assertTrue(size.getMessage().contains("34×32"), size.getMessage());
            stream.add(frames.get(1));
            // the generating code failed here: the stream is closed without finish
        }
        assertEquals(List.of(), listing());
        try (VideoStream stream = VideoStream.open(new Mp4VideoWriter(mp4), 10)) {
            stream.add(frames.get(1));
            assertThrows(IllegalArgumentException.class, () -> stream.finish(frames), "frame 0 is not the one streamed first");
        }
        assertEquals(List.of(), listing());
        assertThrows(IllegalArgumentException.class, () -> VideoStream.open(new Mp4VideoWriter(mp4), 0));
        try (VideoStream stream = VideoStream.open(new Mp4VideoWriter(mp4), 10)) {
            assertThrows(IllegalArgumentException.class, () -> stream.add(VideoTestFrames.solid(16, 16, 1, 2, 3)), "below jcodec's minimum");
        }
        assertFalse(Files.exists(mp4));
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** A writer whose encoder fails with an IOException at frame {@code failAt} (−1: never); counts frames started. */
    static class FailingWriter implements VideoWriter {
        private final VideoWriter inner;
        private final int failAt;
        volatile int started;
        private volatile int finished;

        FailingWriter(VideoWriter inner, int failAt) {
            this.inner = inner;
            this.failAt = failAt;
        }

        void beforeFrame(int index) throws IOException {}

        /** Waits until {@code count} frames went through the encoder (or failed). */
        void awaitFrames(int count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (finished < count && System.nanoTime() < deadline) Thread.sleep(1);
        }

        @Override public Path output() { return inner.output(); }
        @Override public void checkFrameSize(int width, int height) { inner.checkFrameSize(width, height); }
        @Override public void checkTarget() throws IOException { inner.checkTarget(); }

        @Override
        public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
            FrameEncoder e = inner.openEncoder(temporary, width, height, fps);
            return new FrameEncoder() {
                @Override
                public void encode(RgbImage frame) throws IOException {
                    int i = started++;
                    try {
                        beforeFrame(i);
                        if (i == failAt) throw new IOException("simulated disk full at frame " + i);
                        e.encode(frame);
                    } finally {
                        finished++;
                    }
                }

                @Override public void finish() throws IOException { e.finish(); }
                @Override public void close() throws IOException { e.close(); }
            };
        }
    }
}
