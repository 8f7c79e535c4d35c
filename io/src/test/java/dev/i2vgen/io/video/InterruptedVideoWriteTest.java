package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A write that does not finish, because the frame source fails or the process is interrupted, leaves nothing behind. */
class InterruptedVideoWriteTest {
    @TempDir Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"out.mp4", "out.gif", "frames"})
    void aFrameSourceFailingMidWriteLeavesNothing(String name) throws IOException {
        List<RgbImage> failing = VideoTestFrames.failingOnSecondRead(VideoTestFrames.smooth(4, 32, 32, 2), 2);
        assertThrows(IllegalStateException.class, () -> VideoWriters.forOutput(dir.resolve(name)).write(failing, 8));
        assertEquals(List.of(), entries(dir));
    }

    @ParameterizedTest(name = "{0} interrupted by SIG{1}")
    @CsvSource({"out.mp4, TERM", "out.mp4, INT", "frames, TERM", "frames, INT", "out.gif, TERM"})
    void aProcessInterruptedMidWriteLeavesNothing(String name, String signal) throws Exception {
        Path output = dir.resolve(name);
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), SlowVideoWriteMain.class.getName(), output.toString())
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> readLine(out)).get(60, TimeUnit.SECONDS);
            assertEquals(SlowVideoWriteMain.WRITING, line, "the child should report that it is writing");
            List<Path> during = entries(dir);
            assertEquals(1, during.size(), "one temporary while writing: " + during);
            assertTrue(during.getFirst().getFileName().toString().startsWith("." + name + "."), during.toString());

            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor());
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not stop after SIG" + signal);
            assertEquals(128 + (signal.equals("TERM") ? 15 : 2), child.exitValue(), "exit status of a JVM ended by SIG" + signal);
            assertEquals(List.of(), entries(dir), "nothing is left of the interrupted write");
        } finally {
            child.destroyForcibly();
        }
    }

    private static String readLine(BufferedReader in) {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<Path> entries(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.toList();
        }
    }
}
