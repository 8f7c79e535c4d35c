package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Mp4EncoderWarmUpTest {
    @TempDir Path dir;

    @Test
    void throwawayFramesAreTexturedMovingAndReproducible() {
        RgbImage a = Mp4EncoderWarmUp.syntheticFrame(64, 48, 0), b = Mp4EncoderWarmUp.syntheticFrame(64, 48, 1);
        assertArrayEquals(a.toByteArray(), Mp4EncoderWarmUp.syntheticFrame(64, 48, 0).toByteArray());
        assertFalse(java.util.Arrays.equals(a.toByteArray(), b.toByteArray()), "each frame moves");
        int min = 255, max = 0;
        for (byte v : a.toByteArray()) { min = Math.min(min, v & 255); max = Math.max(max, v & 255); }
        assertTrue(max - min > 128, "not flat: " + min + ".." + max);
    }

    @Test
    void theWarmUpEncodesWithoutFailingAndChangesNoVideo() throws Exception {
        List<RgbImage> frames = VideoTestFrames.smooth(10, 96, 64, 3);
        Path before = dir.resolve("before.mp4"), after = dir.resolve("after.mp4");
        new Mp4VideoWriter(before).write(frames, 8);
        Mp4EncoderWarmUp.encodeThrowaway(96, 64);   // on this thread: its own encoders, nothing shared with a video's
        new Mp4VideoWriter(after).write(frames, 8);
        // the coded video, packet by packet: the file bytes also hold jcodec's creation time (seconds), which may tick
        assertEquals(Mp4Packets.read(before), Mp4Packets.read(after));
        assertEquals(frames.size(), Mp4Packets.read(after).size());
    }

    @Test
    void sizesTheEncoderCannotTakeAreLeftToTheRealFramesToReport() {
        // warmUp never throws: an odd or too small size is refused later, by checkFrameSize, with a message
        Mp4VideoWriter writer = new Mp4VideoWriter(dir.resolve("odd.mp4"));
        writer.warmUp(33, 64);
        writer.warmUp(8, 8);
        Mp4EncoderWarmUp.encodeThrowaway(7, 5);
        assertFalse(Files.exists(dir.resolve("odd.mp4")), "a warm-up writes nothing");
    }
}
