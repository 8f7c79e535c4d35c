package dev.i2vgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The documented exit codes of an interrupted run, 130 for SIGINT and 143 for SIGTERM (the JVM exits with 128 + the
 * signal after its shutdown hooks): checked on a real {@code i2vgen generate} process in the middle of denoising.
 */
class SignalExitCodeTest {

    @Test
    void sigtermExitsWith143(@TempDir Path tmp) throws Exception {
        assertEquals(143, interruptedExitCode(tmp, "TERM"));
    }

    @Test
    void sigintExitsWith130(@TempDir Path tmp) throws Exception {
        assumeFalse(sigintIgnored(), "SIGINT is ignored in this process (a background job), and so in its children");
        assertEquals(130, interruptedExitCode(tmp, "INT"));
    }

    /** Starts the demo generation, waits until the pipeline runs, sends the signal and returns the exit code. */
    private static int interruptedExitCode(Path tmp, String signal) throws Exception {
        assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs a POSIX kill");
        Path out = tmp.resolve("o.gif");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), I2VGenCommand.class.getName(),
                "generate", "--steps", "500", "--frames", "8", "--height", "64", "--width", "64", "--output", out.toString()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = err.readLine()) != null && !line.startsWith("Device:")) { /* wait for the pipeline to start */ }
            assertTrue(line != null, "the run ended before it started");
            Thread.sleep(500);
            assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor());
            Thread drain = Thread.ofVirtual().start(() -> err.lines().forEach(l -> { }));   // the progress bar until exit
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running after SIG" + signal);
            drain.join(10_000);
            assertFalse(Files.exists(out), "no video from an interrupted run");
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }

    /** Whether SIGINT (signal 2) is in this process's ignored set (/proc/self/status, SigIgn: a hex mask). */
    private static boolean sigintIgnored() throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 1)) != 0;
        }
        return false;
    }
}
