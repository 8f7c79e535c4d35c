package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.I2VGenCommand;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code i2vgen serve}'s own options: sizes and durations as people write them, and bad values named before any model work. */
class ServeCommandTest {
    @ParameterizedTest
    @CsvSource({"7,7", "20MiB,20971520", "20M,20971520", "512k,524288", "1 GB,1073741824", "3b,3"})
    void sizesTakeBinaryUnits(String text, long bytes) {
        assertEquals(bytes, new ByteSizeConverter().convert(text));
    }

    @ParameterizedTest
    @CsvSource({"90s,PT1M30S", "30m,PT30M", "24h,PT24H", "7d,PT168H", "PT1H30M,PT1H30M"})
    void durationsTakeShortAndIsoForms(String text, String iso) {
        assertEquals(Duration.parse(iso), new DurationConverter().convert(text));
    }

    @Test
    void unreadableSizesAndDurationsAreRefused() {
        assertThrows(CommandLine.TypeConversionException.class, () -> new ByteSizeConverter().convert("12XB"));
        assertThrows(CommandLine.TypeConversionException.class, () -> new ByteSizeConverter().convert("99999999999G"));
        assertThrows(CommandLine.TypeConversionException.class, () -> new DurationConverter().convert("soon"));
        assertEquals("24h", DurationText.of(Duration.ofDays(1)));
        assertEquals("1h30m", DurationText.of(Duration.ofMinutes(90)));
        assertEquals("45s", DurationText.of(Duration.ofSeconds(45)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--port 70000|--port must be between 0 and 65535, got 70000",
            "--queue-size 0|--queue-size must be at least 1, got 0",
            "--retention 0s|--retention must be positive, got 0s",
            "--max-upload 12XB|Invalid value for option '--max-upload': '12XB' is not a size (e.g. 20MiB, 512K, 1G or a number of bytes)",
            "--max-frames 0|--max-frames must be at least 1, got 0",
            "--device tpu|--device must be jvm, cuda, opencl or tornado, got 'tpu'",
            "--model MISSING|is not a folder (expected a diffusers checkpoint folder with model_index.json)"})
    void badOptionsAreNamedBeforeAnyModelWork(String options, String message, @TempDir Path tmp) {
        List<String> args = new ArrayList<>(List.of("serve", "--output-dir", tmp.resolve("videos").toString()));
        for (String o : options.split(" ")) args.add(o.equals("MISSING") ? tmp.resolve("missing").toString() : o);
        StringWriter err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(new StringWriter(), true));
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute(args.toArray(String[]::new)), err.toString());
        assertTrue(err.toString().startsWith("error: ") && err.toString().contains(message), err.toString());
        assertFalse(err.toString().contains("Device:"), "refused before the backend started: " + err);
    }

    @Test
    void helpListsTheServerOptions() {
        StringWriter out = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setOut(new PrintWriter(out, true));
        assertEquals(0, cl.execute("serve", "--help"));
        for (String option : List.of("--model", "--device", "--dtype", "--host", "--port", "--token", "--output-dir", "--retention",
                "--queue-size", "--max-upload", "--max-pixels", "--max-frames", "--max-steps")) {
            assertTrue(out.toString().contains(option), "help lacks " + option);
        }
    }

    @Test
    void anOutputFolderThatCannotBeCreatedIsNamed(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        StringWriter err = new StringWriter();
        CommandLine cl = I2VGenCommand.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertEquals(2, cl.execute("serve", "--output-dir", file.resolve("videos").toString()));
        assertTrue(err.toString().startsWith("error: --output-dir " + file.resolve("videos")), err.toString());
    }
}
