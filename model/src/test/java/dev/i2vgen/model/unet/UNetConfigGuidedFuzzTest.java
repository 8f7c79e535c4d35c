package dev.i2vgen.model.unet;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.i2vgen.io.MessageText;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.config.JsonConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing (Jazzer) of config reading: a {@code config.json} read by {@link JsonConfig}, every typed
 * getter applied to every key, then {@link UNetConfig#fromJson}. Whatever the bytes, each either gives a value or fails
 * with an IllegalArgumentException naming the file (and the key) in one line, or, for bytes that are not a JSON
 * document, an UncheckedIOException naming the file. Anything else (NullPointerException, ArithmeticException, a
 * ClassCastException, …) is a finding. Seeds: the tiny checkpoint's and the released I2VGen-XL UNet configs; past
 * findings live in {@code UNetConfigGuidedFuzzTestInputs/<method>}.
 */
class UNetConfigGuidedFuzzTest {
    @TempDir static Path dir;

    static Stream<byte[]> unetConfigs() throws IOException {
        byte[] tiny;
        try (ReferenceCase c = ReferenceCase.bundled("tiny")) {
            tiny = Files.readAllBytes(c.checkpoint().resolve("unet").resolve("config.json"));
        }
        try (InputStream released = UNetConfigGuidedFuzzTest.class.getResourceAsStream("/unet/released-unet-config.json")) {
            return Stream.of(tiny, released.readAllBytes());
        }
    }

    @DictionaryEntries({"\"block_out_channels\"", "\"attention_head_dim\"", "\"norm_num_groups\"", "\"layers_per_block\"",
            "\"in_channels\"", "\"out_channels\"", "\"cross_attention_dim\"", "\"down_block_types\"", "\"up_block_types\"",
            "\"CrossAttnDownBlock3D\"", "\"DownBlock3D\"", "\"CrossAttnUpBlock3D\"", "\"UpBlock3D\"", "2147483647", "2147483648",
            "4294967360", "-2147483648", "1e400", "0.5", "-1", "null", "[]", "{}"})
    @MethodSource("unetConfigs")
    @FuzzTest(maxDuration = "45s")
    void configReadsOrFailsNamingTheFile(byte[] bytes) throws IOException {
        Path file = Files.write(dir.resolve("config.json"), bytes);
        JsonConfig config;
        try {
            config = JsonConfig.read(file);
        } catch (UncheckedIOException | IllegalArgumentException e) {
            assertNamesFileInOneLine(e, file);
            return;
        }
        List<String> keys = config.node().properties().stream().map(java.util.Map.Entry::getKey).toList();
        for (String key : keys) {
            List<Consumer<String>> getters = List.of(k -> config.getInt(k, 0), k -> config.getPositiveInt(k, 1),
                    k -> config.getDouble(k, 0), k -> config.getDoubleOrNull(k, null), k -> config.getBoolean(k, false),
                    k -> config.getString(k, ""), k -> config.getIntArray(k, new int[0]), k -> config.getPositiveIntArray(k, new int[0]),
                    k -> config.getStringArray(k, new String[0]), config::nestedOrSelf);
            for (Consumer<String> getter : getters) {
                try {
                    getter.accept(key);
                } catch (IllegalArgumentException e) {
                    assertNamesFileInOneLine(e, file);
                    assertTrue(e.getMessage().contains("'" + MessageText.oneLine(key) + "'"), e.getMessage());
                }
            }
        }
        try {
            UNetConfig.fromJson(config);
        } catch (IllegalArgumentException e) {
            assertNamesFileInOneLine(e, file);
        }
    }

    private static void assertNamesFileInOneLine(RuntimeException e, Path file) {
        assertTrue(e.getMessage() != null && e.getMessage().contains(file.toString()) && e.getMessage().length() > file.toString().length() + 2,
                e.getClass().getSimpleName() + ": " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }
}
