package dev.i2vgen.model.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Typed reads of a component's {@code config.json} with the library defaults for absent (or null)
 * keys; a key of the wrong type is an error naming the config and the key, not a silent default.
 */
public final class JsonConfig {
    private final JsonNode node;
    private final String source;

    public JsonConfig(JsonNode node, String source) {
        if (node == null || !node.isObject()) throw new IllegalArgumentException(source + ": config must be a JSON object");
        this.node = node;
        this.source = source;
    }

    public static JsonConfig read(Path file) {
        try {
            return new JsonConfig(new ObjectMapper().readTree(Files.readString(file)), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read config " + file, e);
        }
    }

    public JsonNode node() { return node; }

    public String source() { return source; }

    /** The nested object {@code key} (e.g. "text_config" of a full CLIPConfig) if present, else this config. */
    public JsonConfig nestedOrSelf(String key) {
        JsonNode n = node.get(key);
        return n != null && n.isObject() ? new JsonConfig(n, source + "#" + key) : this;
    }

    private JsonNode present(String key) {
        JsonNode n = node.get(key);
        return n == null || n.isNull() ? null : n;
    }

    public int getInt(String key, int dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.canConvertToInt() || !n.isIntegralNumber()) throw wrongType(key, "an integer", n);
        return n.intValue();
    }

    /** Sizes, counts and divisors: zero or negative is an error here, before anything divides by it. */
    public int getPositiveInt(String key, int dflt) {
        int v = getInt(key, dflt);
        require(v > 0, key, "must be a positive integer, got " + v);
        return v;
    }

    public double getDouble(String key, double dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isNumber()) throw wrongType(key, "a number", n);
        return n.doubleValue();
    }

    /** Null when absent and {@code dflt} is null. */
    public Double getDoubleOrNull(String key, Double dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isNumber()) throw wrongType(key, "a number", n);
        return n.doubleValue();
    }

    public boolean getBoolean(String key, boolean dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw wrongType(key, "true or false", n);
        return n.booleanValue();
    }

    public String getString(String key, String dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt;
        if (!n.isTextual()) throw wrongType(key, "a string", n);
        return n.textValue();
    }

    public int[] getIntArray(String key, int[] dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt.clone();
        if (!n.isArray()) throw wrongType(key, "an array of integers", n);
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isIntegralNumber()) throw wrongType(key, "an array of integers", n);
            out[i] = n.get(i).intValue();
        }
        return out;
    }

    /** An array of sizes: every entry must be positive. */
    public int[] getPositiveIntArray(String key, int[] dflt) {
        int[] out = getIntArray(key, dflt);
        for (int i = 0; i < out.length; i++) require(out[i] > 0, key, "must hold positive integers, got [" + i + "] = " + out[i]);
        return out;
    }

    public String[] getStringArray(String key, String[] dflt) {
        JsonNode n = present(key);
        if (n == null) return dflt.clone();
        if (!n.isArray()) throw wrongType(key, "an array of strings", n);
        String[] out = new String[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isTextual()) throw wrongType(key, "an array of strings", n);
            out[i] = n.get(i).textValue();
        }
        return out;
    }

    /** Whether {@code key} is present and not null. */
    public boolean has(String key) { return present(key) != null; }

    /** Keys without a library default. */
    public void requireKey(String key) {
        require(has(key), key, "is required");
    }

    /** Throws {@link #invalid} unless {@code ok}: "FILE: 'key' message". */
    public void require(boolean ok, String key, String message) {
        if (!ok) throw invalid(key, message);
    }

    /** Runs a config record's constructor; a {@link ConfigProblem} it raises gets this config's file name. */
    public <T> T build(Supplier<T> constructor) {
        try {
            return constructor.get();
        } catch (ConfigProblem e) {
            throw invalid(e.key(), e.detail());
        }
    }

    /** An error naming this config and the offending key. */
    public IllegalArgumentException invalid(String key, String message) {
        return new IllegalArgumentException(source + ": '" + key + "' " + message);
    }

    private IllegalArgumentException wrongType(String key, String expected, JsonNode got) {
        return invalid(key, "must be " + expected + ", got " + got);
    }
}
