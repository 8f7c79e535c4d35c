package dev.i2vgen.io.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every typed read names the file and the key: "FILE: 'key' must be ..., got ...". */
class JsonConfigTest {
    private static JsonConfig json(String text) throws Exception {
        return new JsonConfig(new ObjectMapper().readTree(text), "x/config.json");
    }

    private static void rejected(String expected, org.junit.jupiter.api.function.Executable read) {
        var e = assertThrows(ConfigProblem.class, read);
        assertEquals(expected, e.getMessage());
    }

    @Test
    void wrongTypesAndRangesNameFileAndKey() throws Exception {
        rejected("x/config.json: 'in_channels' must be an integer, got 4.5", () -> json("{\"in_channels\": 4.5}").getPositiveInt("in_channels", 4));
        rejected("x/config.json: 'layers' must be an integer, got \"two\"", () -> json("{\"layers\": \"two\"}").getInt("layers", 2));
        rejected("x/config.json: 'groups' must be a positive integer, got 0", () -> json("{\"groups\": 0}").getPositiveInt("groups", 32));
        rejected("x/config.json: 'scale' must be a finite number, got Infinity", () -> json("{\"scale\": 1e999}").getDouble("scale", 1));
        rejected("x/config.json: 'scale' must be a positive number, got 0.0", () -> json("{\"scale\": 0}").getPositiveDouble("scale", 1));
        rejected("x/config.json: 'mean' must be an array of finite numbers, got [0,\"a\"]",
                () -> json("{\"mean\": [0, \"a\"]}").getDoubleArray("mean", new double[0]));
    }

    @Test
    void nestedKeysAreDotted() throws Exception {
        JsonConfig c = json("{\"crop_size\": {\"height\": 0}, \"text_config\": {\"heads\": -1}}");
        rejected("x/config.json: 'crop_size.height' must be a positive integer, got 0", () -> c.object("crop_size").getPositiveInt("height", 1));
        rejected("x/config.json: 'text_config.heads' must be a positive integer, got -1", () -> c.nestedOrSelf("text_config").getPositiveInt("heads", 1));
        rejected("x/config.json: 'size' must be an object, got nothing", () -> c.object("size"));
        // A record constructor's problem gets the file and the prefix.
        rejected("x/config.json: 'crop_size.width' is odd", () -> c.object("crop_size").build(() -> { throw new ConfigProblem("width", "is odd"); }));
    }

    @Test
    void readNamesTheFileAndWhereTheJsonBreaks(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("config.json"), "{\n  \"a\": 1,\n  \"a\": 2\n}");
        var dup = assertThrows(IllegalArgumentException.class, () -> JsonConfig.read(f));
        assertTrue(dup.getMessage().startsWith(f + ": is not valid JSON: Duplicate field 'a' (line 3"), dup.getMessage());

        // found by the fuzzer: Jackson quotes a duplicate key holding a line break; the message stays one line
        Files.writeString(f, "{\"att\\ntion\": 1, \"att\\ntion\": 2}");
        var quoted = assertThrows(IllegalArgumentException.class, () -> JsonConfig.read(f));
        assertTrue(quoted.getMessage().contains("Duplicate field 'att\\ntion'") && !quoted.getMessage().contains("\n"), quoted.getMessage());

        Files.write(f, new byte[]{'{', '"', 'a', '"', ':', '"', (byte) 0xFF, '"', '}'});
        var utf8 = assertThrows(IllegalArgumentException.class, () -> JsonConfig.read(f));
        assertTrue(utf8.getMessage().startsWith(f + ": is not valid JSON: Invalid UTF-8") && utf8.getMessage().contains("(line 1, column"),
                utf8.getMessage());

        var missing = assertThrows(java.io.UncheckedIOException.class, () -> JsonConfig.read(dir.resolve("none.json")));
        assertEquals(dir.resolve("none.json") + ": cannot read: no such file or folder", missing.getMessage());
    }
}
