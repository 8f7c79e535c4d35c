package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.jcodec.api.FrameGrab;
import org.jcodec.common.DemuxerTrackMeta;
import org.jcodec.common.io.FileChannelWrapper;
import org.jcodec.common.io.NIOUtils;
import org.jcodec.common.model.Picture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Mp4VideoWriterTest {
    @TempDir Path dir;

    @Test
    void writesDecodableH264WithFrameRate() throws Exception {
        List<RgbImage> frames = VideoTestFrames.smooth(6, 96, 64, 1);
        Path mp4 = dir.resolve("out.mp4");
        new Mp4VideoWriter(mp4).write(frames, 8);

        Decoded d = decode(mp4);
        assertEquals(frames.size(), d.frames.size());
        assertEquals(6, d.meta.getTotalFrames());
        assertEquals(6.0 / 8, d.meta.getTotalDuration(), 1e-6, "duration = frames / fps");
        for (int i = 0; i < frames.size(); i++) {
            assertEquals(96, d.frames.get(i).width());
            assertEquals(64, d.frames.get(i).height());
            double err = VideoTestFrames.meanAbs(frames.get(i), d.frames.get(i));
            assertTrue(err < 6, "frame " + i + " mean abs error " + err);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertArrayEquals(new Object[] {mp4}, s.toArray(), "only the output remains, no temp file");
        }
    }

    @Test
    void groupsOfPicturesEncodedSideBySideDecodeInOrder() throws Exception {
        // 2.5 groups: an IDR at frames 0, 8 and 16, each group from an encoder of its own, muxed in frame order
        int n = 2 * Mp4VideoWriter.GOP_FRAMES + 4;
        List<RgbImage> frames = VideoTestFrames.smooth(n, 64, 48, 3);
        Path mp4 = dir.resolve("groups.mp4");
        new Mp4VideoWriter(mp4).write(frames, 16);

        List<String> packets = Mp4Packets.read(mp4);
        assertEquals(n, packets.size());
        for (int i = 0; i < n; i++) {
            assertTrue(packets.get(i).startsWith(i + "/16 1 "), "packet " + i + " in order: " + packets.get(i).substring(0, 12));
            assertEquals(i % Mp4VideoWriter.GOP_FRAMES == 0, packets.get(i).contains(" KEY "), "packet " + i + " key frame");
        }
        Decoded d = decode(mp4);
        assertEquals(n, d.frames.size());
        for (int i = 0; i < n; i++) {
            double err = VideoTestFrames.meanAbs(frames.get(i), d.frames.get(i));
            assertTrue(err < 6, "frame " + i + " mean abs error " + err);
        }
        // each frame is closer to its own source than to its neighbours: the order survived the parallel groups
        for (int i = 1; i < n - 1; i++) {
            double own = VideoTestFrames.meanAbs(frames.get(i), d.frames.get(i));
            assertTrue(own < VideoTestFrames.meanAbs(frames.get(i - 1), d.frames.get(i))
                    && own < VideoTestFrames.meanAbs(frames.get(i + 1), d.frames.get(i)), "frame " + i + " is its own");
        }
    }

    @Test
    void levelsAreLimitedRangeAsPlayersAssume() throws Exception {
        // jcodec's full-range conversion would decode dark grey 30 as ≈16 in a limited-range player.
        // One single-frame video per colour: an intra frame (QP 20), so only the level mapping is measured.
        int[][] colours = {{30, 30, 30}, {220, 40, 90}, {240, 240, 240}, {20, 90, 200}};
        for (int[] rgb : colours) {
            RgbImage frame = VideoTestFrames.solid(32, 32, rgb[0], rgb[1], rgb[2]);
            Path mp4 = dir.resolve("levels.mp4");
            new Mp4VideoWriter(mp4).write(List.of(frame), 10);
            RgbImage got = decode(mp4).frames.get(0);
            for (int c = 0; c < 3; c++) {
                assertTrue(Math.abs(rgb[c] - got.get(16, 16, c)) <= 5, // codec error ≤ 5; a range mismatch is off by 14+ at these levels
                         java.util.Arrays.toString(rgb) + " channel " + c + ": " + got.get(16, 16, c));
            }
        }
    }

    @Test
    void failedWriteLeavesNothingAndKeepsOldFile() throws Exception {
        Path mp4 = dir.resolve("keep.mp4");
        Files.writeString(mp4, "old");
        List<RgbImage> bad = VideoTestFrames.failingOnSecondRead(VideoTestFrames.smooth(4, 32, 32, 2), 2);
        assertThrows(IllegalStateException.class, () -> new Mp4VideoWriter(mp4).write(bad, 10));
        assertEquals("old", Files.readString(mp4));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file left behind");
        }
    }

    @Test
    void oddSizeAndBadArgumentsAreRejectedBeforeWriting() {
        Path mp4 = dir.resolve("odd.mp4");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Mp4VideoWriter(mp4).write(List.of(VideoTestFrames.solid(33, 32, 1, 2, 3)), 10));
        assertTrue(e.getMessage().contains("33×32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Mp4VideoWriter(mp4).write(List.of(), 10));
        assertThrows(IllegalArgumentException.class,
                () -> new Mp4VideoWriter(mp4).write(List.of(VideoTestFrames.solid(32, 32, 1, 2, 3)), 0));
        assertThrows(IllegalArgumentException.class, () -> new Mp4VideoWriter(mp4).write(
                List.of(VideoTestFrames.solid(32, 32, 1, 2, 3), VideoTestFrames.solid(32, 16, 1, 2, 3)), 10));
        assertTrue(Files.notExists(mp4));
    }

    record Decoded(List<RgbImage> frames, DemuxerTrackMeta meta) {}

    static Decoded decode(Path mp4) throws Exception {
        try (FileChannelWrapper ch = NIOUtils.readableChannel(mp4.toFile())) {
            FrameGrab grab = FrameGrab.createFrameGrab(ch);
            List<RgbImage> out = new ArrayList<>();
            for (Picture p; (p = grab.getNativeFrame()) != null; ) out.add(LimitedRangeYuv.toRgb(p));
            return new Decoded(out, grab.getVideoTrack().getMeta());
        }
    }
}
