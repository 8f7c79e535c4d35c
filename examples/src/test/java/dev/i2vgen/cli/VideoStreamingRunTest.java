package dev.i2vgen.cli;

import dev.i2vgen.backend.SetupWork;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.video.Mp4Packets;
import dev.i2vgen.io.video.FrameEncoder;
import dev.i2vgen.io.video.Mp4VideoWriter;
import dev.i2vgen.io.video.VideoWriter;





import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate} encodes the MP4 while the VAE decodes: the same video as writing it afterwards, and nothing left on a failure. */
class VideoStreamingRunTest {
    @TempDir Path dir;

    @Test
    void theVideoEncodedWhileDecodingIsTheOneWrittenAfterwards() throws Exception {
        Path streamed = dir.resolve("streamed.mp4"), after = dir.resolve("after.mp4");
        CommandLineTest.Result a = CommandLineTest.run("generate", "--device", "jvm", "--seed", "5", "--output", streamed.toString());
        assertEquals(0, a.code(), a.err());
        String before = System.getProperty("i2vgen.video.streaming");
        System.setProperty("i2vgen.video.streaming", "false");
        try {
            CommandLineTest.Result b = CommandLineTest.run("generate", "--device", "jvm", "--seed", "5", "--output", after.toString());
            assertEquals(0, b.code(), b.err());
        } finally {
            if (before == null) System.clearProperty("i2vgen.video.streaming"); else System.setProperty("i2vgen.video.streaming", before);
        }
        List<String> packets = Mp4Packets.read(streamed);
        assertEquals(4, packets.size(), "the demo's 4 frames");
        assertEquals(packets, Mp4Packets.read(after));
        assertEquals(List.of(after, streamed), listing(), "no temporary left");
    }

    @Test
    void anEncoderFailureMidwayStopsTheRunAndLeavesNoOutput() throws Exception {
        Path mp4 = dir.resolve("out.mp4");
        GenerateSettings settings = GenerateArguments.parse(List.of("--device", "jvm", "--seed", "5", "--output", mp4.toString())).settings();
        PrintWriter silent = new PrintWriter(Writer.nullWriter());
        FailingMp4 failing = new FailingMp4(mp4, 1);
        IOException e = assertThrows(IOException.class, () -> new GenerateRun(settings, silent, silent, path -> failing).run());
        assertEquals("simulated: no space left on device at frame 1", e.getMessage());
        assertTrue(failing.encoded <= 3, "the run stopped at the frame after the failure: " + failing.encoded + " frames given to the encoder");
        assertEquals(List.of(), listing(), "no output, no temporary");
    }

    @Test
    void theTimingsTellWhatOverlapped() {
        RunTimings timings = new RunTimings(true);
        timings.begin("stage: decode");
        timings.beside("video encoding", Duration.ofMillis(2100), Duration.ofMillis(200));
        StringWriter text = new StringWriter();
        timings.print(new PrintWriter(text), List.of(
                SetupWork.onCallerThread("algorithm searches (cuBLASLt)", Duration.ofMillis(1500)),
                new SetupWork("weight uploads", Duration.ofMillis(1200), Duration.ofMillis(100))));
        String printed = text.toString();
        assertTrue(printed.contains("    algorithm searches (cuBLASLt): 1.500 s\n"), printed);
        assertTrue(printed.contains("    weight uploads: 1.200 s busy, 0.100 s waited (1.100 s overlapped)"), printed);
        assertTrue(printed.contains("beside the stages, on threads of their own:\n    video encoding: 2.100 s busy, 0.200 s waited (1.900 s overlapped)"), printed);
        StringWriter none = new StringWriter();
        new RunTimings(false).print(new PrintWriter(none), List.of());
        assertEquals("", none.toString(), "nothing without I2VGEN_TIMINGS=1");
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** The MP4 writer whose encoder fails at frame {@code failAt}, as a full disk would. */
    private static final class FailingMp4 implements VideoWriter {
        private final Mp4VideoWriter mp4;
        private final int failAt;
        volatile int encoded;

        FailingMp4(Path file, int failAt) {
            this.mp4 = new Mp4VideoWriter(file);
            this.failAt = failAt;
        }

        @Override public Path output() { return mp4.output(); }
        @Override public void checkFrameSize(int width, int height) { mp4.checkFrameSize(width, height); }
        @Override public void checkTarget() throws IOException { mp4.checkTarget(); }

        @Override
        public FrameEncoder openEncoder(Path temporary, int width, int height, int fps) throws IOException {
            FrameEncoder inner = mp4.openEncoder(temporary, width, height, fps);
            return new FrameEncoder() {
                @Override
                public void encode(RgbImage frame) throws IOException {
                    if (encoded++ == failAt) throw new IOException("simulated: no space left on device at frame " + failAt);
                    inner.encode(frame);
                }

                @Override public void finish() throws IOException { inner.finish(); }
                @Override public void close() throws IOException { inner.close(); }
            };
        }
    }
}
