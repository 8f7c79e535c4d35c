package dev.i2vgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate's arguments for callers that hold their own pipeline (batch generation): generate's checks and words. */
class GenerateArgumentsTest {
    @Test
    void aBadValueGetsTheCommandsOwnMessage(@TempDir Path tmp) {
        String out = tmp.resolve("o.mp4").toString();
        CommandLine.ParameterException e = assertThrows(CommandLine.ParameterException.class,
                () -> GenerateArguments.parse(List.of("--steps=0", "--output=" + out)));
        CommandLineTest.Result cli = CommandLineTest.run("generate", "--steps", "0", "--output", out);
        assertEquals(cli.err().strip(), "error: " + e.getMessage());
    }

    @Test
    void readOptionsNamesEachOptionByItsLongName() {
        Map<String, String> options = GenerateArguments.readOptions(
                List.of("--steps", "3", "--i4vgen", "--ni-vsds-step-sizes=1,2", "--negative-prompt", "-blurry"));
        assertEquals(Map.of("steps", "3", "i4vgen", "true", "ni-vsds-step-sizes", "1,2", "negative-prompt", "-blurry"), options);
        CommandLine.ParameterException e = assertThrows(CommandLine.ParameterException.class,
                () -> GenerateArguments.readOptions(List.of("--steps", "many")));
        assertTrue(e.getMessage().contains("'many' is not an int"), e.getMessage());
    }

    /** What the video depends on, defaults resolved; not where it is written. */
    @Test
    void videoParametersIgnoreTheOutputAndResolveDefaults(@TempDir Path tmp) {
        GenerateArguments a = GenerateArguments.parse(List.of("--seed=7", "--output=" + tmp.resolve("a.mp4")));
        GenerateArguments b = GenerateArguments.parse(List.of("--seed=7", "--steps=3", "--output=" + tmp.resolve("b.gif")));
        GenerateArguments c = GenerateArguments.parse(List.of("--seed=8", "--output=" + tmp.resolve("a.mp4")));
        assertEquals(a.videoParameters(), b.videoParameters(), "--steps 3 is the demo's default");
        assertNotEquals(a.videoParameters(), c.videoParameters());
        assertTrue(a.videoParameters().contains("seed=7;"), a.videoParameters());
        assertFalse(a.videoParameters().contains("a.mp4"), a.videoParameters());
    }
}
